"""The survey service's own lookups, as documents in its database (``shared.store.docs``).

Every document is written in the same transaction as the events it follows from, under the
service's append lock (a batch of responses: ``EventStore.write``, which checks that what it
decided on is unchanged), so a decision read from them is as good as a fold of the log (and
they can be rebuilt from it). Models:

* ``survey`` / ``<survey_id>`` — :class:`SurveyDoc`: the opening, status, roll digest and, once
  closed, the final result. Only the survey's own commands (open, roll, close) change it: a
  batch of responses decides on it as read and expects it unchanged when it writes.
* ``survey_tally`` / ``<survey_id>`` — :class:`LiveTally`, a counter (a JSON array of integers:
  responses, flagged, then the sum per criterion) that every batch adds to in the statement
  that appends its responses; nothing is folded per request.
* ``survey_answered`` / ``<survey_id>:<resident key>`` — the resident answered (one per
  resident: the primary key refuses a second row even if a decision went wrong).
* ``survey_roll`` / ``<survey_id>:<resident key>`` — the resident is on the survey's roll.
* ``survey_flag`` / ``<survey_id>:<position, 12 digits>`` — a flagged response, for the organiser;
  keyed by the position of the flagging event, so the listing is chronological.
* ``idempotency`` / ``survey.respond:<survey_id>|<Idempotency-Key>`` — the answer given to a
  response sent with that key, replayed to a retry (:mod:`shared.store.idempotency`: the one
  record format of every service).
* ``survey_due`` / ``<closes_at, UTC ISO>|<survey_id>`` — open surveys by deadline.
* ``survey_candidate`` / ``<candidate_id>`` — what a survey opened by a nomination needs to
  know about the nominee (from ``CandidateRegistered`` and ``CandidateNominated``).

Keys hold HMACs of IINs, never IINs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from services.survey.domain.results import Tally
from services.survey.domain.state import SurveyState
from services.survey.events import (
    ResponseFlagged,
    ResponseRecorded,
    SurveyOpened,
    SurveyResult,
)
from shared.errors import NotFound
from shared.store import idempotency, schema
from shared.store.canonical import canonical_json
from shared.store.eventstore import UnitOfWork
from shared.store.lookup import rows_by_keys

SURVEY = "survey"
TALLY = "survey_tally"
ANSWERED = "survey_answered"
ROLL = "survey_roll"
FLAG = "survey_flag"
IDEMPOTENT = idempotency.MODEL
DUE = "survey_due"
CANDIDATE = "survey_candidate"

_docs = schema.documents


def survey_stream(survey_id: UUID | str) -> str:
    return f"survey-{survey_id}"


def resident_doc_key(survey_id: UUID | str, resident: str) -> str:
    return f"{survey_id}:{resident}"


def flag_doc_key(survey_id: UUID | str, position: int) -> str:
    return f"{survey_id}:{position:012d}"


def due_key(closes_at: datetime, survey_id: UUID | str) -> str:
    return f"{closes_at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')}|{survey_id}"


class SurveyDoc(BaseModel):
    """One survey as the service needs it on every request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    opened: SurveyOpened
    status: Literal["open", "closed"] = "open"
    roll_count: int | None = None
    roll_sha256: str | None = None
    closed_at: datetime | None = None
    result: SurveyResult | None = None

    @property
    def survey_id(self) -> UUID:
        return self.opened.survey_id

    def state(self, tally: LiveTally | None = None) -> SurveyState:
        """The aggregate's state for the domain's decisions (the answered set is in the
        ``survey_answered`` documents, passed to the decisions as facts; the tally, which a
        decision on one response does not need, in ``survey_tally``)."""
        return SurveyState(
            opened=self.opened,
            status=self.status,
            tally=(tally or LiveTally()).tally,
            roll_count=self.roll_count,
            roll_sha256=self.roll_sha256,
        )

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_text(cls, text: str) -> SurveyDoc:
        return cls.model_validate_json(text)


@dataclass(frozen=True)
class LiveTally:
    """A survey's running totals as its ``survey_tally`` counter holds them."""

    count: int = 0
    flagged: int = 0
    sums: tuple[int, ...] = ()

    @classmethod
    def from_text(cls, text: str | None) -> LiveTally:
        if text is None:
            return cls()
        values = json.loads(text)
        return cls(count=values[0], flagged=values[1], sums=tuple(values[2:]))

    @property
    def tally(self) -> Tally:
        return Tally(count=self.count, sums=self.sums if self.count else ())


def tally_delta(events: Iterable[object]) -> list[int] | None:
    """What ``events`` add to their survey's counter (responses, flagged, sums); ``None``
    when nothing."""
    count, flagged, sums = 0, 0, [0]
    for event in events:
        if isinstance(event, ResponseRecorded):
            count += 1
            flagged += event.flagged
            sums = [*sums, *[0] * (len(event.answers) + 1 - len(sums))]
            for i, answer in enumerate(event.answers, start=1):
                sums[i] += answer
        elif isinstance(event, ResponseFlagged):
            flagged += 1
    if not (count or flagged):
        return None
    return [count, flagged, *sums[1:]]


async def get_tally(uow: UnitOfWork, survey_id: UUID | str) -> LiveTally:
    text = await uow.conn.scalar(
        sa.select(_docs.c.doc).where(_docs.c.model == TALLY, _docs.c.key == str(survey_id))
    )
    return LiveTally.from_text(text)


async def add_tally(uow: UnitOfWork, survey_id: UUID | str, events: Sequence[object]) -> None:
    """Fold ``events`` into the survey's counter (the caller holds the append lock)."""
    delta = tally_delta(events)
    if delta is not None:
        await uow.add(TALLY, str(survey_id), delta)


async def get_survey(uow: UnitOfWork, survey_id: UUID | str) -> SurveyDoc | None:
    text = await uow.conn.scalar(
        sa.select(_docs.c.doc).where(_docs.c.model == SURVEY, _docs.c.key == str(survey_id))
    )
    return None if text is None else SurveyDoc.from_text(text)


def survey_doc(doc: SurveyDoc) -> tuple[str, str, str]:
    """``doc`` as the (model, key, text) a unit of work's ``flush`` writes."""
    return SURVEY, str(doc.survey_id), canonical_json(doc.to_doc())


async def put_survey(uow: UnitOfWork, doc: SurveyDoc, *, new: bool = False) -> None:
    text = canonical_json(doc.to_doc())
    key = str(doc.survey_id)
    if new:
        await uow.conn.execute(_docs.insert().values(model=SURVEY, key=key, doc=text))
    else:
        await uow.conn.execute(
            _docs.update().where(_docs.c.model == SURVEY, _docs.c.key == key).values(doc=text)
        )


async def existing_keys(uow: UnitOfWork, model: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` have a document of ``model`` (an index probe per key)."""
    rows = await rows_by_keys(uow.conn, _docs, ("model", model), "key", list(keys), ["key"])
    return {r.key for r in rows}


async def insert_docs(
    uow: UnitOfWork, model: str, items: Sequence[tuple[str, dict[str, Any]]]
) -> None:
    """Insert new documents (one statement); a key that exists fails the transaction."""
    if items:
        rows = [{"model": model, "key": k, "doc": canonical_json(d)} for k, d in items]
        await uow.conn.execute(_docs.insert(), rows)


async def delete_prefix(uow: UnitOfWork, model: str, prefix: str) -> None:
    await uow.conn.execute(
        _docs.delete().where(
            _docs.c.model == model, _docs.c.key.startswith(prefix, autoescape=True)
        )
    )


async def page(
    uow: UnitOfWork, model: str, prefix: str, after: str | None, limit: int
) -> list[tuple[str, dict[str, Any]]]:
    """Documents of ``model`` whose key starts with ``prefix``, after the key ``after``."""
    query = sa.select(_docs.c.key, _docs.c.doc).where(
        _docs.c.model == model, _docs.c.key.startswith(prefix, autoescape=True)
    )
    if after:
        query = query.where(_docs.c.key > after)
    rows = await uow.conn.execute(query.order_by(_docs.c.key).limit(limit))
    return [(r.key, json.loads(r.doc)) for r in rows]


async def due_surveys(uow: UnitOfWork, now: datetime) -> list[str]:
    """Ids of the open surveys whose deadline is at or before ``now``."""
    bound = due_key(now, "~")  # "~" sorts after every uuid
    rows = await uow.conn.execute(
        sa.select(_docs.c.key).where(_docs.c.model == DUE, _docs.c.key <= bound)
    )
    return [r.key.split("|", 1)[1] for r in rows]


async def require_survey(uow: UnitOfWork, survey_id: UUID | str) -> SurveyDoc:
    """The survey's document, or 404 ``survey_not_found``."""
    doc = await get_survey(uow, survey_id)
    if doc is None:
        raise NotFound("survey_not_found", "no such survey")
    return doc
