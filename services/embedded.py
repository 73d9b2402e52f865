"""The embedded deployment: all four services in one process, SQLite each, tailing each other.

Commands travel through each service's own HTTP app (in process, via ASGI), so the demo
exercises the same routes, auth and handlers as the distributed deployment.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import httpx

from services.registry import SERVICES, spec
from shared.consumers import EmbeddedBus
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store.eventstore import Clock, utcnow


class Embedded:
    def __init__(
        self, settings: Settings, data_dir: Path | None = None, clock: Clock = utcnow
    ) -> None:
        # embedded means SQLite and the in-process bus, whatever the environment names
        # (a service that asked the settings whether it runs distributed would wait for Kafka)
        self.settings = settings.model_copy(
            update={
                "data_dir": data_dir or settings.data_dir,
                "database_url": None,
                "kafka_bootstrap_servers": None,
            }
        )
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
