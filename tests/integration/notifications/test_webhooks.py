"""Webhooks for integrators (Standard Webhooks signatures), from ``uzdik.results``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from services.notifications.domain.signing import verify
from services.reporting.events import FinalistsPublished, NomineesPublished
from shared.events import SYSTEM
from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import Relay
from shared.store.eventstore import EventStore, open_store

from .conftest import Receiver, World, wait_for

FINALIST = FinalistsPublished(
    edition_id="e-2020",
    region="190000000",
    candidate_id="c-19",
    name="Finalist of Almaty region",
    regional_total="87.5000",
    components=({"name": "stage1", "value": "40", "weight": "0.5", "weighted": "20"},),
)
NOMINEES = NomineesPublished(
    edition_id="e-2020", region="190000000", commission_id="k", nominees=()
)


@asynccontextmanager
async def results_published(
    world: World, make_url: Callable[[], Awaitable[str]]
) -> AsyncIterator[EventStore]:
    """Reporting's outbox and its relay to ``<prefix>.results`` (as reporting runs it)."""
    store = open_store("reporting", await make_url())
    await upgrade(store.engine)
    publisher = KafkaPublisher(world.settings.kafka_bootstrap_servers or "")
    relay = Relay(
        store, publisher, topic=f"{world.settings.topic_prefix}.results", idle_seconds=0.02
    )
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield store
    finally:
        stop.set()
        await task
        await publisher.close()
        await store.close()


async def subscribe(world: World, receiver: Receiver, types: list[str]) -> tuple[str, str]:
    organiser = world.bearer("organiser-1", ["organiser"])
    body = {"integrator": "akimat-site", "url": receiver.url, "event_types": types}
    r = await world.client.post("/v1/webhooks/subscriptions", json=body, headers=organiser)
    assert r.status_code == 201, r.text
    return r.json()["subscription_id"], r.json()["secret"]


async def deliveries(world: World, sid: str) -> list[dict[str, Any]]:
    auditor = world.bearer("auditor-1", ["auditor"])
    r = await world.client.get(f"/v1/webhooks/deliveries?subscription_id={sid}", headers=auditor)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_an_endpoint_failing_twice_gets_the_event_on_the_third_try_with_a_valid_signature(
    world: World, receiver: Receiver, pg_url_factory: Callable[[], Awaitable[str]]
) -> None:
    receiver.fail_first = 2
    organiser = world.bearer("organiser-1", ["organiser"])
    bad = {
        "integrator": "x",
        "url": receiver.url,
        "event_types": ["*"],
        "secret": "whsec_" + "!" * 30,
    }
    refused = await world.client.post("/v1/webhooks/subscriptions", json=bad, headers=organiser)
    assert refused.status_code == 400, refused.text  # a secret no one could sign with
    assert refused.json()["errors"][0]["field"] == "secret"
    sid, secret = await subscribe(world, receiver, ["FinalistsPublished"])
    assert secret.startswith("whsec_")
    async with results_published(world, pg_url_factory) as reporting:
        await reporting.append("results-nominees-k", None, [NOMINEES], SYSTEM)  # not wanted
        await reporting.append("results-finalists-190000000", None, [FINALIST], SYSTEM)

        async def delivered() -> bool:
            found = await deliveries(world, sid)
            return bool(found) and found[0]["status"] == "sent"

        await wait_for(delivered)
    assert len(receiver.requests) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert len(ids) == 1  # one message, three attempts: the receiver can deduplicate
    headers, body = receiver.requests[-1]
    assert verify(
        secret,
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        body,
        headers["webhook-signature"],
    )
    assert not verify(
        "whsec_" + "A" * 32,
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        body,
        headers["webhook-signature"],
    )
    sent = json.loads(body)
    assert sent["event_type"] == "FinalistsPublished"
    assert sent["payload"]["candidate_id"] == "c-19"
    [item] = await deliveries(world, sid)  # the nominees were not subscribed to
    assert (item["status"], item["attempts"], item["event_type"]) == (
        "sent",
        3,
        "FinalistsPublished",
    )
    stream = await world.notifications.store.load(f"notification-{item['notification_id']}")
    assert [e.event_type for e in stream] == [
        "NotificationQueued",
        "NotificationFailed",
        "NotificationFailed",
        "NotificationSent",
    ]
    assert all(b"whsec_" not in json.dumps(e.payload).encode() for e in await world.events())


async def test_a_delivery_is_dead_lettered_after_the_limit_and_redelivered_from_a_position(
    world: World, receiver: Receiver, pg_url_factory: Callable[[], Awaitable[str]]
) -> None:
    receiver.fail_first = 1000  # down
    sid, _ = await subscribe(world, receiver, ["*"])
    async with results_published(world, pg_url_factory) as reporting:
        [nominees] = await reporting.append("results-nominees-k", None, [NOMINEES], SYSTEM)
        [finalist] = await reporting.append("results-finalists-190000000", None, [FINALIST], SYSTEM)

        async def dead() -> bool:
            found = await deliveries(world, sid)
            return len(found) == 2 and all(d["status"] == "dead" for d in found)

        await wait_for(dead)
    assert len(receiver.requests) == 2 * 4  # the limit (RULES: 4 attempts) for each
    finals = [e for e in await world.events("NotificationFailed") if e.payload["final"]]
    assert len(finals) == 2
    receiver.fail_first = 0  # back up: nothing is lost, it is redelivered from a position
    receiver.requests.clear()
    organiser = world.bearer("organiser-1", ["organiser"])
    url = f"/v1/webhooks/subscriptions/{sid}/redelivery"
    r = await world.client.post(
        url, json={"from_position": finalist.global_position}, headers=organiser
    )
    assert r.status_code == 202, r.text
    assert len(r.json()["requeued"]) == 1

    async def finalist_sent() -> bool:
        found = {d["event_type"]: d["status"] for d in await deliveries(world, sid)}
        return found == {"NomineesPublished": "dead", "FinalistsPublished": "sent"}

    await wait_for(finalist_sent)
    assert [json.loads(b)["event_type"] for _, b in receiver.requests] == ["FinalistsPublished"]
    assert nominees.global_position < finalist.global_position
    forbidden = await world.client.post(
        url, json={"from_position": 0}, headers=world.bearer("a-1", ["auditor"])
    )
    assert forbidden.status_code == 403
