"""The service-layer shape every command handler shares: load a stream, decide, append.

Every service's ``handlers.py`` has one call shape (``tests/unit/kernel/test_handler_shape.py``
holds every public coroutine there to it)::

    async def verb(uow: UnitOfWork, command: Command, cause: Cause, *, deps...) -> Result

* ``uow`` — the caller's transaction (an HTTP command's, or a consumer's batch);
* ``command`` — a value the service defines (a frozen dataclass or a pydantic model) that names
  what the command acts on and with what (``commands`` when several are one decision);
* ``cause`` — who asks, under which correlation id, because of which event, at which business
  time: an HTTP route builds it from the principal, a consumer from the event it applies
  (:meth:`Cause.of_event`);
* ``deps`` — what the handler needs beyond the store (a repository, the edition's figures, the
  pepper), by keyword only.

Reads that decide nothing (a query, a stream's state) live beside the store, in the service's
``adapters/``.
"""

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
    """Who asks, under which correlation id, at which business time (``ServiceContext.now``),
    and the event it follows from (``causation_id``) when a consumer acts."""

    actor: Actor
    correlation_id: str
    at: datetime
    causation_id: str | None = None

    @classmethod
    def of_event(cls, envelope: Envelope, actor: Actor, at: datetime | None = None) -> Cause:
        """What an event makes ``actor`` do: its correlation, its id as the causation, at ``at``
        (default: when the event occurred)."""
        meta = envelope.metadata
        return cls(actor, meta.correlation_id, at or meta.occurred_at, str(meta.event_id))


async def append(
    uow: UnitOfWork, stream_id: str, version: int | None, events: Sequence[Event], cause: Cause
) -> list[Envelope]:
    """Append ``events`` to ``stream_id`` at ``version`` (None: wherever it is) as ``cause``."""
    return await uow.append(
        stream_id, version, events, cause.actor, cause.correlation_id, cause.causation_id, cause.at
    )


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
    cause: Cause,
) -> list[Envelope]:
    """Load → decide → append at the loaded version (a race loses with a 409)."""
    state, version = await load_state(uow, stream_id, registry, evolve)
    return await append(uow, stream_id, version, decide(state), cause)
