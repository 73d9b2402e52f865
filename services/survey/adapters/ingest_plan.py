"""What a batch of residents' responses is made of while it is decided: the submissions,
their answers, the prepared events and the plan of the one write."""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from services.survey.adapters.readmodels import (
    SurveyDoc,
)
from services.survey.domain.answers import ValidResponse
from services.survey.domain.survey import response_recorded
from services.survey.events import Channel, ResponseFlagged, ResponseRecorded
from shared.events import Actor, Event
from shared.store import idempotency
from shared.store.batch import Batch, Doc
from shared.store.rendering import Rendered, Renderer

PARSED_KEPT = 1_000  # survey documents kept parsed (a region has a few hundred surveys)


UNRECORDED_KEPT = 100_000  # far more than one burst window of one process


RESIDENT = Actor(id="resident", role="resident")


@dataclass(frozen=True)
class Submission:
    """A validated response on its way to the store (the IIN is already gone: only its key)."""

    survey_id: str
    response_id: UUID
    valid: ValidResponse
    channel: Channel
    flags: tuple[str, ...] = ()
    earlier_flags: tuple[tuple[UUID, tuple[str, ...]], ...] = ()
    idempotency_key: str | None = None
    request_hash: str = ""


@dataclass(frozen=True)
class Accepted:
    """The answer to a recorded (or idempotently replayed) response."""

    body: dict[str, Any]
    replayed: bool = False


@dataclass
class Work:
    """What one batch decided for one survey."""

    doc: SurveyDoc
    events: list[Event] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # submission index per event (-1: a flag)
    answered: set[str] = field(default_factory=set)


class Prepared:
    """A batch's responses as the events they become if accepted, rendered (metadata, the
    canonical texts) before the append lock is taken: under it, an accepted response whose
    event came out the same (no flag added by a burst meanwhile) is only placed and linked."""

    def __init__(self, batch: Sequence[Submission], correlation_id: str, now: datetime) -> None:
        self.correlation_id = correlation_id
        self.now = now
        self._renderer = Renderer(RESIDENT, correlation_id, recorded_at=now, occurred_at=now)
        self._by_response: dict[UUID, Rendered] = {}
        for sub in batch:
            event = response_recorded(
                UUID(sub.survey_id), sub.valid, sub.response_id, sub.channel, sub.flags
            )
            self._by_response[sub.response_id] = self._renderer.render(event)

    def event(self, response_id: UUID) -> ResponseRecorded | None:
        found = self._by_response.get(response_id)
        return None if found is None else cast(ResponseRecorded, found.event)

    def rendered(self, event: Event) -> Rendered:
        """``event``'s rendering: the one prepared if it is the very event prepared."""
        if isinstance(event, ResponseRecorded):
            found = self._by_response.get(event.response_id)
            if found is not None and found.event is event:
                return found
        return self._renderer.render(event)


@dataclass
class Burst:
    """A batch's bookkeeping for burst flags that name responses of the same batch."""

    batch: set[UUID]  # the batch's response ids
    decided: set[UUID] = field(default_factory=set)  # recorded or refused so far
    later: dict[UUID, tuple[str, ...]] = field(default_factory=dict)  # flags for undecided ones


@dataclass
class Plan:
    """A batch decided: the answers so far and what to write (``None``: nothing)."""

    out: Out
    outcomes: list[Accepted | Exception | None]
    repeats: list[tuple[int, int]]
    write: Batch | None


@dataclass
class Out:
    """What a batch writes, and the answers it gives."""

    writing_at: float = 0.0  # when the write (the statement under the lock) was sent
    docs: list[SurveyDoc] = field(default_factory=list)
    accepted: dict[int, Accepted] = field(default_factory=dict)
    recorded: list[tuple[UUID, str]] = field(default_factory=list)
    events: list[tuple[str, Rendered]] = field(default_factory=list)
    new: list[Doc] = field(default_factory=list)
    new_at: list[tuple[str, str, str, int]] = field(default_factory=list)
    add: list[tuple[str, str, list[int]]] = field(default_factory=list)


def scoped_key(sub: Submission) -> str | None:
    """The idempotency record's key of a response sent with a key (the survey is its scope:
    residents are anonymous)."""
    if sub.idempotency_key is None:
        return None
    return idempotency.doc_key(f"survey.respond:{sub.survey_id}", sub.idempotency_key)


def stored_outcome(sub: Submission, text: str) -> Accepted | Exception:
    """A retry's answer: the stored one, or 422 if the key came with another body."""
    try:
        return Accepted(idempotency.answer_of(text, sub.request_hash).response, replayed=True)
    except idempotency.IdempotencyKeyReused as refused:
        return refused


def flag_earlier(w: Work, sub: Submission, burst: Burst, unrecorded: Container[UUID]) -> None:
    """ResponseFlagged for earlier responses of a burst that were recorded unflagged (not those
    in ``unrecorded``: refused after the verdict was taken)."""
    if not sub.earlier_flags:
        return
    in_batch = {e.response_id: i for i, e in enumerate(w.events) if isinstance(e, ResponseRecorded)}
    for response_id, reasons in sub.earlier_flags:
        if response_id in unrecorded:  # refused after the verdict was taken
            continue
        at = in_batch.get(response_id)
        if at is None and response_id in burst.batch:
            if response_id not in burst.decided:  # later in this batch: flagged if recorded
                burst.later[response_id] = burst.later.get(response_id, ()) + reasons
            continue  # refused in this batch: nothing to flag
        if at is not None:  # recorded in this very batch: flag it in place
            event = w.events[at]
            assert isinstance(event, ResponseRecorded)
            merged = tuple(dict.fromkeys(event.flag_reasons + reasons))
            w.events[at] = event.model_copy(update={"flagged": True, "flag_reasons": merged})
        else:  # recorded by an earlier batch (the detector forgets the unrecorded ones)
            w.events.append(
                ResponseFlagged(
                    survey_id=UUID(sub.survey_id), response_id=response_id, reasons=reasons
                )
            )
            w.owners.append(-1)
