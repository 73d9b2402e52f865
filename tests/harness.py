"""Run the five services distributed, in this process: each its own PostgreSQL database, real
Kafka topics (a prefix per test), relay and FastStream consumers — the production adapters."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from services.registry import SERVICES, spec
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store.eventstore import Clock, utcnow

MakeUrl = Callable[[], Awaitable[str]]


class Distributed:
    def __init__(
        self,
        make_url: MakeUrl,
        bootstrap: str,
        prefix: str,
        clock: Clock = utcnow,
        **settings: Any,
    ) -> None:
        self.make_url, self.bootstrap, self.prefix, self.clock = make_url, bootstrap, prefix, clock
        self.blobs = tempfile.TemporaryDirectory(prefix="uzdik-blobs-")
        self.settings = Settings(
            kafka_bootstrap_servers=bootstrap,
            topic_prefix=prefix,
            relay_idle_seconds=0.02,
            blob_dir=Path(self.blobs.name),
            **settings,
        )
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.clients: dict[str, httpx.AsyncClient] = {}

    async def __aenter__(self) -> Distributed:
        for name in SERVICES:
            rt = ServiceRuntime(
                spec(name), self.settings, url=await self.make_url(), clock=self.clock
            )
            await rt.start_distributed()
            self.runtimes[name] = rt
            self.clients[name] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=rt.app), base_url=f"http://{name}"
            )
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self.clients.values():
            await client.aclose()
        for rt in self.runtimes.values():
            await rt.stop()
        self.blobs.cleanup()

    def url(self, service: str) -> str:
        return self.runtimes[service].store.url

    async def settled(self, timeout: float = 90.0) -> None:
        """Wait until every relay has published everything and reporting applied it all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self._quiet():
                await asyncio.sleep(0.5)
                if await self._quiet():
                    return
            await asyncio.sleep(0.2)
        raise AssertionError("the distributed system did not settle in time")

    async def quiescent(self, timeout: float = 120.0, still: int = 4) -> None:
        """Wait until nothing moves: every relay published everything and no store grew for
        ``still`` polls in a row (each consumer reacts within that time, or it would show)."""
        deadline, calm, last = time.monotonic() + timeout, 0, None
        while time.monotonic() < deadline:
            heads = [await rt.store.head() for rt in self.runtimes.values()]
            backlog = [await rt.relay.backlog() for rt in self.runtimes.values()]
            calm = calm + 1 if heads == last and not any(backlog) else 0
            if calm >= still and await self._quiet():
                return
            last = heads
            await asyncio.sleep(0.4)
        raise AssertionError("the distributed system did not become quiescent in time")

    async def _quiet(self) -> bool:
        for rt in self.runtimes.values():
            if await rt.relay.backlog() > 0:
                return False
        expected = 0
        for name in ("nominations", "scoring", "survey"):
            expected += await self.runtimes[name].store.head()
        return await applied_count(self.runtimes["reporting"], "reporting") >= expected


async def applied_count(rt: ServiceRuntime, consumer: str) -> int:
    import sqlalchemy as sa

    from shared.store import schema
    from shared.store.tracking import Applied

    t = schema.checkpoints.c
    async with rt.store.reader() as uow:
        rows = await uow.conn.execute(
            sa.select(t.position, t.applied_above).where(t.consumer == consumer)
        )
        seen = [Applied.stored(r.position, r.applied_above) for r in rows]
    return sum(a.through + sum(last - first + 1 for first, last in a.above) for a in seen)
