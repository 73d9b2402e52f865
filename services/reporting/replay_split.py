"""A replay on both cores: a helper process folds a share of the largest topic's partitions.

Reading a record from Kafka and decoding it is most of a replay, and one Python process uses
one core. So the replay hands whole partitions of the largest topic (the survey's: ~97 % of an
edition) to a helper process (``python -c``, importing only the replay), which reads them,
folds them with the same projections and sends back, on its stdout, the audit trail's COPY
lines as it goes (the parent streams them into the same fresh table, in its transaction) and
at the end its documents and its share of the audit digest. The parent folds the other
partitions meanwhile.

Partitions are split only within one topic: every event of a stream is on one partition (the
key is the stream id), and the documents a topic's events fold into are keyed by those
streams. The merge checks it: a document folded on both sides means the split was not
clean, and the replay is done again in one process (``Overlap``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pickle
import queue
import struct
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from services.reporting.adapters.kafka_source import KafkaSource, Span

# Frames on the helper's stdout: one type byte, a 4-byte length, the bytes.
LINES, PROGRESS, RESULT = b"L", b"P", b"R"
_HEADER = struct.Struct(">cI")
# Below this many events one process is as fast as two (a helper starts in about a second);
# UZDIK_REPLAY_SPLIT_MIN overrides it (0: always split, as the tests do).
MIN_EVENTS = 200_000


class Overlap(Exception):
    """A document was folded by both processes: their states cannot simply be united."""


def helper_share(spans: list[Span]) -> list[Span]:
    """The partitions of the largest topic whose events come nearest to half of all."""
    total = sum(end - first for _, _, first, end in spans)
    by_topic: dict[str, list[Span]] = {}
    for span in spans:
        by_topic.setdefault(span[0], []).append(span)
    largest = max(by_topic.values(), key=lambda s: sum(e - f for _, _, f, e in s), default=[])
    least = int(os.environ.get("UZDIK_REPLAY_SPLIT_MIN", MIN_EVENTS))
    if total < least or total == 0 or len(largest) < 2:
        return []
    ordered = sorted(largest, key=lambda s: s[3] - s[2], reverse=True)
    share: list[Span] = []
    best, taken = total, 0
    for span in ordered[:-1]:  # the parent keeps at least one partition of the topic
        with_it = taken + span[3] - span[2]
        if abs(total - 2 * with_it) >= best:
            break
        share.append(span)
        taken, best = with_it, abs(total - 2 * with_it)
    return share


class Helper:
    """The helper process, seen from the parent."""

    def __init__(self, bootstrap: str, spans: list[Span], upcast: bool) -> None:
        self.spec = {"bootstrap": bootstrap, "spans": spans, "upcast": upcast}
        self.proc: asyncio.subprocess.Process | None = None
        self.done = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from services.reporting.replay_split import main; main()",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(self.spec).encode() + b"\n")
        await self.proc.stdin.drain()
        self.proc.stdin.close()

    async def run(self, lines: Callable[[bytes], Awaitable[None]]) -> Any:
        """Hand its COPY lines to ``lines`` as they come; return its result."""
        assert self.proc is not None and self.proc.stdout is not None
        out = self.proc.stdout
        while True:
            try:
                kind, size = _HEADER.unpack(await out.readexactly(_HEADER.size))
                data = await out.readexactly(size)
            except asyncio.IncompleteReadError:
                code = await self.proc.wait()
                raise RuntimeError(
                    f"the replay's helper process stopped before its result (exit {code})"
                ) from None
            if kind == LINES:
                await lines(data)
            elif kind == PROGRESS:
                self.done = int(data)
            else:
                await self.proc.wait()
                return pickle.loads(data)

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                self.proc.kill()
            except ProcessLookupError:
                pass
            await self.proc.wait()


class _Out:
    """The helper's stdout, written by a thread of its own: a full pipe (the parent busy
    folding) blocks that thread, never the helper's fold and its Kafka fetches."""

    def __init__(self) -> None:
        self.frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        with contextlib.suppress(OSError):  # Linux: a 1 MiB pipe rather than 64 KiB
            fcntl.fcntl(sys.stdout.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def send(self, kind: bytes, data: bytes) -> None:
        self.frames.put(_HEADER.pack(kind, len(data)) + data)

    def close(self) -> None:
        self.frames.put(None)
        self.thread.join()

    def _write(self) -> None:
        out = sys.stdout.buffer
        while (frame := self.frames.get()) is not None:
            out.write(frame)
            out.flush()


async def _serve(spec: dict[str, Any]) -> None:
    from services.reporting.replay import AuditTrail, fold, gc_paused

    readers = None
    if spec["upcast"]:
        from services.registry import readers as registry_readers

        readers = registry_readers()
    spans: list[Span] = [(str(t), int(p), int(f), int(e)) for t, p, f, e in spec["spans"]]
    source = KafkaSource(spec["bootstrap"], [], spans=spans)

    out = _Out()

    async def write(data: bytes) -> None:
        out.send(LINES, data)

    def progress(done: int, total: int, rate: float) -> None:
        out.send(PROGRESS, str(done).encode())

    trail = AuditTrail(write=write)
    try:
        with gc_paused():
            state, events, dups = await fold(source, progress, trail, readers)
        result = (state, events, dups, trail.digest.count, trail.digest.total)
        out.send(RESULT, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        out.close()


def main() -> None:
    """The helper: its share on stdin (JSON), frames on stdout."""
    asyncio.run(_serve(json.loads(sys.stdin.readline())))
