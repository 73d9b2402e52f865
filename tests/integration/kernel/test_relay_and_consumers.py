"""The outbox relay and idempotent consumers over the real Kafka broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import FEED_CHUNK, feed
from shared.kafka import KafkaPublisher, make_broker, subscribe
from shared.migrations import upgrade
from shared.relay import Relay, to_record, topic_for
from shared.store.eventstore import EventStore, UnitOfWork, open_store
from tests.conftest import ROOT
from tests.kernel_events import ACTOR, Noted
from tests.ports import free_ports

KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"


async def read_topic(bootstrap: str, topic: str, expect: int, timeout: float = 60) -> list[dict]:
    """Everything on ``topic`` from offset zero (waits until at least ``expect`` records)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                got.extend(json.loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return got


async def wait_for(predicate, timeout: float = 90, step: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError("condition not reached in time")


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[EventStore]:
    s = open_store("kernel", pg_url)
    await upgrade(s.engine)
    yield s
    await s.close()


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A broker of this test's own (other ports, fresh data), so it can be stopped."""
    port, controller = free_ports(2)
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "KAFKA_DATA_DIR": str(tmp_path_factory.mktemp("kafka")),
        "KAFKA_HEAP": "384m",
    }
    subprocess.run([str(KAFKA_SH), "start"], env=env, check=True)
    yield env
    subprocess.run([str(KAFKA_SH), "stop"], env=env, check=False)


async def test_events_appended_while_the_broker_is_down_arrive_after_it_restarts(
    store: EventStore, private_broker: dict[str, str], topic_prefix: str
) -> None:
    bootstrap = f"127.0.0.1:{private_broker['KAFKA_PORT']}"
    topic = topic_for("kernel", topic_prefix)
    publisher = KafkaPublisher(bootstrap)
    relay = Relay(store, publisher, topic=topic, batch_size=50)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        for i in range(20):
            await store.append(f"s-{i % 4}", None, [Noted(text="before", n=i)], ACTOR)
        await wait_for(lambda: _caught_up(relay))
        subprocess.run([str(KAFKA_SH), "stop"], env=private_broker, check=True)
        for i in range(20, 60):
            await store.append(f"s-{i % 4}", None, [Noted(text="during", n=i)], ACTOR)
        await asyncio.sleep(3)
        assert await relay.backlog() > 0  # nothing could be published meanwhile
        subprocess.run([str(KAFKA_SH), "start"], env=private_broker, check=True)
        await wait_for(lambda: _caught_up(relay), timeout=120)
    finally:
        stop.set()
        await running
        await publisher.close()
    on_topic = await read_topic(bootstrap, topic, expect=60)
    first: dict[str, dict] = {}
    for event in on_topic:
        first.setdefault(event["metadata"]["event_id"], event)
    assert len(first) == 60  # none lost
    stored = await store.read_all()
    assert {str(e.event_id) for e in stored} == set(first)
    for stream in {e.stream_id for e in stored}:
        versions = [e["stream_version"] for e in first.values() if e["stream_id"] == stream]
        assert versions == sorted(versions)  # none reordered within a stream


async def _caught_up(relay: Relay) -> bool:
    return await relay.backlog() == 0


def counting_consumer(store: EventStore) -> Consumer:
    consumer = Consumer("counter", store, sources=["kernel"])

    @consumer.on("Noted")
    async def count(uow: UnitOfWork, envelope: Envelope) -> None:
        doc = await uow.docs.get("counts", envelope.stream_id) or {"n": 0, "seen": []}
        doc["n"] += 1
        doc["seen"].append(envelope.payload["n"])
        await uow.docs.put("counts", envelope.stream_id, doc)

    return consumer


async def test_a_consumer_handed_the_same_event_twice_applies_it_once(store: EventStore) -> None:
    [envelope] = await store.append("dup-1", 0, [Noted(text="once", n=7)], ACTOR)
    consumer = counting_consumer(store)
    assert await consumer.handle_batch([envelope]) == 1
    assert await consumer.handle_batch([envelope]) == 0
    async with store.transaction() as uow:
        assert await uow.docs.get("counts", "dup-1") == {"n": 1, "seen": [7]}


@pytest.mark.parametrize("transport", ["feed", "faststream"])
async def test_a_kafka_subscriber_applies_redelivered_events_once_and_commits_after(
    store: EventStore, kafka_bootstrap: str, topic_prefix: str, transport: str
) -> None:
    topic = topic_for("kernel", topic_prefix)
    events = []
    for i in range(10):
        events += await store.append(f"k-{i % 2}", None, [Noted(text="k", n=i)], ACTOR)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for envelope in [*events, *events[:5]]:  # the first five delivered twice
            record = to_record(envelope)
            await producer.send_and_wait(topic, record.value, key=record.key)
    finally:
        await producer.stop()
    broker, stop = make_broker(kafka_bootstrap), asyncio.Event()
    consumer = counting_consumer(store)
    if transport == "faststream":
        subscribe(broker, consumer, prefix=topic_prefix)
        fed = None
    else:
        fed = asyncio.create_task(feed(consumer, kafka_bootstrap, topic_prefix, stop))
    await broker.start()
    try:

        async def done() -> bool:
            async with store.transaction() as uow:
                docs = [await uow.docs.get("counts", f"k-{j}") for j in (0, 1)]
            return all(docs) and sum(d["n"] for d in docs if d) >= 10

        await wait_for(done, timeout=60)
        await asyncio.sleep(1.5)  # the duplicates, if they were to be applied, would be now
    finally:
        stop.set()
        if fed is not None:
            await fed
        await broker.stop()
    async with store.transaction() as uow:
        docs = {j: await uow.docs.get("counts", f"k-{j}") for j in (0, 1)}
    assert docs[0] == {"n": 5, "seen": [0, 2, 4, 6, 8]}
    assert docs[1] == {"n": 5, "seen": [1, 3, 5, 7, 9]}


async def test_a_fed_consumer_applies_a_topic_s_event_before_another_topic_s_backlog(
    store: EventStore, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """The feed gives each topic its turn: one event behind 3,000 of another topic waits for a
    transaction of theirs at most, not for all of them (a score behind a survey's backlog)."""
    backlog = await store.append("bulk", None, [Noted(text="b", n=i) for i in range(3000)], ACTOR)
    [one] = await store.append("alone", None, [Noted(text="a", n=0)], ACTOR)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for envelope in backlog:  # the same events as another service's
            record = to_record(envelope.model_copy(update={"service": "bulk"}))
            await producer.send(topic_for("bulk", topic_prefix), record.value, key=record.key)
        await producer.flush()
        record = to_record(one)
        await producer.send_and_wait(
            topic_for("kernel", topic_prefix), record.value, key=record.key
        )
    finally:
        await producer.stop()
    order: list[str] = []
    consumer = Consumer("turns", store, sources=["bulk", "kernel"])

    @consumer.on("Noted")
    async def note(uow: UnitOfWork, envelope: Envelope) -> None:
        order.append(envelope.service)

    stop = asyncio.Event()
    fed = asyncio.create_task(feed(consumer, kafka_bootstrap, topic_prefix, stop))
    try:

        async def done() -> bool:
            return len(order) >= 3001

        await wait_for(done, timeout=120)
    finally:
        stop.set()
        await fed
    assert order.count("kernel") == 1 and order.count("bulk") == 3000
    assert order.index("kernel") <= 2 * FEED_CHUNK, order.index("kernel")


async def test_a_poison_event_is_set_aside_after_its_retries_and_the_rest_flow(
    store: EventStore,
) -> None:
    events = []
    for i in range(3):
        events += await store.append(
            f"p-{i}", 0, [Noted(text="poison" if i == 1 else "ok", n=i)], ACTOR
        )
    consumer = Consumer("picky", store, sources=["kernel"], max_attempts=3)

    @consumer.on("Noted")
    async def apply(uow: UnitOfWork, envelope: Envelope) -> None:
        if envelope.payload["text"] == "poison":
            raise ValueError("cannot apply this one")
        await uow.docs.put("seen", envelope.stream_id, {"n": envelope.payload["n"]})

    for _ in range(2):  # delivered, fails, redelivered …
        with pytest.raises(ValueError):
            await consumer.handle_batch(events)
    assert await consumer.handle_batch(events) == 1  # third failure: set aside; p-2 flows
    async with store.transaction() as uow:
        assert await uow.docs.get("seen", "p-0") == {"n": 0}
        assert await uow.docs.get("seen", "p-2") == {"n": 2}
        dead = await uow.docs.list("dead_letters")
    assert [d["event_id"] for _, d in dead] == [str(events[1].event_id)]
    assert "cannot apply" in dead[0][1]["error"]


async def test_published_batches_keep_each_streams_order_on_its_keys_partition(
    kafka_bootstrap: str,
) -> None:
    """The relay sends ready-made record batches, one per partition at a time: every record
    arrives, each stream's in order, on the partition the default partitioner gives its key,
    with its headers; a batch that fills up is sent and the next one opened."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.partitioner import DefaultPartitioner

    from shared.relay import Record

    topic = f"batches-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    streams = [f"stream-{n}" for n in range(7)]
    records = [
        Record(
            key=streams[i % 7].encode(),
            value=json.dumps({"i": i, "pad": "x" * 900}).encode(),
            headers={"n": str(i)},
        )
        for i in range(300)
    ]
    publisher = KafkaPublisher(kafka_bootstrap, max_batch_bytes=16 * 1024)  # ~15 per batch
    try:
        assert await publisher.publish(topic, records) == 300
    finally:
        await publisher.close()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    got: list[tuple[int, bytes, int, str]] = []
    try:
        deadline = time.monotonic() + 60
        while len(got) < 300 and time.monotonic() < deadline:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                got.extend(
                    (tp.partition, r.key, json.loads(r.value)["i"], dict(r.headers)["n"].decode())
                    for r in batch
                )
    finally:
        await consumer.stop()
    assert sorted(i for _, _, i, _ in got) == list(range(300))
    assert all(str(i) == n for _, _, i, n in got)
    for stream in streams:
        mine = [(p, i) for p, key, i, _ in got if key == stream.encode()]
        assert [i for _, i in mine] == sorted(i for _, i in mine)  # the stream's order
        assert {p for p, _ in mine} == {DefaultPartitioner()(stream.encode(), [0, 1, 2], [0])}
    assert len({p for p, _, _, _ in got}) > 1  # the keys spread over the partitions


async def test_the_relay_wakes_on_a_commit_of_its_own_process_not_at_its_next_poll(
    store: EventStore, kafka_bootstrap: str
) -> None:
    """With a poll of 5 s, an event this process commits is on Kafka well within a second:
    the store's commit wakes the relay beside it (another process's appends wait for the
    poll)."""
    topic = f"wake-{uuid.uuid4().hex[:8]}"
    inner = KafkaPublisher(kafka_bootstrap)
    published: list[float] = []

    class Timed:
        async def publish(self, topic: str, records: list) -> int:  # type: ignore[type-arg]
            acked = await inner.publish(topic, records)
            published.append(time.monotonic())
            return acked

    await store.append(f"note-{uuid.uuid4()}", 0, [Noted(text="before")], ACTOR)
    relay = Relay(store, Timed(), topic=topic, idle_seconds=5.0)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await wait_for(lambda: _true(len(published) == 1), timeout=60, step=0.05)
        await asyncio.sleep(1.0)  # the relay is idle now, in its 5 s wait
        appended = time.monotonic()
        await store.append(f"note-{uuid.uuid4()}", 0, [Noted(text="after")], ACTOR)
        await wait_for(lambda: _true(len(published) == 2), timeout=10, step=0.01)
        assert published[1] - appended < 1.0, published[1] - appended
    finally:
        stop.set()
        await running
        await inner.close()
    got = await read_topic(kafka_bootstrap, topic, expect=2)
    # two streams: their partitions may be read in any order, the positions tell the order
    in_log_order = sorted(got, key=lambda g: g["global_position"])
    assert [g["payload"]["text"] for g in in_log_order] == ["before", "after"]


async def _true(value: bool) -> bool:
    return value
