"""The subscription to ``<prefix>.results`` (reporting's contract topic; the kernel's
``subscribe`` reads ``<prefix>.<service>.events`` only). Offsets are committed after the
consumer's transaction, so a crash redelivers and the consumer's tracking skips the applied."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from shared.consumers import Consumer
from shared.kafka import client_kwargs, decode, ensure_topics
from shared.logging import get_logger

log = get_logger("uzdik.notifications.results")


async def run(consumer: Consumer, bootstrap: str, prefix: str, stop: asyncio.Event) -> None:
    from aiokafka import AIOKafkaConsumer

    topic = f"{prefix}.results"
    while not stop.is_set():
        try:
            await ensure_topics(bootstrap, [topic])
            kafka = AIOKafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=f"{prefix}-{consumer.name}",
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                **client_kwargs(),
            )
            await kafka.start()
        except Exception as exc:
            log.warning("results.connect_failed", error=str(exc)[:200])
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)
            continue
        try:
            while not stop.is_set():
                batches = await kafka.getmany(timeout_ms=200, max_records=500)
                for tp, records in batches.items():
                    try:
                        await consumer.handle_batch([decode(r.value) for r in records])
                    except Exception as exc:
                        log.error("results.consume_failed", error=str(exc)[:200])
                        kafka.seek(tp, records[0].offset)  # redelivered next round
                        await asyncio.sleep(0.5)
                        continue
                    await kafka.commit({tp: records[-1].offset + 1})
        except Exception as exc:
            log.warning("results.consumer_failed", error=str(exc)[:200])
        finally:
            with suppress(Exception):
                await kafka.stop()
