"""Commands and consumer effects of the notifications service (one transaction each).

Documents (read models, not the record): ``notifications`` (one per message: its status,
attempts, last error), ``outbox`` (the messages still to send, with their next attempt time),
``subscriptions`` and ``webhook_secrets`` (an integrator's endpoint; the secret never leaves
this database), ``webhook_bodies`` (the result events to deliver, by event id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notifications.adapters import contacts
from services.notifications.domain.edition_figures import NotificationRules, backoff, max_attempts
from services.notifications.domain.messages import notification_id
from services.notifications.events import (
    AwardCeremonyRecorded,
    ContactErased,
    ContactRecorded,
    NotificationFailed,
    NotificationQueued,
    NotificationRequeued,
    NotificationSent,
    WebhookSubscribed,
    WebhookUnsubscribed,
)
from shared.errors import Conflict, NotFound
from shared.events import SYSTEM, Actor, Envelope
from shared.handlers import Cause
from shared.store.eventstore import UnitOfWork

NOTIFICATIONS = "notifications"
OUTBOX = "outbox"
SUBSCRIPTIONS = "subscriptions"
SECRETS = "webhook_secrets"
BODIES = "webhook_bodies"


def stream_of(nid: str) -> str:
    return f"notification-{nid}"


@dataclass(frozen=True)
class Because:
    """What made a message due: an event (its id), or a reminder's own key."""

    cause_id: str
    correlation_id: str
    occurred_at: datetime
    causation_id: str | None = None

    @classmethod
    def of(cls, envelope: Envelope) -> Because:
        m = envelope.metadata
        return cls(str(m.event_id), m.correlation_id, m.occurred_at, str(m.event_id))


QUEUED = {"status": "queued", "attempts": 0, "last_error": None}  # a new message's delivery


async def queue(
    uow: UnitOfWork,
    rules: NotificationRules,
    cause: Envelope | Because,
    recipient: str,
    role: str,
    template: str,
    params: dict[str, Any],
    channel: str = "email",
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str | None:
    """Queue one message; ``None`` when this cause already queued it (a redelivery)."""
    why = cause if isinstance(cause, Because) else Because.of(cause)
    nid = notification_id(why.cause_id, recipient, template, channel)
    if await uow.stream_version(stream_of(nid)) > 0:
        return None
    language = await contacts.language(uow, recipient, rules.default_language)
    event = NotificationQueued(
        notification_id=nid,
        recipient=recipient,
        role=role,
        channel=channel,
        template=template,
        language=language,
        params=params,
        cause_event_id=why.cause_id,
    )
    await uow.append(stream_of(nid), 0, [event], SYSTEM, why.correlation_id, why.causation_id)
    await uow.docs.put(
        NOTIFICATIONS,
        nid,
        {
            **event.model_dump(mode="json", exclude={"params", "cause_event_id"}),
            **QUEUED,
            "queued_at": why.occurred_at.isoformat(),
            **(extra or {}),
        },
    )
    await uow.docs.put(OUTBOX, nid, {"next_at": (now or uow.store.clock()).isoformat()})
    return nid


async def record_sent(uow: UnitOfWork, nid: str, attempt: int, at: datetime) -> None:
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None or doc["status"] == "sent":
        return
    event = NotificationSent(
        notification_id=nid, channel=doc["channel"], attempt=attempt, sent_at=at
    )
    await uow.append(stream_of(nid), None, [event], SYSTEM, f"send-{nid}", occurred_at=at)
    await uow.docs.put(
        NOTIFICATIONS,
        nid,
        {**doc, "status": "sent", "attempts": attempt, "sent_at": at.isoformat()},
    )
    await uow.docs.delete(OUTBOX, nid)


async def record_failed(
    uow: UnitOfWork,
    rules: NotificationRules,
    nid: str,
    attempt: int,
    error: str,
    at: datetime,
    permanent: bool = False,
) -> None:
    """Record a failed attempt: retried after a backoff, or final (a dead letter) at the
    channel's limit or when the refusal is ``permanent``."""
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None or doc["status"] == "sent":
        return
    final = permanent or attempt >= max_attempts(rules, doc["channel"])
    retry_at = None if final else at + backoff(rules, attempt)
    event = NotificationFailed(
        notification_id=nid,
        channel=doc["channel"],
        attempt=attempt,
        error=error[:500],
        final=final,
        retry_at=retry_at,
        failed_at=at,
    )
    await uow.append(stream_of(nid), None, [event], SYSTEM, f"send-{nid}", occurred_at=at)
    status = "dead" if final else "retrying"
    await uow.docs.put(
        NOTIFICATIONS,
        nid,
        {**doc, "status": status, "attempts": attempt, "last_error": error[:500]},
    )
    if final:
        await uow.docs.delete(OUTBOX, nid)
    else:
        assert retry_at is not None
        await uow.docs.put(OUTBOX, nid, {"next_at": retry_at.isoformat()})


async def requeue(uow: UnitOfWork, nid: str, reason: str, cause: Cause) -> bool:
    """Queue a sent or dead-lettered message again (a redelivery on request)."""
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None:
        raise NotFound("notification_not_found", f"no notification {nid}")
    if await uow.docs.get(OUTBOX, nid) is not None:
        return False  # already waiting to be sent
    event = NotificationRequeued(notification_id=nid, reason=reason)
    await uow.append(stream_of(nid), None, [event], cause.actor, cause.correlation_id)
    await uow.docs.put(NOTIFICATIONS, nid, {**doc, "status": "queued", "attempts": 0})
    await uow.docs.put(OUTBOX, nid, {"next_at": cause.at.isoformat()})
    return True


# --- contacts ----------------------------------------------------------------------------


async def record_contact(
    uow: UnitOfWork, recipient: str, email: str, language: str, cause: Cause
) -> None:
    await contacts.put(uow, recipient, email, language)
    event = ContactRecorded(recipient=recipient, channel="email", language=language)
    await uow.append(f"contact-{recipient}", None, [event], cause.actor, cause.correlation_id)


async def erase_contact(uow: UnitOfWork, recipient: str, reason: str, cause: Cause) -> None:
    if not await contacts.erase(uow, recipient):
        raise NotFound("contact_not_found", f"no contact is recorded for {recipient}")
    event = ContactErased(recipient=recipient, reason=reason)
    await uow.append(f"contact-{recipient}", None, [event], cause.actor, cause.correlation_id)


# --- webhooks ----------------------------------------------------------------------------


async def subscribe(
    uow: UnitOfWork,
    subscription_id: str,
    integrator: str,
    url: str,
    event_types: list[str],
    secret: str,
    cause: Cause,
) -> None:
    if await uow.docs.get(SUBSCRIPTIONS, subscription_id) is not None:
        raise Conflict("subscription_exists", f"subscription {subscription_id} exists")
    event = WebhookSubscribed(
        subscription_id=subscription_id,
        integrator=f"integrator:{integrator}",
        url=url,
        event_types=tuple(event_types),
    )
    await uow.append(
        f"subscription-{subscription_id}", 0, [event], cause.actor, cause.correlation_id
    )
    await uow.docs.put(
        SUBSCRIPTIONS,
        subscription_id,
        {
            "subscription_id": subscription_id,
            "integrator": integrator,
            "url": url,
            "event_types": event_types,
            "active": True,
        },
    )
    await uow.docs.put(SECRETS, subscription_id, {"secret": secret})


async def unsubscribe(uow: UnitOfWork, subscription_id: str, cause: Cause) -> None:
    doc = await uow.docs.get(SUBSCRIPTIONS, subscription_id)
    if doc is None or not doc["active"]:
        raise NotFound("subscription_not_found", f"no active subscription {subscription_id}")
    event = WebhookUnsubscribed(
        subscription_id=subscription_id, integrator=f"integrator:{doc['integrator']}"
    )
    await uow.append(
        f"subscription-{subscription_id}", None, [event], cause.actor, cause.correlation_id
    )
    await uow.docs.put(SUBSCRIPTIONS, subscription_id, {**doc, "active": False})
    await uow.docs.delete(SECRETS, subscription_id)


def wants(subscription: dict[str, Any], event_type: str) -> bool:
    types = subscription.get("event_types") or []
    return bool(subscription.get("active")) and ("*" in types or event_type in types)


async def queue_webhooks(
    uow: UnitOfWork, rules: NotificationRules, envelope: Envelope, only: str | None = None
) -> list[str]:
    """Queue a result event for every active subscription that wants it (or ``only`` one)."""
    await uow.docs.put(
        BODIES,
        str(envelope.event_id),
        {"position": envelope.global_position, **envelope.model_dump(mode="json")},
    )
    queued = []
    for key, sub in await uow.docs.list(SUBSCRIPTIONS):
        if (only is not None and key != only) or not wants(sub, envelope.event_type):
            continue
        nid = await queue(
            uow,
            rules,
            envelope,
            f"integrator:{sub['integrator']}",
            "integrator",
            envelope.event_type,
            {"subscription_id": key, "event_id": str(envelope.event_id)},
            channel="webhook",
            extra={
                "subscription_id": key,
                "event_id": str(envelope.event_id),
                "event_type": envelope.event_type,
                "position": envelope.global_position,
            },
        )
        if nid:
            queued.append(nid)
    return queued


async def redeliver_from(
    uow: UnitOfWork, rules: NotificationRules, subscription_id: str, position: int, cause: Cause
) -> list[str]:
    """Deliver again, to one subscription, every result event from ``position`` on (a
    message already delivered or dead-lettered is requeued; one never queued is queued)."""
    sub = await uow.docs.get(SUBSCRIPTIONS, subscription_id)
    if sub is None or not sub["active"]:
        raise NotFound("subscription_not_found", f"no active subscription {subscription_id}")
    requeued = []
    bodies = sorted(
        (doc for _, doc in await uow.docs.list(BODIES)), key=lambda d: int(d["position"])
    )
    for body in bodies:
        if int(body["position"]) < position or not wants(sub, body["event_type"]):
            continue
        nid = notification_id(
            body["metadata"]["event_id"],
            f"integrator:{sub['integrator']}",
            body["event_type"],
            "webhook",
        )
        if await uow.docs.get(NOTIFICATIONS, nid) is None:
            envelope = Envelope.model_validate({k: v for k, v in body.items() if k != "position"})
            await queue_webhooks(uow, rules, envelope, only=subscription_id)
            requeued.append(nid)
        elif await requeue(uow, nid, f"redelivery from position {position}", cause):
            requeued.append(nid)
    return requeued


# --- the award ceremony (§22–§23) ----------------------------------------------------------


async def record_ceremony(
    uow: UnitOfWork, event: AwardCeremonyRecorded, actor: Actor, correlation_id: str
) -> list[Envelope]:
    return await uow.append(f"ceremony-{event.commission_id}", None, [event], actor, correlation_id)
