"""Wiring a service from settings: its store, HTTP app, consumers, relay — in either transport.

Each service describes itself with a :class:`ServiceSpec`; :class:`ServiceRuntime` builds it.
Distributed: PostgreSQL + Kafka (relay publishes, FastStream subscribers consume).
Embedded: SQLite, and an :class:`~shared.consumers.EmbeddedBus` tails the other services' stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI

from shared.auth import TokenVerifier
from shared.consumers import Consumer
from shared.edge import FastRoute
from shared.events import EventRegistry, Readers
from shared.migrations import current_revision, head_revision, upgrade
from shared.settings import Settings
from shared.store.eventstore import Clock, EventStore, open_store, utcnow


@dataclass
class ServiceContext:
    """What a service's entrypoints and handlers are built from."""

    name: str
    settings: Settings
    store: EventStore
    registry: EventRegistry
    clock: Clock = utcnow
    extras: dict[str, Any] = field(default_factory=dict)
    # the registries of the services whose events it reads (ServiceSpec.reads)
    reads: Readers = field(default_factory=dict)

    def now(self) -> datetime:
        """Business time: the wall clock, or a scenario's simulated clock (demo, tests)."""
        return self.clock()


def run_beside_store(
    ctx: ServiceContext, start: Callable[[], None], stop: Callable[[], Awaitable[None]]
) -> None:
    """Tie a service's own background work (the survey's closer, the notifications' sender)
    to its store: started now when the service runs inside an event loop on PostgreSQL
    (``uzdik serve``, the distributed test harness), stopped before the store closes. The
    kernel has no start/stop hook for a service's own tasks yet; this is the one stand-in."""
    store = ctx.store
    close_store: Callable[[], Awaitable[None]] = store.close

    async def close() -> None:
        await stop()
        await close_store()

    setattr(store, "close", close)  # noqa: B010 - see the docstring
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if store.shared:  # a server: a process of its own (uzdik serve, the harness)
        start()


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    registry: EventRegistry
    routers: Callable[[ServiceContext], list[APIRouter]]
    consumers: Callable[[ServiceContext], list[Consumer]] = lambda _: []
    setup: Callable[[ServiceContext], None] = lambda _: None
    fast_routes: Callable[[ServiceContext], list[FastRoute]] = lambda _: []
    topic: str | None = None  # the relay's topic suffix; default "<service>.events"
    compress: bool = False  # the relay gzips its topic's batches (large records: KafkaPublisher)
    # the registries of the services whose events this one reads (services.registry wires
    # them: a service imports no other); its consumers see old events upcast through them
    reads: Readers = field(default_factory=dict)


class ServiceRuntime:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: Settings,
        url: str | None = None,
        clock: Clock = utcnow,
    ) -> None:
        from shared.http import create_app

        self.spec = spec
        self.settings = settings
        store = open_store(spec.name, url or settings.database_url_for(spec.name))
        self.ctx = ServiceContext(
            spec.name, settings, store, spec.registry, clock=clock, reads=spec.reads
        )
        spec.setup(self.ctx)
        self.consumers = spec.consumers(self.ctx)
        for consumer in self.consumers:
            consumer.readers = spec.reads
        self.broker: Any = None
        self.verifier = TokenVerifier(settings)
        self.app: FastAPI = create_app(
            spec.name,
            self.verifier,
            spec.routers(self.ctx),
            ready_checks=[self.database_ready, self.broker_ready],
            fast_routes=spec.fast_routes(self.ctx),
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()

    @property
    def store(self) -> EventStore:
        return self.ctx.store

    async def migrate(self) -> None:
        await upgrade(self.store.engine)

    async def database_ready(self) -> None:
        revision = await current_revision(self.store.engine)
        if revision != head_revision():
            raise RuntimeError(f"database at migration {revision}, code needs {head_revision()}")

    async def broker_ready(self) -> None:
        if self.broker is not None and not await self.broker.ping(timeout=5.0):
            raise RuntimeError("Kafka broker not reachable")

    async def start_distributed(self, relay: bool = True, consume: bool = True) -> None:
        """Connect to Kafka, start the relay and the subscribers (after migrating)."""
        from shared.follow import feed
        from shared.kafka import KafkaPublisher, ensure_topics, make_broker, subscribe
        from shared.relay import Relay, topic_for

        bootstrap = self.settings.kafka_bootstrap_servers
        if not bootstrap:
            raise RuntimeError("KAFKA_BOOTSTRAP_SERVERS is not set")
        await self.migrate()
        prefix = self.settings.topic_prefix
        own = (
            f"{prefix}.{self.spec.topic}" if self.spec.topic else topic_for(self.spec.name, prefix)
        )
        await ensure_topics(
            bootstrap,
            [
                own,
                *(topic_for(s, prefix) for c in self.consumers for s in c.sources),
            ],
        )
        self.broker = make_broker(bootstrap, client_id=f"uzdik-{self.spec.name}")
        if consume:
            for consumer in self.consumers:
                if self.settings.kafka_consumer == "faststream":
                    subscribe(self.broker, consumer, prefix)
                else:
                    self._tasks.append(
                        asyncio.create_task(feed(consumer, bootstrap, prefix, self._stop))
                    )
        await self.broker.start()
        if relay:
            self.publisher = KafkaPublisher(
                bootstrap, client_id=f"uzdik-{self.spec.name}-relay", compress=self.spec.compress
            )
            self.relay = Relay(
                self.store,
                self.publisher,
                topic=own,
                batch_size=self.settings.relay_batch_size,
                idle_seconds=self.settings.relay_idle_seconds,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(self._stop)))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=10)
        if self.broker is not None:
            await self.broker.stop()
        if getattr(self, "publisher", None) is not None:
            await self.publisher.close()
        await self.store.close()
