"""``uzdik audit verify``'s topic check (``services.audit.compare_topic``) on the real Kafka
broker and PostgreSQL: a topic as the relay leaves it passes, and so do redelivered copies and
another JSON encoding of an event; each discrepancy is named — an event altered on the topic,
one the store does not have, one missing, one that differs from its row, one out of order."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from services.audit import compare_topic
from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import Record, Relay, record_of_row
from shared.store.canonical import canonical_json, event_hash
from shared.store.eventstore import EventStore, open_store
from shared.store.rows import StoredRow
from tests.kernel_events import ACTOR, Noted

pytestmark = pytest.mark.integration

EVENTS = 12  # over three streams


class _Marks:
    """A publisher that publishes nothing: the relay's mark moves as if it had."""

    async def publish(self, topic: str, records: Sequence[Record]) -> int:
        return len(records)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[EventStore]:
    s = open_store("kernel", pg_url)
    await upgrade(s.engine)
    for i in range(EVENTS):
        await s.append(f"s-{i % 3}", None, [Noted(text=f"сөз {i}", n=i)], ACTOR)
    yield s
    await s.close()


async def _rows(store: EventStore) -> list[StoredRow]:
    return await store.read_rows(after=0, limit=EVENTS + 10)


def _record(store: EventStore, row: StoredRow) -> Record:
    return record_of_row(store.service, row)


def _rewritten(record: Record, change: Callable[[dict], None], rehash: bool) -> Record:
    """The record with its envelope changed (and its hash made to fit again, if ``rehash``)."""
    e = json.loads(record.value)
    change(e)
    if rehash:
        e["hash"] = event_hash(e["prev_hash"], e)
    return Record(record.key, canonical_json(e).encode(), record.headers)


async def _on_topic(
    store: EventStore, kafka_bootstrap: str, topic: str, records: list[Record]
) -> str | None:
    """``records`` on a fresh topic, the relay's mark at the store's head, then the check."""
    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        assert await publisher.publish(topic, records) == len(records)
    finally:
        await publisher.close()
    await Relay(store, _Marks(), topic=topic).drain()
    return await compare_topic(store, kafka_bootstrap, topic)


async def test_the_relays_topic_passes_and_so_do_copies_and_other_encodings(
    store: EventStore, kafka_bootstrap: str, topic_prefix: str
) -> None:
    records = [_record(store, r) for r in await _rows(store)]
    assert await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.clean", records) is None

    copies = [*records[:5], *records[:3], *records[5:], records[7]]  # redelivered
    assert await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.copies", copies) is None

    def ascii_encoding(r: Record) -> Record:  # same event, other bytes (keys unsorted, \\u)
        e = json.loads(r.value)
        return Record(r.key, json.dumps(e, ensure_ascii=True).encode(), r.headers)

    assert ascii_encoding(records[4]).value != records[4].value
    other = [*records[:4], ascii_encoding(records[4]), *records[5:], ascii_encoding(records[2])]
    assert await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.encoded", other) is None


async def test_each_discrepancy_is_named(
    store: EventStore, kafka_bootstrap: str, topic_prefix: str
) -> None:
    rows = await _rows(store)
    records = [_record(store, r) for r in rows]
    k = 6
    victim = rows[k]

    def text(e: dict) -> None:
        e["payload"]["text"] = "басқа сөз"

    altered = [*records[:k], _rewritten(records[k], text, rehash=False), *records[k + 1 :]]
    found = await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.altered", altered)
    assert found == f"event {victim.event_id} on the topic was altered"

    differs = [*records[:k], _rewritten(records[k], text, rehash=True), *records[k + 1 :]]
    found = await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.differs", differs)
    assert found == f"event {victim.event_id} at position {victim.global_position} differs"

    stranger = str(uuid.uuid4())

    def new_id(e: dict) -> None:
        e["metadata"]["event_id"] = stranger

    extra = [*records, _rewritten(records[k], new_id, rehash=True)]
    found = await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.extra", extra)
    assert found == f"event {stranger} is on the topic but not in the store"

    gone = [r for i, r in enumerate(records) if i not in (k, k + 3)]
    found = await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.missing", gone)
    assert found == f"event {victim.event_id} at position {victim.global_position} is missing"

    stream = [i for i, r in enumerate(rows) if r.stream_id == victim.stream_id]
    first, last = stream[0], stream[-1]
    swapped = list(records)
    swapped[first], swapped[last] = records[last], records[first]
    found = await _on_topic(store, kafka_bootstrap, f"{topic_prefix}.order", swapped)
    second = rows[stream[1]]  # the first one read after the stream's last
    assert found == f"event {second.event_id} is out of order in stream {victim.stream_id}"


async def test_shares_split_a_topic_and_a_record_off_its_partition_sends_it_back_whole(
    store: EventStore, pg_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """``uzdik audit verify`` compares a topic in several processes, a share of its
    partitions each: together they find what the whole check finds, and a record that is not
    on its key's partition (partitions added since) has the topic checked whole."""
    from aiokafka import AIOKafkaProducer

    from services.audit import LAYOUT, _TopicChecks
    from shared.relay import topic_for
    from shared.settings import Settings

    rows = await _rows(store)
    records = [_record(store, r) for r in rows]
    shares = [(0, 2), (1, 2)]

    async def each_share(topic: str) -> list[str | None]:
        return [await compare_topic(store, kafka_bootstrap, topic, share=s) for s in shares]

    clean = f"{topic_prefix}.clean"
    assert await _on_topic(store, kafka_bootstrap, clean, records) is None
    assert await each_share(clean) == [None, None]

    k = 5
    victim = rows[k]
    gone = f"{topic_prefix}.gone"
    await _on_topic(store, kafka_bootstrap, gone, [r for i, r in enumerate(records) if i != k])
    missing = f"event {victim.event_id} at position {victim.global_position} is missing"
    assert sorted(await each_share(gone), key=str) == [None, missing]

    # a stream of one event (its order is then no matter), put on another share's partition
    await store.append("alone", None, [Noted(text="жалғыз", n=99)], ACTOR)
    rows = await _rows(store)
    records = [_record(store, r) for r in rows]
    k = len(rows) - 1
    prefix = f"{topic_prefix}x"  # the topic _TopicChecks compares: <prefix>.kernel.events
    moved = topic_for("kernel", prefix)
    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        others = [r for i, r in enumerate(records) if i != k]
        assert await publisher.publish(moved, others) == len(others)
    finally:
        await publisher.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(moved))
        assert len(partitions) >= 2, "the broker's topics have one partition"
        right = await _partition_of(moved, records[k].key, kafka_bootstrap)
        wrong = next(p for p in partitions if p % 2 != right % 2)  # the other share's
        await producer.send_and_wait(moved, records[k].value, key=records[k].key, partition=wrong)
    finally:
        await producer.stop()
    await Relay(store, _Marks(), topic=moved).drain()
    assert LAYOUT in await each_share(moved)
    assert await compare_topic(store, kafka_bootstrap, moved) is None  # whole: all there

    settings = Settings(
        database_url=pg_url, kafka_bootstrap_servers=kafka_bootstrap, topic_prefix=prefix
    )
    checks = _TopicChecks(settings, ["kernel"], shares=2)
    try:
        assert await checks.result("kernel") is None
    finally:
        await checks.close()


async def _partition_of(topic: str, key: bytes, bootstrap: str) -> int:
    """The partition the relay's producer puts ``key`` on."""
    from aiokafka import AIOKafkaProducer

    from shared.kafka import KeyPartitioner

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        partitions = sorted(await producer.partitions_for(topic))
    finally:
        await producer.stop()
    return int(KeyPartitioner()(key, partitions, partitions))


async def test_the_servers_digest_of_a_row_is_the_relays_record_digest(store: EventStore) -> None:
    """PostgreSQL builds each row's record and hashes it (the row's text never leaves the
    server): the very digest of ``record_value_of_row``, for strings that need escaping too."""
    import hashlib

    from shared.relay import record_value_of_row
    from shared.store.canonical import json_string

    odd = 'қала "бір"\\екі\t\n\x01\x7f\u2028 emoji 🙂'
    await store.append(odd, None, [Noted(text=odd, n=7)], ACTOR)
    rows = await _rows(store)
    literal = json_string(store.service)
    by_server = await store.record_digests(literal, 0, rows[-1].global_position)  # type: ignore[attr-defined]
    assert [d[:5] for d in by_server] == [
        (r.event_id, r.global_position, r.stream_id, r.stream_version, r.hash) for r in rows
    ]
    mine = [hashlib.sha256(record_value_of_row(literal, r)).digest() for r in rows]
    assert [d[5] for d in by_server] == mine
    assert await store.record_digests(literal, 3, 5) == by_server[3:5]  # type: ignore[attr-defined]
