"""The relay wakes for events another process appended (PostgreSQL NOTIFY, sent by that
process's store after its commit: migration 0010), not at its poll."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import Record, Relay, topic_for
from shared.store.batch import Batch
from shared.store.eventstore import EventStore, open_store
from shared.store.rendering import render
from tests.kernel_events import ACTOR, Noted

POLL_SECONDS = 30.0  # the relay's poll: far longer than the test waits


class Acked:
    """Kafka's publisher, noting when each event was acknowledged."""

    def __init__(self, inner: KafkaPublisher) -> None:
        self.inner = inner
        self.at: dict[str, float] = {}
        self.published = asyncio.Event()

    async def publish(self, topic: str, records: Sequence[Record]) -> int:
        acked = await self.inner.publish(topic, records)
        for record in records[:acked]:
            self.at[record.headers["event_id"]] = time.monotonic()
        if acked:
            self.published.set()
        return acked


async def commit_elsewhere(store: EventStore, how: str, text: str) -> str:
    """One event committed by a command's transaction (``append``) or a batch (``write``, the
    survey's answers); its id."""
    if how == "append":
        [envelope] = await store.append(f"note-{text}", 0, [Noted(text=text)], ACTOR)
        return str(envelope.event_id)
    rendered = render(Noted(text=text), ACTOR, "corr", recorded_at=datetime.now(UTC))
    [envelope] = (await store.write(Batch(events=[(f"note-{text}", rendered)]))).envelopes()
    return str(envelope.event_id)


@pytest.mark.parametrize("how", ["append", "write"])
async def test_an_event_another_process_appends_is_on_kafka_without_waiting_for_the_poll(
    how: str, pg_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    relaying = open_store("kernel", pg_url)  # the relay's process
    other = open_store("kernel", pg_url)  # another process of the service: its own commits
    await upgrade(relaying.engine)
    topic = topic_for("kernel", topic_prefix)
    publisher = Acked(KafkaPublisher(kafka_bootstrap))
    relay = Relay(relaying, publisher, topic=topic, idle_seconds=POLL_SECONDS)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(2.0)  # active, listening, and past its first (empty) read
        event_id = await commit_elsewhere(other, how, "from elsewhere")
        committed = time.monotonic()
        await asyncio.wait_for(publisher.published.wait(), timeout=10.0)
        assert publisher.at[event_id] - committed < 5.0
    finally:
        stop.set()
        await running
        await publisher.inner.close()
        await relaying.close()
        await other.close()
    assert [r["payload"]["text"] for r in await on_topic(kafka_bootstrap, topic)] == [
        "from elsewhere"
    ]


async def on_topic(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        return [json.loads(r.value) for records in batch.values() for r in records]
    finally:
        await consumer.stop()


async def test_the_relay_listens_again_after_its_listening_session_is_killed(
    pg_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    relaying = open_store("kernel", pg_url)
    other = open_store("kernel", pg_url)
    await upgrade(relaying.engine)
    publisher = Acked(KafkaPublisher(kafka_bootstrap))
    relay = Relay(
        relaying, publisher, topic=topic_for("kernel", topic_prefix), idle_seconds=POLL_SECONDS
    )
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    try:
        await asyncio.sleep(2.0)
        async with other.engine.connect() as conn:  # an administrator ends the LISTEN session
            killed = await conn.scalar(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        assert killed == 1
        await asyncio.sleep(2.0)
        [envelope] = await other.append("note-2", 0, [Noted(text="after the kill")], ACTOR)
        committed = time.monotonic()
        await asyncio.wait_for(publisher.published.wait(), timeout=10.0)
        assert publisher.at[str(envelope.event_id)] - committed < 5.0
    finally:
        stop.set()
        await running
        await publisher.inner.close()
        await relaying.close()
        await other.close()


async def test_a_transaction_appending_events_notifies_nothing_the_store_notifies_after_it(
    pg_url: str,
) -> None:
    """A transaction that NOTIFYs holds the cluster's notify lock through its commit's WAL
    flush, and every other one waits: the notification comes after the commit, from the
    store, on a connection of its own."""
    store = open_store("kernel", pg_url)
    await upgrade(store.engine)
    listening = await asyncpg.connect(pg_url.replace("postgresql+asyncpg", "postgresql"))
    heard: asyncio.Queue[int] = asyncio.Queue()
    await listening.add_listener("uzdik_appended", lambda _c, pid, _ch, _p: heard.put_nowait(pid))
    try:
        async with store.transaction() as uow:
            await uow.append("note-3", 0, [Noted(text="inside")], ACTOR, "corr")
            writer = await uow.conn.scalar(sa.text("SELECT pg_backend_pid()"))
            triggers = await uow.conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_trigger "
                    "WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
                )
            )
        assert triggers == 0
        notifier = await asyncio.wait_for(heard.get(), timeout=5.0)
        assert notifier != writer
        await asyncio.sleep(0.5)
        assert heard.empty()  # one commit, one notification
    finally:
        await listening.close()
        await store.close()
