"""The relay's share of a score's way to the rating: from an event's commit to Kafka's
acknowledgement of it, for events committed one at a time at an idle service's pace.

Three relays over the same database and broker in one run: the reference polls the outbox
every 50 ms (as every relay did); the second is also woken by its own process's commits (the
store's ``events_committed``); the third is the same relay with the events committed through
another store on the same database — another process of the service — which wakes it by
PostgreSQL's NOTIFY (migration 0009). Last line:
``relay_wake events=<n> p50_ms=<n> p99_ms=<n> other_p50_ms=<n> other_p99_ms=<n>
poll_p50_ms=<n> poll_p99_ms=<n> fsync=<on|off>``.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Sequence

import asyncpg

from bench.common import (
    Services,
    asyncpg_dsn,
    create_database,
    drop_database,
    ensure_services,
    say,
    with_database,
)
from shared.events import Actor
from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import Record, Relay
from shared.store.eventstore import EventStore, open_store
from tests.kernel_events import Noted

ACTOR = Actor(id="bench", role="organiser")
EVENTS = 200


class Timed:
    """Kafka's acknowledgement time of every event, by its text."""

    def __init__(self, inner: KafkaPublisher) -> None:
        self.inner = inner
        self.acked: dict[str, float] = {}

    async def publish(self, topic: str, records: Sequence[Record]) -> int:
        acked = await self.inner.publish(topic, records)
        now = time.monotonic()
        for r in records[:acked]:
            self.acked[r.headers["event_id"]] = now
        return acked


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one(
    store: EventStore,
    bootstrap: str,
    wake: bool,
    rng: random.Random,
    appender: EventStore | None = None,
) -> list[float]:
    """Delays (ms) of ``EVENTS`` events committed through ``appender`` (default: the relay's
    own store) to their acknowledgement by Kafka."""
    appender = appender or store
    publisher = Timed(KafkaPublisher(bootstrap))
    relay = Relay(store, publisher, topic=f"bench-wake-{uuid.uuid4().hex[:8]}", wake=wake)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    delays: list[float] = []
    try:
        await asyncio.sleep(1.0)
        for n in range(EVENTS):
            await asyncio.sleep(rng.uniform(0.02, 0.08))  # an idle service: one at a time
            [envelope] = await appender.append(
                f"note-{uuid.uuid4()}", 0, [Noted(text=str(n))], ACTOR
            )
            committed = time.monotonic()
            event_id = str(envelope.event_id)
            while event_id not in publisher.acked:  # noqa: ASYNC110 - the clock, 0.5 ms
                await asyncio.sleep(0.0005)
            delays.append((publisher.acked[event_id] - committed) * 1000)
    finally:
        stop.set()
        await running
        await publisher.inner.close()
    return delays


async def run(services: Services) -> None:
    name = f"bench_wake_{uuid.uuid4().hex[:8]}"
    await create_database(services.database_url, name)
    store = open_store("bench", with_database(services.database_url, name))
    other = open_store("bench", with_database(services.database_url, name))
    try:
        await upgrade(store.engine)
        conn = await asyncpg.connect(asyncpg_dsn(with_database(services.database_url, name)))
        fsync = await conn.fetchval("SHOW fsync")
        sync = await conn.fetchval("SHOW synchronous_commit")
        await conn.close()
        say(f"PostgreSQL fsync={fsync} synchronous_commit={sync}; {EVENTS} events a relay")
        rng = random.Random(7)
        poll = await one(store, services.bootstrap, False, rng)
        woken = await one(store, services.bootstrap, True, rng)
        notified = await one(store, services.bootstrap, True, rng, appender=other)
    finally:
        await other.close()
        await store.close()
        await drop_database(services.database_url, name)
    print(
        f"relay_wake events={EVENTS} p50_ms={statistics.median(woken):.1f} "
        f"p99_ms={percentile(woken, 0.99):.1f} other_p50_ms={statistics.median(notified):.1f} "
        f"other_p99_ms={percentile(notified, 0.99):.1f} poll_p50_ms={statistics.median(poll):.1f} "
        f"poll_p99_ms={percentile(poll, 0.99):.1f} fsync={fsync}"
    )


def main() -> None:
    services = ensure_services()  # runs its own event loop: before the benchmark's
    asyncio.run(run(services))


if __name__ == "__main__":
    main()
