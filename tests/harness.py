"""Run the four services distributed, in this process: each its own PostgreSQL database, real
Kafka topics (a prefix per test), relay and FastStream consumers — the production adapters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

from services.registry import SERVICES, spec
from shared.runtime import ServiceRuntime
from shared.settings import Settings

MakeUrl = Callable[[], Awaitable[str]]


class Distributed:
    def __init__(self, make_url: MakeUrl, bootstrap: str, prefix: str) -> None:
        self.make_url, self.bootstrap, self.prefix = make_url, bootstrap, prefix
        self.settings = Settings(
            kafka_bootstrap_servers=bootstrap, topic_prefix=prefix, relay_idle_seconds=0.02
        )
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.clients: dict[str, httpx.AsyncClient] = {}

    async def __aenter__(self) -> Distributed:
        for name in SERVICES:
            rt = ServiceRuntime(spec(name), self.settings, url=await self.make_url())
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

    t = schema.applied_events.c
    async with rt.store.engine.connect() as conn:
        value: Any = await conn.scalar(sa.select(sa.func.count()).where(t.consumer == consumer))
        return int(value or 0)
