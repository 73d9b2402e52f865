"""The service-layer shape every command handler shares: load a stream, decide, append."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.events import Actor, Envelope, Event, EventRegistry
from shared.store.eventstore import UnitOfWork

S = TypeVar("S")


@dataclass(frozen=True)
class Cause:
    """Who asks, under which correlation id, at which business time (``ServiceContext.now``)."""

    actor: Actor
    correlation_id: str
    at: datetime
    causation_id: str | None = None


async def load_state(
    uow: UnitOfWork,
    stream_id: str,
    registry: EventRegistry,
    evolve: Callable[[S | None, Event], S],
) -> tuple[S | None, int]:
    """Fold a stream into its state; return it with the stream's version."""
    state: S | None = None
    history = await uow.load(stream_id)
    for envelope in history:
        state = evolve(state, registry.load(envelope))
    return state, len(history)


async def execute(
    uow: UnitOfWork,
    stream_id: str,
    registry: EventRegistry,
    evolve: Callable[[S | None, Event], S],
    decide: Callable[[S | None], Sequence[Event]],
    actor: Actor,
    correlation_id: str,
    causation_id: str | None = None,
    occurred_at: datetime | None = None,
) -> list[Envelope]:
    """Load → decide → append at the loaded version (a race loses with a 409)."""
    state, version = await load_state(uow, stream_id, registry, evolve)
    events = decide(state)
    return await uow.append(
        stream_id, version, events, actor, correlation_id, causation_id, occurred_at
    )
