"""Kafka adapters (FastStream + aiokafka): the relay's publisher and the consumers' subscribers.

Subscribers use ``AckPolicy.NACK_ON_ERROR`` with a consumer group: the offset is committed only
after the handler (and so its database transaction) finished; a failure rewinds to the message,
which is redelivered. FastStream's default (ACK_FIRST) would be at-most-once.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import DefaultPartitioner, murmur2
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.security import BaseSecurity

from shared.consumers import Consumer
from shared.events import Envelope
from shared.logging import get_logger
from shared.metrics import CONSUMER_LAG
from shared.relay import Record, topic_for
from shared.settings import Settings

log = get_logger("uzdik.kafka")


def ssl_context(settings: Settings | None = None) -> ssl.SSLContext | None:
    """TLS to the brokers (Strimzi's listener with client certificates), from the environment:
    UZDIK_KAFKA_SECURITY_PROTOCOL=SSL and the PEM files UZDIK_KAFKA_SSL_{CA,CERT,KEY}FILE."""
    s = settings or Settings()
    if s.kafka_security_protocol.upper() != "SSL":
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=str(s.kafka_ssl_cafile) if s.kafka_ssl_cafile else None,
        certfile=str(s.kafka_ssl_certfile) if s.kafka_ssl_certfile else None,
        keyfile=str(s.kafka_ssl_keyfile) if s.kafka_ssl_keyfile else None,
    )
    return context


def client_kwargs() -> dict[str, Any]:
    """What every aiokafka client of ours gets: plaintext, or SSL with the context above."""
    context = ssl_context()
    return {"security_protocol": "SSL", "ssl_context": context} if context else {}


def make_broker(bootstrap: str, client_id: str = "uzdik") -> KafkaBroker:
    context = ssl_context()
    return KafkaBroker(
        bootstrap,
        security=BaseSecurity(ssl_context=context, use_ssl=True) if context else None,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        request_timeout_ms=15000,
        linger_ms=2,
        logger=None,
    )


MAX_BATCH_BYTES = 512 * 1024  # a record batch the relay sends (the broker takes up to 1 MB)
LARGE_RECORD = 16 * 1024 * 1024  # a record before compression, on a compressed topic


class KeyPartitioner:
    """aiokafka's default partitioner — the Java client's murmur2 of the key, so a stream's
    events land on the partition any Kafka client would choose — with each key's hash kept:
    the pure-Python hash cost more than the rest of a send, and a relay sends the same few
    streams' keys over and over."""

    def __init__(self, keys: int = 65_536) -> None:
        self._hash = lru_cache(maxsize=keys)(murmur2)

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        return all_partitions[(int(self._hash(key)) & 0x7FFFFFFF) % len(all_partitions)]


class KafkaPublisher:
    """The relay's port to Kafka: an idempotent aiokafka producer (acks=all; TLS as every
    client of ours). Straight aiokafka rather than FastStream's publisher: the relay sends what
    is already encoded, and FastStream's per-message path cost twice the CPU per event
    (36 against 16 µs, measured on this broker) under a national vote.

    It owns its connection; after a failed send the producer is rebuilt, so a broker that went
    away and came back is used again (the relay re-sends from its published mark).
    """

    def __init__(
        self,
        bootstrap: str,
        client_id: str = "uzdik-relay",
        max_batch_bytes: int = MAX_BATCH_BYTES,
        compress: bool = False,
    ) -> None:
        self.bootstrap, self.client_id, self.max_batch_bytes = bootstrap, client_id, max_batch_bytes
        # compress: record batches are gzip-compressed and a record may be up to LARGE_RECORD
        # bytes before compression (the broker's 1 MB limit applies to the compressed batch):
        # a topic of large, repetitive JSON (a region's finalist dossier carries its signed
        # protocol, ~0.4–0.8 MB for the largest oblast) rather than many small events.
        self.compress = compress
        self.producer: AIOKafkaProducer | None = None
        self._partitioner = KeyPartitioner()

    async def _connected(self) -> AIOKafkaProducer:
        if self.producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=self.client_id,
                enable_idempotence=True,
                acks="all",
                request_timeout_ms=15000,
                linger_ms=2,
                max_batch_size=self.max_batch_bytes,
                partitioner=self._partitioner,
                **(
                    {"compression_type": "gzip", "max_request_size": LARGE_RECORD}
                    if self.compress
                    else {}
                ),
                **client_kwargs(),
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self.producer = producer
        return self.producer

    async def close(self) -> None:
        if self.producer is not None:
            producer, self.producer = self.producer, None
            await producer.stop()

    async def publish(self, topic: str, records: Sequence[Record]) -> int:
        """Send ``records`` in order and return how many from the start Kafka acknowledged.

        The records go as ready-made batches, one open batch per partition (the key's
        partition, as any client would choose it), in the records' order within each:
        aiokafka's per-message path cost four times the CPU per record (26 against 6 µs,
        measured here with 32 records of 1.4 kB)."""
        producer = await self._connected()
        sent: list[tuple[list[int], asyncio.Future[Any]]] = []
        try:
            partitions = sorted(await producer.partitions_for(topic))
            open_: dict[int, tuple[Any, list[int]]] = {}
            for index, record in enumerate(records):
                partition = self._partitioner(record.key, partitions, partitions)
                headers = [(k, v.encode()) for k, v in record.headers.items()]
                for _ in range(2):
                    batch, members = open_.get(partition) or (producer.create_batch(), [])
                    if batch.append(
                        key=record.key, value=record.value, timestamp=None, headers=headers
                    ):
                        members.append(index)
                        open_[partition] = (batch, members)
                        break
                    if not members:
                        raise ValueError(f"record {index} is larger than a batch may be")
                    del open_[partition]
                    sent.append(await self._send(producer, topic, partition, batch, members))
            for partition, (batch, members) in open_.items():
                sent.append(await self._send(producer, topic, partition, batch, members))
        except BaseException:
            await self._settle(sent, len(records))
            await self.close()
            raise
        acked = await self._settle(sent, len(records))
        if acked < len(records):
            await self.close()
        return acked

    @staticmethod
    async def _send(
        producer: AIOKafkaProducer, topic: str, partition: int, batch: Any, members: list[int]
    ) -> tuple[list[int], asyncio.Future[Any]]:
        batch.close()
        return members, await producer.send_batch(batch, topic, partition=partition)

    @staticmethod
    async def _settle(sent: list[tuple[list[int], asyncio.Future[Any]]], total: int) -> int:
        """How many records from the start were acknowledged (a record of a failed batch,
        or one never sent, ends the prefix)."""
        results = await asyncio.gather(*(future for _, future in sent), return_exceptions=True)
        acked = {
            index
            for (members, _), result in zip(sent, results, strict=True)
            if not isinstance(result, BaseException)
            for index in members
        }
        prefix = 0
        while prefix < total and prefix in acked:
            prefix += 1
        return prefix


def decode(body: Any) -> Envelope:
    if isinstance(body, bytes | bytearray | str):
        body = json.loads(body)
    return Envelope.model_validate(body)


def subscribe(broker: KafkaBroker, consumer: Consumer, prefix: str = "uzdik") -> None:
    """Feed ``consumer`` from its sources' topics, committing after each applied batch, with
    FastStream's batch subscriber: after an empty 50 ms poll it sleeps another 50 ms, and one
    batch holds every topic's records. ``shared.follow.feed`` has neither wait nor queue (the
    default); this one stays as the reference of bench/latency.py (UZDIK_KAFKA_CONSUMER)."""
    topics = [topic_for(source, prefix) for source in consumer.sources]

    @broker.subscriber(
        *topics,
        group_id=f"{prefix}-{consumer.name}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=500,
        batch_timeout_ms=50,
    )
    async def on_events(body: Any, message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple | list) else (raw,)
        try:
            await consumer.handle_batch([decode(r.value) for r in records])
        except Exception as exc:
            log.error("kafka.consume_failed", consumer=consumer.name, error=str(exc))
            await asyncio.sleep(0.5)  # back off before the redelivery
            raise
        record_lag(consumer.name, message.consumer, records[-1])


def record_lag(name: str, kafka: Any, last: Any) -> None:
    """uzdik_consumer_lag: the partition's high watermark minus what was just applied."""
    try:
        tp = TopicPartition(last.topic, last.partition)
        highwater = kafka.highwater(tp)
        if highwater is not None:
            CONSUMER_LAG.labels(name, last.topic).set(max(highwater - last.offset - 1, 0))
    except (AttributeError, AssertionError):  # a consumer without partition metadata yet
        pass


async def ensure_topics(bootstrap: str, topics: Sequence[str], partitions: int = 3) -> None:
    """Create the topics when absent: ``partitions`` partitions, retention forever (the log is
    the system of record). Existing topics are left as they are."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    if not Settings().kafka_create_topics:
        return  # the platform (Strimzi KafkaTopic) owns the topics
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            new = [
                NewTopic(
                    t,
                    num_partitions=partitions,
                    replication_factor=1,
                    topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                )
                for t in missing
            ]
            try:
                await admin.create_topics(new)
            except Exception as exc:  # raced with another service, or not ours to create
                text = type(exc).__name__ + str(exc)
                if "TopicAlreadyExists" in text or "Authorization" in text:
                    log.warning("kafka.topics_not_created", topics=missing, reason=text)
                else:
                    raise
    finally:
        await admin.close()
