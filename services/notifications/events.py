"""Public contract of the notifications service (``uzdik.notifications.events``).

Privacy: no event here carries an address, a phone number or a webhook secret. A person is a
*recipient reference* (``user:<token subject>``, ``candidate:<application id>``,
``person:<commission person id>``); an integrator is ``integrator:<id>``. Addresses live in
the service's own database only, outside the hash chain (:mod:`.adapters.contacts`), so they
can be erased on request and the chain stays valid.

Every message is a stream ``notification-<notification_id>``: NotificationQueued, then one
NotificationFailed per failed attempt (``final`` on the last), or NotificationSent. The id is
``uuid5`` of (cause event, recipient, template, channel): a redelivered cause queues nothing
twice even if the consumer's tracking were lost.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from shared.events import Event, EventRegistry

registry = EventRegistry()

Channel = Literal["email", "webhook"]
Language = Literal["kk", "ru"]
Reference = Annotated[
    str,
    Field(
        pattern=r"^(user|candidate|person|integrator):[^\s@]{1,120}$",
        description="a recipient reference, never an address",
    ),
]
Id = Annotated[str, Field(min_length=1, max_length=64)]


@registry.register
class NotificationQueued(Event):
    """A message to a recipient was decided and waits for its channel."""

    event_type = "NotificationQueued"
    schema_version = 1

    notification_id: Id
    recipient: Reference
    role: str = Field(description="why this recipient: nominator, candidate, member, ...")
    channel: Channel
    template: str = Field(description="template key (email) or the result event type (webhook)")
    language: Language
    params: dict[str, Any] = Field(
        default_factory=dict, description="what the template is filled with (no address)"
    )
    cause_event_id: str = Field(description="the event that made it due")


@registry.register
class NotificationSent(Event):
    """The channel accepted the message (SMTP relay: 250; webhook endpoint: 2xx)."""

    event_type = "NotificationSent"
    schema_version = 1

    notification_id: Id
    channel: Channel
    attempt: int = Field(ge=1)
    sent_at: datetime


@registry.register
class NotificationFailed(Event):
    """An attempt failed; ``final``: no more attempts (dead letter), else ``retry_at``."""

    event_type = "NotificationFailed"
    schema_version = 1

    notification_id: Id
    channel: Channel
    attempt: int = Field(ge=1)
    error: str = Field(max_length=500)
    final: bool
    retry_at: datetime | None = None
    failed_at: datetime


@registry.register
class NotificationRequeued(Event):
    """A dead-lettered (or any) notification was queued again on request (redelivery)."""

    event_type = "NotificationRequeued"
    schema_version = 1

    notification_id: Id
    reason: str = Field(max_length=500)


@registry.register
class ContactRecorded(Event):
    """An address was recorded for a recipient (the address itself is not in the event)."""

    event_type = "ContactRecorded"
    schema_version = 1

    recipient: Reference
    channel: Literal["email"]
    language: Language


@registry.register
class ContactErased(Event):
    """A recipient's addresses were erased on request; later messages to them cannot be sent."""

    event_type = "ContactErased"
    schema_version = 1

    recipient: Reference
    reason: str = Field(max_length=500)


@registry.register
class WebhookSubscribed(Event):
    """An integrator subscribed an endpoint to result event types (the secret is not here)."""

    event_type = "WebhookSubscribed"
    schema_version = 1

    subscription_id: Id
    integrator: Reference
    url: str
    event_types: tuple[str, ...] = Field(min_length=1)


@registry.register
class WebhookUnsubscribed(Event):
    event_type = "WebhookUnsubscribed"
    schema_version = 1

    subscription_id: Id
    integrator: Reference


@registry.register
class AwardCeremonyRecorded(Event):
    """§22–§23: the organiser recorded the time and place of the award ceremony."""

    event_type = "AwardCeremonyRecorded"
    schema_version = 1

    commission_id: Id
    at: datetime
    place_kk: str = Field(min_length=1, max_length=500)
    place_ru: str = Field(min_length=1, max_length=500)
    diploma: bool = Field(description="a diploma is awarded (§23)")
    gift: str = Field("", max_length=500, description="the valuable gift, as recorded (§23)")
