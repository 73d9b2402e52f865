"""Following a topic of another deployment's (a mirrored ``results``): a record that is not an
envelope is passed over with its place logged — it never blocks the topic — and the envelopes
around it are applied once, under the source name that keeps that deployment's positions apart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiokafka import AIOKafkaProducer

from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import follow
from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import Relay
from shared.store.eventstore import EventStore, UnitOfWork, open_store
from tests.kernel_events import ACTOR, Noted

pytestmark = pytest.mark.integration


@pytest.fixture
async def stores(
    pg_url_factory: Callable[[], Awaitable[str]],
) -> AsyncIterator[tuple[EventStore, EventStore]]:
    source = open_store("kernel", await pg_url_factory())
    target = open_store("follower", await pg_url_factory())
    for s in (source, target):
        await upgrade(s.engine)
    yield source, target
    for s in (source, target):
        await s.close()


async def test_a_record_that_is_no_envelope_is_passed_over_and_the_rest_applied(
    stores: tuple[EventStore, EventStore], kafka_bootstrap: str, topic_prefix: str
) -> None:
    source, target = stores
    topic = f"region-x.{topic_prefix}.results"
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"hello": "republic"}')
        await producer.send_and_wait(topic, b"\xff not even text")
    finally:
        await producer.stop()
    for n in range(3):
        await source.append("notes", None, [Noted(text="real", n=n)], ACTOR)
    publisher = KafkaPublisher(kafka_bootstrap)
    relay = Relay(source, publisher, topic=topic, batch_size=50)
    consumer = Consumer("follower", target, ["kernel@region-x"])
    seen: list[tuple[str, int]] = []
    all_three = asyncio.Event()

    @consumer.on("Noted")
    async def noted(uow: UnitOfWork, envelope: Envelope) -> None:
        seen.append((envelope.service, envelope.payload["n"]))
        if len(seen) == 3:
            all_three.set()

    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(relay.run(stop)),
        asyncio.create_task(
            follow(consumer, kafka_bootstrap, topic, f"{topic_prefix}-f", stop, "kernel@region-x")
        ),
    ]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_three.wait(), timeout=60)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await publisher.close()
    assert seen == [("kernel@region-x", 0), ("kernel@region-x", 1), ("kernel@region-x", 2)]
    async with target.reader() as uow:
        assert (await uow.applied("follower", "kernel@region-x")).through == 3
