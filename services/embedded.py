"""The embedded deployment: all four services in one process, SQLite each, tailing each other.

Commands travel through each service's own HTTP app (in process, via ASGI), so the demo
exercises the same routes, auth and handlers as the distributed deployment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import sqlalchemy as sa

from services.registry import SERVICES, spec
from shared.consumers import EmbeddedBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store import schema
from shared.store.eventstore import Clock, EventStore, utcnow

Operation = Callable[..., Awaitable[Any]]


class Embedded:
    def __init__(
        self, settings: Settings, data_dir: Path | None = None, clock: Clock = utcnow
    ) -> None:
        from services.embedded_processes import embedded_settings

        self.settings = embedded_settings(settings, data_dir)
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.runtimes = {
            name: ServiceRuntime(
                spec(name),
                self.settings,
                url=f"sqlite+aiosqlite:///{self.settings.data_dir / name}.db",
                clock=clock,
            )
            for name in SERVICES
        }
        self.bus = EmbeddedBus()
        stores = {name: rt.store for name, rt in self.runtimes.items()}
        for rt in self.runtimes.values():
            for consumer in rt.consumers:
                self.bus.connect(consumer, stores)
        self.clients = {
            name: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=rt.app), base_url=f"http://{name}"
            )
            for name, rt in self.runtimes.items()
        }

    async def __aenter__(self) -> Embedded:
        for rt in self.runtimes.values():
            await rt.migrate()
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self.clients.values():
            await client.aclose()
        for rt in self.runtimes.values():
            await rt.stop()

    async def drain(self) -> int:
        """Deliver every pending event to every consumer, until nothing moves."""
        return await self.bus.drain()

    async def control(self, service: str, op: str, **args: Any) -> Any:
        """Run one of :func:`operations` of ``service`` (as :class:`EmbeddedProcesses` runs
        it in the service's process)."""
        return await operations(self.runtimes[service])[op](**args)


def operations(runtime: ServiceRuntime) -> dict[str, Operation]:
    """What the embedded deployment's owner may do in a service beside its HTTP commands:
    count its log's events by type, and the notifications' sender and reminders (the demo
    sends to its own post office) or reporting's render workers started early (``warm``)
    and stopped (``close``, what a process running it does last)."""

    async def event_counts() -> dict[str, int]:
        return await _event_counts(runtime.store)

    found: dict[str, Operation] = {"event_counts": event_counts}
    if runtime.spec.name == "notifications":
        from services.notifications.config import NotifySettings
        from services.notifications.service import service_of

        service = service_of(runtime.ctx)

        async def use(**settings: Any) -> None:
            service.use(NotifySettings(**settings))

        async def remind_due() -> int:
            return len(await service.remind_due())

        found.update(use=use, remind_due=remind_due, send_due=service.send_due)
    if runtime.spec.name == "reporting":
        from services.reporting.adapters import rendering

        async def warm() -> None:
            rendering.warm()

        async def close() -> None:
            await asyncio.to_thread(rendering.shutdown)

        found.update(warm=warm, close=close)
    return found


async def _event_counts(store: EventStore) -> dict[str, int]:
    query = sa.select(schema.events.c.event_type, sa.func.count()).group_by(
        schema.events.c.event_type
    )
    async with store.engine.connect() as conn:
        return {str(t): int(n) for t, n in (await conn.execute(query)).all()}
