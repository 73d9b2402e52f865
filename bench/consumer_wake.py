"""The consumers' share of a score's way to the rating: from Kafka's acknowledgement of a record
to the consumer's ``handle_batch`` being called with it, for records sent one at a time at an
idle service's pace (a score every 200 ms), no database.

Two transports over the same broker, alternated ``--rounds`` times in one run: the reference,
FastStream's batch subscriber (``UZDIK_KAFKA_CONSUMER=faststream``: a 50 ms poll, then a 50 ms
sleep when it was empty), and ``shared.follow.feed`` (the default). The consumer reads the three
topics reporting reads. Last line:
``consumer_wake events=<n> p50_ms=<n> p99_ms=<n> reference_p50_ms=<n> reference_p99_ms=<n>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from aiokafka import AIOKafkaProducer

from bench.common import delete_topics, ensure_services, say
from bench.latency import quantile
from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import feed
from shared.kafka import ensure_topics, make_broker, subscribe
from shared.relay import topic_for

SOURCES = ["nominations", "scoring", "survey"]


class Clocked(Consumer):
    """Notes when each stream's event reached ``handle_batch``; applies nothing."""

    reached: dict[str, float]

    async def handle_batch(self, envelopes: list[Envelope]) -> int:
        now = time.time()
        for envelope in envelopes:
            self.reached.setdefault(envelope.stream_id, now)
        return len(envelopes)


def envelope(stream_id: str, position: int) -> bytes:
    return json.dumps(
        {
            "event_type": "ScoreRecorded",
            "global_position": position,
            "hash": "0" * 64,
            "prev_hash": "0" * 64,
            "metadata": {
                "event_id": str(uuid.uuid4()),
                "occurred_at": "2026-12-04T00:00:00+00:00",
                "recorded_at": "2026-12-04T00:00:00+00:00",
                "actor": {"id": "bench", "role": "member"},
                "correlation_id": stream_id,
                "causation_id": None,
            },
            "payload": {},
            "schema_version": 1,
            "service": "scoring",
            "stream_id": stream_id,
            "stream_version": 1,
        }
    ).encode()


async def one(bootstrap: str, transport: str, events: int) -> list[float]:
    prefix = f"benchwake{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic_for(s, prefix) for s in SOURCES])
    consumer = Clocked("reporting", None, SOURCES)  # type: ignore[arg-type]
    consumer.reached = {}
    stop, broker = asyncio.Event(), make_broker(bootstrap)
    task: asyncio.Task[None] | None = None
    if transport == "faststream":
        subscribe(broker, consumer, prefix)
    else:
        task = asyncio.create_task(feed(consumer, bootstrap, prefix, stop))
    await broker.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    acked: dict[str, float] = {}
    try:
        await asyncio.sleep(6)  # the group is joined
        for n in range(events):
            await asyncio.sleep(0.2)
            stream = f"sheet-{n}"
            await producer.send_and_wait(
                topic_for("scoring", prefix), envelope(stream, n + 1), key=stream.encode()
            )
            acked[stream] = time.time()
        await asyncio.sleep(1)
    finally:
        await producer.stop()
        stop.set()
        if task is not None:
            await task
        await broker.stop()
        await delete_topics(bootstrap, prefix)
    return [max(0.0, consumer.reached[s] - t) * 1000 for s, t in acked.items()]


async def run(bootstrap: str, rounds: int, events: int) -> str:
    got: dict[str, list[float]] = {"feed": [], "faststream": []}
    for r in range(rounds):
        for transport in ("faststream", "feed") if r % 2 == 0 else ("feed", "faststream"):
            delays = await one(bootstrap, transport, events)
            got[transport] += delays
            say(
                f"round {r + 1} {transport}: p50 {quantile(delays, 0.5):.1f} ms, p99 "
                f"{quantile(delays, 0.99):.1f} ms (load {os.getloadavg()[0]:.1f})"
            )
    new, ref = got["feed"], got["faststream"]
    return (
        f"consumer_wake events={len(new)} p50_ms={quantile(new, 0.5):.1f} "
        f"p99_ms={quantile(new, 0.99):.1f} reference_p50_ms={quantile(ref, 0.5):.1f} "
        f"reference_p99_ms={quantile(ref, 0.99):.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--events", type=int, default=100, help="records a transport, a round")
    args = parser.parse_args()
    services = ensure_services()
    print(asyncio.run(run(services.bootstrap, args.rounds, args.events)), flush=True)


if __name__ == "__main__":
    main()
