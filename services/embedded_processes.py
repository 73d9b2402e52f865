"""The embedded deployment in several processes: every core at work on one edition.

:class:`services.embedded.Embedded` runs the five services on one event loop, so an edition
uses one core. Here each service runs in a process of its own (``python -m
services.embedded_processes``, started by :class:`EmbeddedProcesses`): its SQLite file with
its one writer, its own HTTP app served by uvicorn on a loopback port, its consumers tailing
the other services' SQLite files (WAL lets another process read each commit, never half of
one). The parent reaches the services through real HTTP, moves the business clock they all
read (:class:`ClockFile`), and asks them to drain their consumers until nothing moves
anywhere. The stores, events and commands are the embedded ones; only the processes differ.

A service process also answers a few operations of its own, under ``/__embedded/`` and only
with the parent's key (a random value it hands each process): ``drain``, ``event_counts``,
and what :func:`services.embedded.operations` lists for that service (the notifications'
sender, reporting's render workers).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import mmap
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from services.registry import SERVICES
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.consumers import EmbeddedBus

PREFIX = "/__embedded/"
KEY_HEADER = "x-uzdik-embedded-key"
START_SECONDS = 120.0
STOP_SECONDS = 20.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ClockFile:
    """Business time shared between processes: twelve bytes of a file mapped into memory
    (microseconds since the epoch and the UTC offset in seconds), written by one process
    (:meth:`set`), read by the others (:meth:`now`) at every call."""

    _LAYOUT = struct.Struct("<qi")

    def __init__(self, path: Path, create: bool = False) -> None:
        if create:
            path.write_bytes(bytes(self._LAYOUT.size))
        self.path = path
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), self._LAYOUT.size)

    def set(self, at: datetime) -> None:
        offset = at.utcoffset()
        if offset is None:
            raise ValueError(f"business time must name its UTC offset: {at.isoformat()}")
        micros = (at - _EPOCH) // timedelta(microseconds=1)
        self._LAYOUT.pack_into(self._map, 0, micros, int(offset.total_seconds()))

    def now(self) -> datetime:
        micros, offset = self._LAYOUT.unpack_from(self._map, 0)
        at = _EPOCH + timedelta(microseconds=micros)
        return at.astimezone(timezone(timedelta(seconds=offset)) if offset else UTC)

    def close(self) -> None:
        self._map.close()
        self._file.close()


def embedded_settings(settings: Settings, data_dir: Path | None) -> Settings:
    """Embedded means SQLite and tailing each other, whatever the environment names (a
    service that asked the settings whether it runs distributed would wait for Kafka)."""
    return settings.model_copy(
        update={
            "data_dir": data_dir or settings.data_dir,
            "database_url": None,
            "kafka_bootstrap_servers": None,
        }
    )


def sqlite_url(data_dir: Path, service: str) -> str:
    return f"sqlite+aiosqlite:///{data_dir / service}.db"


class ServiceProcessFailed(RuntimeError):
    """A service's process did not start, ended, or refused one of the parent's operations."""


class EmbeddedProcesses:
    """The five services, a process each, on this machine's loopback; ``clients`` by name
    as :class:`services.embedded.Embedded` has them."""

    def __init__(
        self, settings: Settings, data_dir: Path | None = None, clock: ClockFile | None = None
    ) -> None:
        self.settings = embedded_settings(settings, data_dir)
        self.data_dir = self.settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self.clients: dict[str, httpx.AsyncClient] = {}
        self._key = secrets.token_urlsafe(24)
        self._children: dict[str, asyncio.subprocess.Process] = {}
        self._pumps: list[asyncio.Task[None]] = []

    def _config(self, service: str) -> str:
        return json.dumps(
            {
                "service": service,
                "settings": self.settings.model_dump(mode="json"),
                "clock": str(self.clock.path) if self.clock else None,
                "key": self._key,
                "log_level": os.environ.get("UZDIK_EMBEDDED_LOG_LEVEL", "WARNING"),
            }
        )

    async def __aenter__(self) -> EmbeddedProcesses:
        try:
            ports = await asyncio.gather(*(self._start(name) for name in SERVICES))
        except BaseException:
            await self._stop()
            raise
        for name, port in zip(SERVICES, ports, strict=True):
            self.clients[name] = httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=httpx.Timeout(300.0, connect=30.0),
                transport=_Shards(),
            )
        # every store exists now: the consumers may follow them
        await asyncio.gather(*(self.control(name, "follow") for name in SERVICES))
        return self

    async def _start(self, name: str) -> int:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.embedded_processes",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "UZDIK_EMBEDDED_SERVICE": name},
        )
        self._children[name] = child
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(self._config(name).encode() + b"\n")
        await child.stdin.drain()  # the pipe stays open: the process ends when it closes
        try:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=START_SECONDS)
        except TimeoutError:
            raise ServiceProcessFailed(
                f"the {name} service's process did not start within {START_SECONDS:.0f} s"
            ) from None
        if not line:
            code = await child.wait()
            raise ServiceProcessFailed(
                f"the {name} service's process ended before it served (exit code {code}; "
                "its error is above)"
            )
        self._pumps.append(asyncio.create_task(_forward(child.stdout)))
        return int(json.loads(line)["port"])

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stop()

    async def _stop(self) -> None:
        """Each process is told to end by its standard input closing (so it also ends when
        this process dies), then given :data:`STOP_SECONDS`, then terminated, then killed."""
        for client in self.clients.values():
            await client.aclose()
        for child in self._children.values():
            if child.stdin is not None:
                child.stdin.close()
        for name, child in self._children.items():
            for send in (None, signal.SIGTERM, signal.SIGKILL):
                if send is not None and child.returncode is None:
                    with suppress(ProcessLookupError):
                        child.send_signal(send)
                try:
                    await asyncio.wait_for(child.wait(), timeout=STOP_SECONDS)
                    break
                except TimeoutError:
                    continue
            if child.returncode != 0:
                print(
                    f"uzdik: the {name} service's process ended with code {child.returncode}",
                    file=sys.stderr,
                )
        for pump in self._pumps:
            pump.cancel()
        if self.clock is not None:
            self.clock.close()

    async def control(self, service: str, op: str, **args: Any) -> Any:
        """Run the operation ``op`` in ``service``'s process; its JSON result."""
        child = self._children[service]
        try:
            r = await self.clients[service].post(
                PREFIX + op, json=args, headers={KEY_HEADER: self._key}
            )
        except httpx.TransportError as exc:
            state = (
                f"ended with code {child.returncode}"
                if child.returncode is not None
                else "did not answer"
            )
            raise ServiceProcessFailed(
                f"the {service} service's process {state} ({op}): {exc}"
            ) from exc
        if r.status_code != 200:
            raise ServiceProcessFailed(f"the {service} service refused {op}: {r.text[:500]}")
        return r.json()["result"]

    async def drain(self) -> int:
        """Every service drains its consumers at once, again until a round where nothing
        moved anywhere (a consumer's effect may be what another one follows)."""
        total = 0
        while True:
            moved = [
                int(n) for n in await asyncio.gather(*(self.control(s, "drain") for s in SERVICES))
            ]
            total += sum(moved)
            if not any(moved):
                return total


class _Shards(httpx.AsyncBaseTransport):
    """Requests spread in turn over several small connection pools. httpcore looks at every
    idle connection of its pool at each request and each response (has the server closed
    it?), so one pool of 32 connections costs 64 such looks a request where 8 pools of 4
    cost at most 8: with one pool, the client's process was the slowest of the demo."""

    def __init__(self, shards: int = 8, connections: int = 4) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(shards)]
        self._turn = itertools.cycle(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turn).handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


async def _forward(stream: asyncio.StreamReader) -> None:
    """What a service's process prints after its address goes to our standard error."""
    async for line in stream:
        sys.stderr.write(line.decode("utf-8", errors="replace"))


class Consuming:
    """A service process's consumers: they follow the other stores all the time (as Kafka's
    subscribers would), and the parent's ``drain`` runs them until nothing is left. What a
    ``drain`` answers is everything they moved since the previous one, in the background
    too: a round of drains where every process answers 0 is one where nothing moved
    anywhere since the round before (the parent's test that the deployment has settled)."""

    def __init__(self, bus: EmbeddedBus, poll_seconds: float = 1.0) -> None:
        self.bus, self.poll_seconds = bus, poll_seconds
        self._lock = asyncio.Lock()
        self._moved = self._told = 0
        self._following: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Follow from now on (the parent says when: once every store exists)."""
        if self._following is None:
            self._following = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._following is not None:
            self._following.cancel()
            with suppress(asyncio.CancelledError):
                await self._following

    async def _drain(self) -> int:
        async with self._lock:
            moved = await self.bus.drain()
        self._moved += moved
        return moved

    async def drain(self) -> int:
        await self._drain()
        since, self._told = self._moved - self._told, self._moved
        return since

    async def _follow(self) -> None:
        from shared.logging import get_logger

        log = get_logger("embedded")
        while True:
            try:
                moved = await self._drain()
            except Exception as exc:  # retried next poll; a drain asked for names it
                log.error("embedded.consume_failed", error=str(exc))
                moved = 0
            if moved == 0:
                await asyncio.sleep(self.poll_seconds)


class _Controlled:
    """The service's app, with the parent's operations under :data:`PREFIX`."""

    def __init__(self, app: Any, key: str, ops: dict[str, Callable[..., Awaitable[Any]]]) -> None:
        self.app, self.key, self.ops = app, key.encode(), ops

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        op = self.ops.get(scope["path"][len(PREFIX) :])
        if op is None or not secrets.compare_digest(
            headers.get(KEY_HEADER.encode(), b""), self.key
        ):
            await _answer(send, 404, {"error": "not found"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            result = await op(**json.loads(body or b"{}"))
        except Exception as exc:
            from shared.logging import get_logger

            get_logger("embedded").exception("embedded.operation_failed", path=scope["path"])
            await _answer(send, 500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        await _answer(send, 200, {"result": result})


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, default=str).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def serve_one(config: dict[str, Any]) -> None:
    """A service's process: migrate its store, serve its app, follow the others' stores."""
    import uvicorn

    from services.embedded import operations
    from services.registry import spec
    from shared.consumers import EmbeddedBus
    from shared.runtime import ServiceRuntime
    from shared.serving import CoalescingHttp
    from shared.store.eventstore import open_store

    name = config["service"]
    settings = Settings(**config["settings"])
    data_dir = Path(settings.data_dir)
    clock = ClockFile(Path(config["clock"])) if config.get("clock") else None
    runtime = (
        ServiceRuntime(spec(name), settings, url=sqlite_url(data_dir, name), clock=clock.now)
        if clock
        else ServiceRuntime(spec(name), settings, url=sqlite_url(data_dir, name))
    )
    await runtime.migrate()
    sources = sorted({s for c in runtime.consumers for s in c.sources} - {name})
    stores = {name: runtime.store, **{s: open_store(s, sqlite_url(data_dir, s)) for s in sources}}
    bus = EmbeddedBus()
    for consumer in runtime.consumers:
        bus.connect(consumer, stores)
    consuming = Consuming(bus)
    own = operations(runtime)
    ops = {"drain": consuming.drain, "follow": consuming.start, **own}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            _Controlled(runtime.app, config["key"], ops),
            lifespan="off",
            access_log=False,
            log_level=str(config.get("log_level", "WARNING")).lower(),
            http=CoalescingHttp,
            timeout_keep_alive=600,
        )
    )
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    # the parent closes our standard input to stop us (or it died): uvicorn then ends as on
    # a signal, but returns (on a signal it would re-raise it, and nothing after would run)
    loop = asyncio.get_running_loop()

    def watch() -> None:  # a daemon thread: the process may end while it still waits
        sys.stdin.buffer.read()
        with suppress(RuntimeError):  # the loop closed already: the process is ending
            loop.call_soon_threadsafe(setattr, server, "should_exit", True)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    try:
        while not server.started:
            if serving.done():
                await serving  # its error, if it failed to start
                raise ServiceProcessFailed(f"the {name} service stopped before serving")
            await asyncio.sleep(0.01)
        print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
        await serving
    finally:
        await consuming.stop()
        if "close" in own:
            await own["close"]()
        await runtime.stop()
        for source in sources:
            await stores[source].close()
        if clock is not None:
            clock.close()


def main() -> None:
    from services.cli.common import run_fast
    from shared.logging import configure_logging

    config = json.loads(sys.stdin.readline())
    configure_logging(json=False, level=str(config.get("log_level", "WARNING")))
    try:
        run_fast(serve_one(config))
    except Exception as exc:  # one sentence for the person; the traceback when debugging
        if os.environ.get("UZDIK_DEBUG", "") not in ("", "0"):
            traceback.print_exc()
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        print(
            f"uzdik: the {config.get('service')} service's process failed: "
            f"{type(exc).__name__}: {first}",
            file=sys.stderr,
            flush=True,
        )
        os._exit(1)
    # its stores are closed and its workers stopped: nothing is left for the interpreter's
    # teardown to do but unload the modules, which costs each process most of a second
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
