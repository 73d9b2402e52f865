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


FOLDS_KEPT = 512  # streams whose last fold a store keeps (``remember``)


async def load_state(
    uow: UnitOfWork,
    stream_id: str,
    registry: EventRegistry,
    evolve: Callable[[S | None, Event], S],
    remember: bool = False,
) -> tuple[S | None, int]:
    """Fold a stream into its state; return it with the stream's version.

    ``remember``: the store keeps the stream's last fold (its version and state) and the next
    load reads and folds only the events after it — a stream is append-only, so the events
    up to that version are the ones already folded. For streams read far more often than
    written (an edition: every upload and every check reads it; its first event carries the
    whole rule book). ``evolve`` must not change the state it is given (frozen states). A fold
    that saw events this unit of work appended is not kept (they may yet roll back)."""
    folds = uow.store.folds
    state: S | None = None
    version = 0
    if remember and stream_id in folds:
        version, state = folds[stream_id]
    history = await uow.load(stream_id, after_version=version)
    for envelope in history:
        state = evolve(state, registry.load(envelope))
    version += len(history)
    if remember and not uow.appended:
        folds[stream_id] = (version, state)
        folds.move_to_end(stream_id)
        while len(folds) > FOLDS_KEPT:
            folds.popitem(last=False)
    return state, version


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
