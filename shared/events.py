"""Events, their envelope and the registry that maps stored rows back to typed events.

An event type never changes meaning. A new shape is a new ``schema_version`` of the same
``event_type`` plus an upcaster from the previous version; stored events are never rewritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A past-tense fact. Subclasses set ``event_type`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Actor(BaseModel):
    """Who caused an event: the token's subject, the role used and the region (KATO)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: str
    region: str | None = None


SYSTEM = Actor(id="system", role="system")


class Metadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    occurred_at: datetime
    recorded_at: datetime
    actor: Actor
    correlation_id: str
    causation_id: str | None = None


class Envelope(BaseModel):
    """A stored (or published) event with everything an auditor needs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service: str
    global_position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    payload: dict[str, Any]
    metadata: Metadata
    prev_hash: str
    hash: str

    @property
    def event_id(self) -> UUID:
        return self.metadata.event_id

    @property
    def actor(self) -> Actor:
        return self.metadata.actor


E = TypeVar("E", bound=type[Event])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
Downcaster = Callable[[dict[str, Any]], dict[str, Any] | None]


class UnknownEvent(LookupError):
    pass


class EventRegistry:
    """Maps (event_type, schema_version) to a class; upcasts old payloads to the newest."""

    def __init__(self) -> None:
        self._latest: dict[str, type[Event]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._downcasters: dict[tuple[str, int], Downcaster] = {}

    def register(self, cls: E) -> E:
        current = self._latest.get(cls.event_type)
        if current is None or current.schema_version < cls.schema_version:
            self._latest[cls.event_type] = cls
        return cls

    def upcaster(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def downcaster(self, event_type: str, from_version: int) -> Callable[[Downcaster], Downcaster]:
        """Register ``from_version`` → ``from_version - 1`` for a payload the older version can
        express (the function returns None when it cannot)."""

        def deco(fn: Downcaster) -> Downcaster:
            self._downcasters[(event_type, from_version)] = fn
            return fn

        return deco

    def as_written(
        self, event_type: str, schema_version: int, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """The oldest version that says all the payload says, and its payload: a document that
        records events (a signed protocol) writes them so, and keeps its digest byte for byte
        when a newer version of an event appears."""
        version = schema_version
        while (down := self._downcasters.get((event_type, version))) is not None:
            older = down(payload)
            if older is None:
                break
            version, payload = version - 1, older
        return version, payload

    def include(self, other: EventRegistry) -> None:
        for cls in other._latest.values():
            self.register(cls)
        self._upcasters.update(other._upcasters)
        self._downcasters.update(other._downcasters)

    def types(self) -> Iterable[type[Event]]:
        return self._latest.values()

    def knows(self, event_type: str) -> bool:
        return event_type in self._latest

    def decode(self, event_type: str, schema_version: int, payload: dict[str, Any]) -> Event:
        cls = self._latest.get(event_type)
        if cls is None:
            raise UnknownEvent(event_type)
        version = schema_version
        while version < cls.schema_version:
            payload = self._upcasters[(event_type, version)](payload)
            version += 1
        return cls.model_validate(payload)

    def load(self, envelope: Envelope) -> Event:
        return self.decode(envelope.event_type, envelope.schema_version, envelope.payload)

    def newest(
        self, event_type: str, schema_version: int, payload: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        """(version, payload) of the newest version of the event: an older one upcast (and
        validated), the newest or an unknown type as it is."""
        cls = self._latest.get(event_type)
        if cls is None or schema_version >= cls.schema_version:
            return schema_version, payload
        return cls.schema_version, self.decode(event_type, schema_version, payload).to_payload()


Readers = Mapping[str, EventRegistry]
"""The registries of the services whose events a reader reads, by service: wired by the
composition root (no service imports another), so that every reader — an aggregate, a
consumer, a projection, the replay — sees an old event as its newest version."""


def upcast(readers: Readers, envelope: Envelope) -> Envelope:
    """``envelope`` with its payload as the newest version of its event (the stored bytes, and
    so the hash chain, are untouched: this is what a reader sees)."""
    registry = readers.get(envelope.service)
    if registry is None:
        return envelope
    version, payload = registry.newest(
        envelope.event_type, envelope.schema_version, envelope.payload
    )
    if version == envelope.schema_version:
        return envelope
    return envelope.model_copy(update={"schema_version": version, "payload": payload})


def upcast_doc(readers: Readers, event: dict[str, Any]) -> dict[str, Any]:
    """:func:`upcast` of an envelope as JSON (a replay reads them so)."""
    registry = readers.get(event["service"])
    if registry is None:
        return event
    version, payload = registry.newest(
        event["event_type"], event["schema_version"], event["payload"]
    )
    if version == event["schema_version"]:
        return event
    return {**event, "schema_version": version, "payload": payload}
