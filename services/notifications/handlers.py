"""Commands and consumer effects of the notifications service (one transaction each).

Documents (read models, not the record): ``notifications`` (one per message: its status,
attempts, last error), ``outbox`` (the messages still to send, with their next attempt time),
``subscriptions`` and ``webhook_secrets`` (an integrator's endpoint; the secret never leaves
this database), ``webhook_bodies`` (the result events to deliver, by event id).
"""

from __future__ import annotations

from typing import Any

from services.notifications.adapters import contacts
from services.notifications.domain.commands import (
    EraseContact,
    QueueNotification,
    QueueWebhooks,
    RecordContact,
    RecordFailed,
    RecordSent,
    Redeliver,
    Requeue,
    Subscribe,
    Unsubscribe,
)
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
from shared.events import SYSTEM, Envelope, Event
from shared.handlers import Cause, append
from shared.store.eventstore import UnitOfWork

NOTIFICATIONS = "notifications"
OUTBOX = "outbox"
SUBSCRIPTIONS = "subscriptions"
SECRETS = "webhook_secrets"
BODIES = "webhook_bodies"


def stream_of(nid: str) -> str:
    return f"notification-{nid}"


async def _recorded(
    uow: UnitOfWork, stream_id: str, version: int | None, event: Event, cause: Cause
) -> list[Envelope]:
    """Append ``event`` as ``cause`` (its actor, correlation and causation), stamped when it is
    recorded (the store's clock) — not at ``cause.at``, which these events never carried: the
    business time of a queued message is its document's ``queued_at``, of a requeued one its
    outbox time."""
    return await uow.append(
        stream_id, version, [event], cause.actor, cause.correlation_id, cause.causation_id
    )


QUEUED = {"status": "queued", "attempts": 0, "last_error": None}  # a new message's delivery


async def queue(
    uow: UnitOfWork, command: QueueNotification, cause: Cause, *, rules: NotificationRules
) -> str | None:
    """Queue one message; ``None`` when this cause already queued it (a redelivery)."""
    c = command
    nid = notification_id(c.because, c.recipient, c.template, c.channel)
    if await uow.stream_version(stream_of(nid)) > 0:
        return None
    language = await contacts.language(uow, c.recipient, rules.default_language)
    event = NotificationQueued(
        notification_id=nid,
        recipient=c.recipient,
        role=c.role,
        channel=c.channel,
        template=c.template,
        language=language,
        params=c.params,
        cause_event_id=c.because,
    )
    await _recorded(uow, stream_of(nid), 0, event, cause)
    await uow.docs.put(
        NOTIFICATIONS,
        nid,
        {
            **event.model_dump(mode="json", exclude={"params", "cause_event_id"}),
            **QUEUED,
            "queued_at": cause.at.isoformat(),
            **(c.extra or {}),
        },
    )
    await uow.docs.put(OUTBOX, nid, {"next_at": uow.store.clock().isoformat()})
    return nid


async def record_sent(uow: UnitOfWork, command: RecordSent, cause: Cause) -> None:
    """The message went out at ``cause.at``."""
    nid, at = command.notification_id, cause.at
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None or doc["status"] == "sent":
        return
    event = NotificationSent(
        notification_id=nid, channel=doc["channel"], attempt=command.attempt, sent_at=at
    )
    await append(uow, stream_of(nid), None, [event], cause)
    await uow.docs.put(
        NOTIFICATIONS,
        nid,
        {**doc, "status": "sent", "attempts": command.attempt, "sent_at": at.isoformat()},
    )
    await uow.docs.delete(OUTBOX, nid)


async def record_failed(
    uow: UnitOfWork, command: RecordFailed, cause: Cause, *, rules: NotificationRules
) -> None:
    """Record a failed attempt (at ``cause.at``): retried after a backoff, or final (a dead
    letter) at the channel's limit or when the refusal is ``permanent``."""
    nid, attempt, at, error = command.notification_id, command.attempt, cause.at, command.error
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None or doc["status"] == "sent":
        return
    final = command.permanent or attempt >= max_attempts(rules, doc["channel"])
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
    await append(uow, stream_of(nid), None, [event], cause)
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


async def requeue(uow: UnitOfWork, command: Requeue, cause: Cause) -> bool:
    """Queue a sent or dead-lettered message again (a redelivery on request), due at
    ``cause.at``; False when it is already waiting to be sent."""
    nid = command.notification_id
    doc = await uow.docs.get(NOTIFICATIONS, nid)
    if doc is None:
        raise NotFound("notification_not_found", f"no notification {nid}")
    if await uow.docs.get(OUTBOX, nid) is not None:
        return False  # already waiting to be sent
    event = NotificationRequeued(notification_id=nid, reason=command.reason)
    await _recorded(uow, stream_of(nid), None, event, cause)
    await uow.docs.put(NOTIFICATIONS, nid, {**doc, "status": "queued", "attempts": 0})
    await uow.docs.put(OUTBOX, nid, {"next_at": cause.at.isoformat()})
    return True


# --- contacts ----------------------------------------------------------------------------


async def record_contact(uow: UnitOfWork, command: RecordContact, cause: Cause) -> None:
    c = command
    await contacts.put(uow, c.recipient, c.email, c.language)
    event = ContactRecorded(recipient=c.recipient, channel="email", language=c.language)
    await _recorded(uow, f"contact-{c.recipient}", None, event, cause)


async def erase_contact(uow: UnitOfWork, command: EraseContact, cause: Cause) -> None:
    recipient = command.recipient
    if not await contacts.erase(uow, recipient):
        raise NotFound("contact_not_found", f"no contact is recorded for {recipient}")
    event = ContactErased(recipient=recipient, reason=command.reason)
    await _recorded(uow, f"contact-{recipient}", None, event, cause)


# --- webhooks ----------------------------------------------------------------------------


async def subscribe(uow: UnitOfWork, command: Subscribe, cause: Cause) -> None:
    c, sid = command, command.subscription_id
    if await uow.docs.get(SUBSCRIPTIONS, sid) is not None:
        raise Conflict("subscription_exists", f"subscription {sid} exists")
    event = WebhookSubscribed(
        subscription_id=sid,
        integrator=f"integrator:{c.integrator}",
        url=c.url,
        event_types=c.event_types,
    )
    await _recorded(uow, f"subscription-{sid}", 0, event, cause)
    await uow.docs.put(
        SUBSCRIPTIONS,
        sid,
        {
            "subscription_id": sid,
            "integrator": c.integrator,
            "url": c.url,
            "event_types": list(c.event_types),
            "active": True,
        },
    )
    await uow.docs.put(SECRETS, sid, {"secret": c.secret})


async def unsubscribe(uow: UnitOfWork, command: Unsubscribe, cause: Cause) -> None:
    sid = command.subscription_id
    doc = await uow.docs.get(SUBSCRIPTIONS, sid)
    if doc is None or not doc["active"]:
        raise NotFound("subscription_not_found", f"no active subscription {sid}")
    event = WebhookUnsubscribed(subscription_id=sid, integrator=f"integrator:{doc['integrator']}")
    await _recorded(uow, f"subscription-{sid}", None, event, cause)
    await uow.docs.put(SUBSCRIPTIONS, sid, {**doc, "active": False})
    await uow.docs.delete(SECRETS, sid)


def wants(subscription: dict[str, Any], event_type: str) -> bool:
    types = subscription.get("event_types") or []
    return bool(subscription.get("active")) and ("*" in types or event_type in types)


async def queue_webhooks(
    uow: UnitOfWork, command: QueueWebhooks, cause: Cause, *, rules: NotificationRules
) -> list[str]:
    """Queue a result event for every active subscription that wants it (or ``only`` one);
    ``cause`` is the event's (:meth:`Cause.of_event`), its id what each message is due to."""
    envelope = command.envelope
    await uow.docs.put(
        BODIES,
        str(envelope.event_id),
        {"position": envelope.global_position, **envelope.model_dump(mode="json")},
    )
    queued = []
    for key, sub in await uow.docs.list(SUBSCRIPTIONS):
        if (command.only is not None and key != command.only) or not wants(
            sub, envelope.event_type
        ):
            continue
        message = QueueNotification(
            because=str(envelope.event_id),
            recipient=f"integrator:{sub['integrator']}",
            role="integrator",
            template=envelope.event_type,
            params={"subscription_id": key, "event_id": str(envelope.event_id)},
            channel="webhook",
            extra={
                "subscription_id": key,
                "event_id": str(envelope.event_id),
                "event_type": envelope.event_type,
                "position": envelope.global_position,
            },
        )
        nid = await queue(uow, message, cause, rules=rules)
        if nid:
            queued.append(nid)
    return queued


async def redeliver_from(
    uow: UnitOfWork, command: Redeliver, cause: Cause, *, rules: NotificationRules
) -> list[str]:
    """Deliver again, to one subscription, every result event from ``position`` on (a
    message already delivered or dead-lettered is requeued as ``cause``; one never queued is
    queued as its event's consumer would have)."""
    sid, position = command.subscription_id, command.position
    sub = await uow.docs.get(SUBSCRIPTIONS, sid)
    if sub is None or not sub["active"]:
        raise NotFound("subscription_not_found", f"no active subscription {sid}")
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
            await queue_webhooks(
                uow,
                QueueWebhooks(envelope, only=sid),
                Cause.of_event(envelope, SYSTEM),
                rules=rules,
            )
            requeued.append(nid)
        elif await requeue(uow, Requeue(nid, f"redelivery from position {position}"), cause):
            requeued.append(nid)
    return requeued


# --- the award ceremony (§22–§23) ----------------------------------------------------------


async def record_ceremony(
    uow: UnitOfWork, command: AwardCeremonyRecorded, cause: Cause
) -> list[Envelope]:
    return await _recorded(uow, f"ceremony-{command.commission_id}", None, command, cause)
