"""Replay source for the distributed mode: every topic from offset zero, read with aiokafka."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka import client_kwargs

Doc = dict[str, Any]


def decode(values: list[bytes]) -> list[Doc]:
    """``json.loads`` of each value, through orjson (3.5x faster, same values); what orjson
    refuses (integers beyond 64 bits, NaN) goes through json."""
    try:
        return [orjson.loads(v) for v in values]
    except orjson.JSONDecodeError:
        return [json.loads(v) for v in values]


def reading_consumer(bootstrap: str) -> AIOKafkaConsumer:
    """A consumer for reading whole topics from the start (no group, no commits, large
    fetches): the replay's, and the one its benchmark's reference reads with."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        auto_offset_reset="earliest",
        **client_kwargs(),
    )


Span = tuple[str, int, int, int]  # topic, partition, first offset, end offset


class KafkaSource:
    """Reads the topics from the beginning up to their end offsets as of the start; or, given
    ``spans``, exactly those partitions between those offsets (a share of a replay)."""

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        max_records: int = 20000,
        spans: list[Span] | None = None,
    ) -> None:
        self.bootstrap, self.topics, self.max_records = bootstrap, topics, max_records
        self.spans = spans
        self._consumer: AIOKafkaConsumer | None = None
        self._end: dict[TopicPartition, int] = {}
        self._start: dict[TopicPartition, int] = {}

    async def _open(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = reading_consumer(self.bootstrap)
            await consumer.start()
            if self.spans is not None:
                await self._open_spans(consumer, self.spans)
                self._consumer = consumer
                return consumer
            parts = await self._partitions()
            consumer.assign(parts)
            if parts:
                self._start = await consumer.beginning_offsets(parts)
                self._end = await consumer.end_offsets(parts)
                await consumer.seek_to_beginning(*parts)
            self._consumer = consumer
        return self._consumer

    async def _open_spans(self, consumer: AIOKafkaConsumer, spans: list[Span]) -> None:
        parts = [TopicPartition(topic, p) for topic, p, _, _ in spans]
        consumer.assign(parts)
        for (_, _, first, end), tp in zip(spans, parts, strict=True):
            self._start[tp], self._end[tp] = first, end
            consumer.seek(tp, first)

    async def spans_of(self) -> list[Span]:
        """Every partition read, with its offsets (as of the first call)."""
        await self._open()
        return [(tp.topic, tp.partition, self._start[tp], self._end[tp]) for tp in self._end]

    def only(self, spans: list[Span]) -> None:
        """Read only these spans (before the first batch)."""
        wanted = {(t, p) for t, p, _, _ in spans}
        for tp in list(self._end):
            if (tp.topic, tp.partition) not in wanted:
                del self._end[tp], self._start[tp]
        if self._consumer is not None:
            self._consumer.assign(list(self._end))
            for tp in self._end:
                self._consumer.seek(tp, self._start[tp])

    async def _partitions(self) -> list[TopicPartition]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, **client_kwargs())
        await admin.start()
        try:
            known = set(await admin.list_topics())
            wanted = [t for t in self.topics if t in known]
            described = await admin.describe_topics(wanted) if wanted else []
        finally:
            await admin.close()
        return sorted(
            (
                TopicPartition(d["topic"], p["partition"])
                for d in described
                for p in d["partitions"]
            ),
            key=lambda tp: (tp.topic, tp.partition),
        )

    async def total(self) -> int:
        await self._open()
        return sum(self._end[tp] - self._start[tp] for tp in self._end)

    async def batches(self) -> AsyncIterator[list[Doc]]:
        records = self.records()
        try:
            async for batch in records:
                yield decode([r.value for r in batch])
        finally:
            await records.aclose()  # type: ignore[attr-defined]

    async def records(self) -> AsyncIterator[list[Any]]:
        """The records themselves (key, value, headers), a fetch at a time."""
        consumer = await self._open()
        remaining = {tp for tp, end in self._end.items() if end > self._start[tp]}
        try:
            while remaining:
                got = await consumer.getmany(timeout_ms=1000, max_records=self.max_records)
                batch: list[Any] = []
                for tp, records in got.items():
                    end = self._end.get(tp, 0)
                    batch.extend([r for r in records if r.offset < end])
                    if records and records[-1].offset >= end - 1:
                        remaining.discard(tp)
                if batch:
                    yield batch
        finally:
            await consumer.stop()
            self._consumer = None
