"""Commands: what a consumer, the sender, an organiser or an integrator asks the notifications
service to do — one value per handler of :mod:`services.notifications.handlers` (the award
ceremony's is its event, :class:`services.notifications.events.AwardCeremonyRecorded`).

Who asks, under which correlation id and at which time is the handler's
:class:`shared.handlers.Cause`, not the command's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.events import Envelope


@dataclass(frozen=True, kw_only=True)
class QueueNotification:
    """One message to one recipient. ``because`` is what made it due — the id of the event it
    follows from, or a key of its own (a reminder's, a stage's "closable") — and with the
    recipient, template and channel, the message's id: a cause queues a message once."""

    because: str
    recipient: str
    role: str
    template: str
    params: dict[str, Any]
    channel: str = "email"
    extra: dict[str, Any] | None = None  # more fields of the notification's document


@dataclass(frozen=True)
class RecordSent:
    notification_id: str
    attempt: int


@dataclass(frozen=True)
class RecordFailed:
    """A failed attempt; ``permanent``: a refusal no retry will change (a dead letter now)."""

    notification_id: str
    attempt: int
    error: str
    permanent: bool = False


@dataclass(frozen=True)
class Requeue:
    """Queue a sent or dead-lettered message again."""

    notification_id: str
    reason: str


@dataclass(frozen=True)
class RecordContact:
    recipient: str
    email: str = field(repr=False)
    language: str


@dataclass(frozen=True)
class EraseContact:
    recipient: str
    reason: str


@dataclass(frozen=True)
class Subscribe:
    subscription_id: str
    integrator: str
    url: str
    event_types: tuple[str, ...]
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Unsubscribe:
    subscription_id: str


@dataclass(frozen=True)
class QueueWebhooks:
    """Deliver a result event to every active subscription that wants it (or ``only`` one)."""

    envelope: Envelope
    only: str | None = None


@dataclass(frozen=True)
class Redeliver:
    """Deliver again, to one subscription, every result event from ``position`` on."""

    subscription_id: str
    position: int
