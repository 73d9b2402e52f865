"""The events of an application reach ``<prefix>.nominations.events`` on Kafka, in order."""

from __future__ import annotations

import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.relay import topic_for
from shared.runtime import ServiceRuntime

from .support import Nominations

ADMITTED = [
    "ApplicationSubmitted",
    *["DocumentAttached"] * 8,  # the seven of §9 and the essay (§14.4)
    "ApplicationAdmitted",
    "QuestionnaireScored",
    "QuestionnaireScoreConfirmed",
]


async def records_of(
    bootstrap: str, topic: str, key: str, expect: int, timeout: float = 30
) -> list[dict[str, Any]]:
    """The records of ``key`` on ``topic`` from offset zero, once ``expect`` have arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                found += [json.loads(r.value) for r in records if r.key == key.encode()]
    finally:
        await consumer.stop()
    return found


async def test_an_admitted_applications_events_arrive_on_the_topic_in_order(
    api: Nominations, runtime: ServiceRuntime, kafka_bootstrap: str
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.attach_all(application)
    assert (await api.check(application)).json()["status"] == "admitted"
    url = f"/v1/applications/{application}/questionnaire-score/confirmation"
    assert (await api.client.post(url, headers=api.secretary)).status_code == 201

    topic = topic_for("nominations", runtime.settings.topic_prefix)
    stream = f"application-{application}"
    published = await records_of(kafka_bootstrap, topic, stream, len(ADMITTED))
    assert [r["event_type"] for r in published] == ADMITTED
    assert [r["stream_version"] for r in published] == list(range(1, len(ADMITTED) + 1))
    positions = [r["global_position"] for r in published]
    assert positions == sorted(positions)
    actors = {(r["event_type"], r["metadata"]["actor"]["role"]) for r in published}
    assert ("ApplicationAdmitted", "secretary") in actors
    assert ("QuestionnaireScored", "system") in actors
