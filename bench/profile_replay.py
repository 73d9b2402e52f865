"""Where does ``uzdik replay`` spend its time? Runs its stages one by one, in process, with the
real functions of ``services.reporting.replay``, against topics and a reporting database left
by ``python -m bench.replay --keep``:

    .venv/bin/python -m bench.profile_replay --prefix bench20261127010203 \\
        --database uzdik_bench_20261127010203 [--cprofile fold.prof] [--no-swap]

Stages (since the audit trail is a table, sequential here where ``replay`` overlaps some):
the live digests (documents + ``audit_trail`` streamed by COPY TO); ``KafkaSource`` (fetch +
orjson); the fold (dedup + ``apply_in_memory`` per read model + the audit rows, their digest and
the hand-off of their COPY into the fresh table); the wait for the last COPY; ``state_rows``;
``digests_of`` the rebuilt rows; the swap (documents COPY, renames, commit).
Prints one line per stage (seconds, share, events/s) to stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench.common import ensure_services, num, peak_rss_mb, say, with_database
from bench.replay import SERVICES, reference
from services.registry import WRITERS
from shared.relay import topic_for


class Stages:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        say(f"{name}: {seconds:.2f} s")


class GcClock:
    """A ``gc.callbacks`` entry adding up the time spent in each generation's collections."""

    def __init__(self) -> None:
        self.seconds, self.runs, self._started = [0.0, 0.0, 0.0], [0, 0, 0], 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._started
            self.runs[info["generation"]] += 1


async def timed_fold(
    source: Any, stages: Stages, profile: cProfile.Profile | None, trail: Any = None
) -> Any:
    """``replay.fold`` with clocks: time waiting for batches vs. folding, per read model."""
    from services.reporting.projections import load_all, targets

    load_all()
    await source.total()
    state: dict[tuple[str, str], Any] = {}
    seen: set[str] = set()
    per_model: dict[str, float] = defaultdict(float)
    routing = 0.0
    clock: Callable[[], float] = time.perf_counter
    waited = folded = 0.0
    mark = clock()
    audit_s = 0.0
    async for batch in source.batches():
        start = clock()
        waited += start - mark
        if profile:
            profile.enable()
        fresh = []
        for event in batch:
            event_id = event["metadata"]["event_id"]
            if event_id in seen:
                continue
            seen.add(event_id)
            fresh.append(event)
            t0 = clock()
            found = targets(event)
            t1 = clock()
            routing += t1 - t0
            for t in found:  # apply_in_memory, one target at a time
                new = t.fold(state.get((t.model, t.key)), event)
                if new is None:
                    state.pop((t.model, t.key), None)
                else:
                    state[(t.model, t.key)] = new
                t2 = clock()
                per_model[t.model] += t2 - t1
                t1 = t2
        if trail is not None:
            t0 = clock()
            await trail.add(fresh)
            audit_s += clock() - t0
        if profile:
            profile.disable()
        mark = clock()
        folded += mark - start
    stages.add("read+decode (KafkaSource)", waited)
    say(f"  of which the audit trail's rows, lines, digest (and COPY hand-off): {audit_s:.2f} s")
    stages.add("fold (dedup + apply_in_memory)", folded)
    say(f"  of which routing (targets()): {routing:.2f} s")
    for model, seconds in sorted(per_model.items(), key=lambda kv: -kv[1]):
        say(f"  fold {model:<15} {seconds:6.2f} s")
    return state


async def sample_values(bootstrap: str, topics: list[str], limit: int) -> list[bytes]:
    """The first ``limit`` record values of the topics (for the decode comparison)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topics[-1], p) for p in range(3)])
        values: list[bytes] = []
        while len(values) < limit:
            got = await consumer.getmany(timeout_ms=1000, max_records=20000)
            values += [r.value for records in got.values() for r in records]
        return values[:limit]
    finally:
        await consumer.stop()


def clocked(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


async def alternatives(rows: list[tuple[str, str, str]], url: str, values: list[bytes]) -> None:
    """What other implementations of the same stages would cost, on the same data."""
    import hashlib
    import json

    import asyncpg

    from bench.common import asyncpg_dsn

    n = len(values)
    _, std = clocked(lambda: [json.loads(v) for v in values])
    say(f"alt decode: json.loads {n / std:,.0f} ev/s")
    try:
        import orjson

        _, fast = clocked(lambda: [orjson.loads(v) for v in values])
        say(f"alt decode: orjson.loads {n / fast:,.0f} ev/s ({std / fast:.1f}x)")
        docs = [orjson.loads(r[2]) for r in rows]
        same, seconds = clocked(
            lambda: sum(
                orjson.dumps(d, option=orjson.OPT_SORT_KEYS).decode() == r[2]
                for d, r in zip(docs, rows, strict=True)
            )
        )
        say(
            f"alt state_rows: orjson.dumps(OPT_SORT_KEYS) {seconds:.2f} s incl. comparison; "
            f"byte-identical to canonical_json for {same:,} of {len(rows):,} docs"
        )
        encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        _, seconds = clocked(lambda: [encoder.encode(d) for d in docs])
        say(f"alt state_rows: one reused JSONEncoder {seconds:.2f} s")
    except ImportError:
        say("alt: orjson is not installed; skipped")

    def digests() -> dict[str, str]:
        by_model: dict[str, Any] = {}
        for model, key, doc in sorted(rows, key=lambda r: (r[0], r[1])):
            h = by_model.get(model) or by_model.setdefault(model, hashlib.sha256())
            h.update(f"{key}\x00{doc}\n".encode())
        return {m: h.hexdigest() for m, h in by_model.items()}

    expected, seconds = clocked(digests)
    say(f"alt digest: sha256 over key NUL doc LF, sorted on (model, key): {seconds:.2f} s")
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("CREATE TABLE documents_alt (LIKE documents INCLUDING ALL)")
        t = time.perf_counter()
        await conn.copy_records_to_table(
            "documents_alt", records=rows, columns=("model", "key", "doc")
        )
        say(f"alt swap: COPY of {len(rows):,} rows {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        found = await conn.fetch(
            "SELECT model, encode(sha256(string_agg("
            "convert_to(key, 'UTF8') || '\\x00'::bytea || convert_to(doc, 'UTF8')"
            " || '\\x0a'::bytea, ''::bytea ORDER BY key COLLATE \"C\")), 'hex') AS digest"
            " FROM documents_alt GROUP BY model"
        )
        say(
            f"alt live digest in PostgreSQL (same bytes as above, no transfer): "
            f"{time.perf_counter() - t:.2f} s, equal={dict(found) == expected}"
        )
    finally:
        await conn.execute("DROP TABLE IF EXISTS documents_alt")
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    from services.reporting import replay as r
    from services.reporting.adapters.kafka_source import KafkaSource
    from shared.store.eventstore import open_store

    found = ensure_services()
    topics = [topic_for(s, args.prefix) for s in WRITERS]
    assert set(WRITERS) == set(SERVICES)
    stages = Stages()
    events, seconds = await reference(found.bootstrap, topics, decode=False)
    say(f"raw fetch: {num(events)} events in {seconds:.2f} s = {num(events / seconds)} ev/s")
    events, seconds = await reference(found.bootstrap, topics)
    say(f"reference: {num(events)} events in {seconds:.2f} s = {num(events / seconds)} ev/s")
    profile = cProfile.Profile() if args.cprofile else None
    if args.gc == "off":
        gc.disable()
    elif args.gc == "threshold":
        gc.set_threshold(100_000, 50, 1000)
    say(f"garbage collector: {args.gc} {gc.get_threshold()} enabled={gc.isenabled()}")
    in_gc = GcClock()
    gc.callbacks.append(in_gc)
    started = time.perf_counter()
    store = open_store("reporting", with_database(found.database_url, args.database))
    t = time.perf_counter()
    live = await r.live_digests(store)
    stages.add("live digests (documents SELECT + audit_trail COPY TO)", time.perf_counter() - t)
    rebuild = r.Rebuild(store, write=not args.no_swap)
    async with rebuild:
        state = await timed_fold(
            KafkaSource(found.bootstrap, topics), stages, profile, rebuild.trail
        )
        t = time.perf_counter()
        await rebuild.drain()
        stages.add("audit COPY: wait for the last batch", time.perf_counter() - t)
        t = time.perf_counter()
        rows = r.state_rows(state)
        stages.add("state_rows (canonical_json_fast)", time.perf_counter() - t)
        del state
        t = time.perf_counter()
        rebuilt = r.digests_of(rows)
        rebuilt["audit"] = rebuild.trail.digest.hexdigest()
        stages.add("digests_of(rebuilt)", time.perf_counter() - t)
        same = rebuilt == live
        if args.alternatives:
            values = await sample_values(found.bootstrap, topics, 200_000)
            await alternatives(rows, with_database(found.database_url, args.database), values)
        if not args.no_swap:
            t = time.perf_counter()
            await rebuild.swap(rows)
            stages.add("swap (documents COPY + renames + commit)", time.perf_counter() - t)
    await store.close()
    total = time.perf_counter() - started
    print(
        f"events={events} identical={str(same).lower()} total_s={total:.1f} gc={args.gc} "
        f"collections={[g['collections'] for g in gc.get_stats()]} "
        f"peak_rss_mib={peak_rss_mb():.0f} load={os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'of which in the garbage collector':<34} {sum(in_gc.seconds):7.2f} s "
        f"{100 * sum(in_gc.seconds) / total:5.1f} %  (gen 0/1/2: "
        f"{', '.join(f'{x:.1f}' for x in in_gc.seconds)} s; {in_gc.runs} runs)"
    )
    for name, s in stages.seconds.items():
        print(f"{name:<34} {s:7.2f} s {100 * s / total:5.1f} %  {num(events / s):>10} ev/s")
    if profile:
        profile.dump_stats(args.cprofile)
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_replay")
    parser.add_argument("--prefix", required=True, help="topic prefix of a kept bench.replay run")
    parser.add_argument("--database", required=True, help="its reporting database's name")
    parser.add_argument("--cprofile", help="also cProfile the fold into this file")
    parser.add_argument("--no-swap", action="store_true", help="skip swap_in")
    parser.add_argument(
        "--alternatives", action="store_true", help="also time other implementations"
    )
    parser.add_argument(
        "--gc",
        choices=("default", "off", "threshold"),
        default="default",
        help="the cyclic garbage collector during the replay stages: as is, disabled, or "
        "gen0 threshold 100,000",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
