"""Events as the store keeps them, made before the append lock: the payload's and the
metadata's canonical texts. Appending a :class:`Rendered` event only places it (position,
version) and links it; a writer of many events renders them all while others hold the lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from shared.events import Actor, Event, Metadata
from shared.ids import uuid4 as random_uuid
from shared.store.canonical import canonical_json_fast


@dataclass(frozen=True)
class NewEvent:
    """An event to append, with its cause."""

    event: Event
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class Rendered:
    """An event with its metadata and their canonical texts, made by :func:`render` before the
    append lock is taken: appending it only places it (position, version) and links it."""

    event: Event
    payload: dict[str, Any]
    payload_text: str
    metadata: Metadata
    metadata_text: str


def render(
    event: Event,
    actor: Actor,
    correlation_id: str,
    *,
    recorded_at: datetime,
    occurred_at: datetime | None = None,
    causation_id: str | None = None,
) -> Rendered:
    """``event`` as the store will keep it, but for its place in the log: what a writer can
    prepare before it holds the lock every other writer of the service waits for."""
    renderer = Renderer(
        actor,
        correlation_id,
        recorded_at=recorded_at,
        occurred_at=occurred_at,
        causation_id=causation_id,
    )
    return renderer.render(event)


_TEMPLATE_ID = UUID("00000000-0000-4000-8000-0000000000e1")


class Renderer:
    """:func:`render` for many events with the same metadata but their ids (a batch of one
    writer's events): the metadata's text is made once, and each event's is that text with
    its own id spliced in — the very text :func:`render` makes (canonical JSON: the id is one
    string value among the sorted keys)."""

    def __init__(
        self,
        actor: Actor,
        correlation_id: str,
        *,
        recorded_at: datetime,
        occurred_at: datetime | None = None,
        causation_id: str | None = None,
    ) -> None:
        self._meta = Metadata(
            event_id=_TEMPLATE_ID,
            occurred_at=occurred_at or recorded_at,
            recorded_at=recorded_at,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        text = canonical_json_fast(self._meta.model_dump(mode="json"))
        marker = f'"event_id":"{_TEMPLATE_ID}"'
        if text.count(str(_TEMPLATE_ID)) != 1 or marker not in text:
            raise AssertionError("the metadata template must name its event id once")
        self._before, self._after = text.split(str(_TEMPLATE_ID))

    def render(self, event: Event) -> Rendered:
        event_id = random_uuid()
        payload = event.to_payload()
        return Rendered(
            event,
            payload,
            canonical_json_fast(payload),
            self._meta.model_copy(update={"event_id": event_id}),
            f"{self._before}{event_id}{self._after}",
        )
