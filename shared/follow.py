"""Following a topic that is not a ``<prefix>.<service>.events`` topic (the kernel's ``subscribe``
reads those): reporting's ``<prefix>.results`` (notifications' webhooks), and in a federation the
results another deployment's cluster mirrored here (``<alias>.<prefix>.results``, Kafka
MirrorMaker 2's default naming).

Offsets are committed after the consumer's transaction, so a crash redelivers and the
consumer's tracking skips what it applied. A mirrored topic's envelopes carry the positions of
the other deployment's log: ``source`` renames their service (``reporting@<alias>``) so that
the consumer's tracking keeps one record per deployment.

:func:`feed` reads a consumer's ``<prefix>.<service>.events`` topics (the kernel's default
transport, :class:`~shared.runtime.ServiceRuntime`): the topics take turns, so a score is not
queued behind a survey's backlog, and the loop waits on the fetch itself — a record is applied
as soon as it is fetched, with no fixed wait after an empty poll.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from aiokafka import TopicPartition

from shared.consumers import Consumer
from shared.events import Envelope
from shared.kafka import client_kwargs, decode, ensure_topics, record_lag
from shared.logging import get_logger
from shared.relay import topic_for
from shared.runtime import ServiceContext, run_beside_store

log = get_logger("uzdik.follow")


async def follow(
    consumer: Consumer,
    bootstrap: str,
    topic: str,
    group: str,
    stop: asyncio.Event,
    source: str | None = None,
) -> None:
    """Feed ``consumer`` from ``topic`` until ``stop``; reconnect on failure."""
    from aiokafka import AIOKafkaConsumer

    while not stop.is_set():
        try:
            await ensure_topics(bootstrap, [topic])
            kafka = AIOKafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=group,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                **client_kwargs(),
            )
            await kafka.start()
        except Exception as exc:
            log.warning("follow.connect_failed", topic=topic, error=str(exc)[:200])
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            continue
        try:
            while not stop.is_set():
                batches = await kafka.getmany(timeout_ms=200, max_records=500)
                for tp, records in batches.items():
                    envelopes = [e for r in records if (e := _envelope(r, topic)) is not None]
                    if source is not None:
                        envelopes = [e.model_copy(update={"service": source}) for e in envelopes]
                    try:
                        await consumer.handle_batch(envelopes)
                    except Exception as exc:
                        log.error("follow.consume_failed", topic=topic, error=str(exc)[:200])
                        kafka.seek(tp, records[0].offset)  # redelivered next round
                        await asyncio.sleep(0.5)
                        continue
                    await kafka.commit({tp: records[-1].offset + 1})
        except Exception as exc:
            log.warning("follow.consumer_failed", topic=topic, error=str(exc)[:200])
        finally:
            with suppress(Exception):
                await kafka.stop()


def _envelope(record: Any, topic: str) -> Envelope | None:
    """The record's envelope; a record that is none (not JSON, not an envelope: something
    another producer wrote on the topic) is logged with its place and passed over, never
    retried for ever."""
    try:
        return decode(record.value)
    except (ValueError, TypeError) as exc:  # pydantic's ValidationError is a ValueError
        log.error(
            "follow.not_an_envelope",
            topic=topic,
            partition=record.partition,
            offset=record.offset,
            error=str(exc)[:200],
        )
        return None


def follow_beside_store(
    ctx: ServiceContext, consumer: Consumer, topics: Sequence[tuple[str, str | None]]
) -> None:
    """Follow each ``(topic, source)`` with ``consumer`` while the service runs distributed
    (one consumer group per topic), stopped before its store closes."""
    bootstrap = ctx.settings.kafka_bootstrap_servers
    if not bootstrap or not topics:
        return
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    def start() -> None:
        loop = asyncio.get_running_loop()
        for topic, source in topics:
            group = f"{ctx.settings.topic_prefix}-{consumer.name}-{topic}"
            tasks.append(loop.create_task(follow(consumer, bootstrap, topic, group, stop, source)))

    async def halt() -> None:
        stop.set()
        for task in tasks:
            with suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
        tasks.clear()

    run_beside_store(ctx, start, halt)


FEED_CHUNK = 200  # at most this many records of one topic in one transaction
FEED_QUEUE = 2_000  # a topic with this many records waiting is fetched no more until applied
FEED_IDLE_MS = 1000  # an idle feed wakes this often to look at ``stop`` (no fixed wait)


async def feed(
    consumer: Consumer, bootstrap: str, prefix: str, stop: asyncio.Event, chunk: int = FEED_CHUNK
) -> None:
    """Feed ``consumer`` from its sources' topics (consumer group ``<prefix>-<name>``, as the
    FastStream subscriber had) until ``stop``; reconnect on failure. Offsets are committed
    after the consumer's transaction: at-least-once, and the consumer's tracking skips what it
    applied before."""
    from aiokafka import AIOKafkaConsumer

    topics = [topic_for(source, prefix) for source in consumer.sources]
    while not stop.is_set():
        try:
            await ensure_topics(bootstrap, topics)
            kafka = AIOKafkaConsumer(
                *topics,
                bootstrap_servers=bootstrap,
                group_id=f"{prefix}-{consumer.name}",
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                **client_kwargs(),
            )
            await kafka.start()
        except Exception as exc:
            log.warning("feed.connect_failed", consumer=consumer.name, error=str(exc)[:200])
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            continue
        try:
            await _turns(kafka, consumer, topics, stop, chunk)
        except Exception as exc:
            log.warning("feed.consumer_failed", consumer=consumer.name, error=str(exc)[:200])
        finally:
            with suppress(Exception):
                await kafka.stop()


async def _turns(
    kafka: Any, consumer: Consumer, topics: list[str], stop: asyncio.Event, chunk: int
) -> None:
    """Take everything fetched into a queue per topic, then give each topic in turn one
    transaction of up to ``chunk`` records; when nothing is waiting, wait for the next fetch.

    Everything fetched is taken at once because aiokafka sends no new fetch to a broker while
    records it fetched from it wait to be taken (up to 100 ms): a score would wait behind the
    survey's backlog for its fetch. A topic whose queue is long is paused instead."""
    queues: dict[str, deque[Any]] = {topic: deque() for topic in topics}
    while not stop.is_set():
        waiting = any(queues.values())
        fetched = await kafka.getmany(timeout_ms=0 if waiting else FEED_IDLE_MS)
        for tp, records in fetched.items():
            queues[tp.topic].extend(records)
        _hold_long_queues(kafka, queues)
        for queue in queues.values():
            if queue:
                await _apply(kafka, consumer, queue, chunk)


def _hold_long_queues(kafka: Any, queues: dict[str, deque[Any]]) -> None:
    assigned = kafka.assignment()
    held = {tp for tp in assigned if len(queues[tp.topic]) >= FEED_QUEUE}
    if held:
        kafka.pause(*held)
    if free := (assigned & kafka.paused()) - held:
        kafka.resume(*free)


async def _apply(kafka: Any, consumer: Consumer, queue: deque[Any], chunk: int) -> None:
    """Apply the first ``chunk`` records of a topic's queue in one transaction, then commit
    their offsets. On a failure the queue is dropped and its partitions rewound to the first
    record not applied: redelivered in order, after a pause."""
    records = [queue.popleft() for _ in range(min(chunk, len(queue)))]
    try:
        await consumer.handle_batch([decode(r.value) for r in records])
    except Exception as exc:
        log.error("kafka.consume_failed", consumer=consumer.name, error=str(exc))
        first: dict[Any, int] = {}
        for r in [*records, *queue]:
            first.setdefault(TopicPartition(r.topic, r.partition), r.offset)
        queue.clear()
        for tp, offset in first.items():
            with suppress(Exception):  # a partition a rebalance took: its next owner has it
                kafka.seek(tp, offset)
        await asyncio.sleep(0.5)  # back off before the redelivery
        return
    last = {TopicPartition(r.topic, r.partition): r for r in records}
    try:
        await kafka.commit({tp: r.offset + 1 for tp, r in last.items()})
    except Exception as exc:  # a rebalance took the partitions: their next owner re-applies none
        log.warning("feed.commit_failed", consumer=consumer.name, error=str(exc)[:200])
    for r in last.values():
        record_lag(consumer.name, kafka, r)
