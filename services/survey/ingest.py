"""Group commit of residents' responses: many requests, one transaction.

A response is acknowledged only once it is committed to the event store. Committing each one
in its own transaction costs a round trip per statement and a WAL flush per response; under a
national vote that is the bottleneck. :class:`GroupCommit` collects the responses that arrive
while the previous transaction is being written (or, when idle, for ``linger`` seconds), and
:class:`ResponseWriter` writes them in **one** transaction:

1. take the service's append lock (``uow.lock()``), so every fact read below is final;
2. read the ``survey`` documents of the batch, the ``survey_roll`` documents of its residents
   (surveys with a roll only) and the stored ``Idempotency-Key`` answers — one query each;
3. decide each response in arrival order with the domain (:func:`accept_response`): a refusal
   (closed survey, not on the roll, already answered by an earlier response of the same batch,
   idempotency key reused) is that response's answer and does not fail the others;
4. claim the accepted residents' ``survey_answered`` documents in one statement
   (:func:`claim_keys`): a resident whose document exists already answered — that response is
   refused ``already_answered`` like any other repeat;
5. append the rest, per survey, in one ``uow.append`` on ``survey-<id>`` at the version kept in
   the survey document; insert their flags and idempotency answers; write each survey document
   back once with the new tally and version;
6. commit, then resolve each request's future.

A failure of the transaction itself (database down, a lost race that the lock should have
made impossible) fails every request of the batch after ``attempts`` tries; nothing of it is
committed, so a client retry is safe.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError

from services.survey.domain.answers import ValidResponse
from services.survey.domain.survey import ResidentFacts, accept_response, ensure_admissible
from services.survey.events import Channel, ResponseFlagged, ResponseRecorded
from services.survey.readmodels import (
    ANSWERED,
    FLAG,
    ROLL,
    SurveyDoc,
    claim_keys,
    existing_keys,
    flag_doc_key,
    get_surveys,
    insert_docs,
    put_survey,
    resident_doc_key,
    survey_stream,
    tallied,
)
from shared.errors import ConcurrencyError, DomainError, NotFound
from shared.events import Actor, Event
from shared.logging import get_logger
from shared.store import schema
from shared.store.eventstore import EventStore, UnitOfWork
from shared.store.lookup import rows_by_keys

log = get_logger("uzdik.survey.ingest")
T = TypeVar("T")
R = TypeVar("R")
IDEMPOTENCY_SCOPE = "survey_response"
UNRECORDED_KEPT = 100_000  # far more than one burst window of one process
RESIDENT = Actor(id="resident", role="resident")


class GroupCommit(Generic[T, R]):
    """Collects concurrent submissions and hands them to ``write`` in batches.

    One batch is in flight at a time (they would queue on the append lock anyway); whatever
    arrives meanwhile forms the next one. ``write`` returns one outcome per item, in order: a
    result, or an exception that becomes that item's answer.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        max_items: int = 500,
        linger: float = 0.002,
    ) -> None:
        self._write = write
        self.max_items = max_items
        self.linger = linger
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Wait for the batch in flight and the queued ones."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        if self.linger:
            await asyncio.sleep(self.linger)
        while self._pending:
            batch = self._pending[: self.max_items]
            del self._pending[: self.max_items]
            try:
                outcomes = await self._write([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.batches += 1
            self.items += len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the client went away; the response is recorded all the same
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)


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
class _Work:
    """What one batch decided for one survey."""

    doc: SurveyDoc
    events: list[Event] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # submission index per event (-1: a flag)
    answered: set[str] = field(default_factory=set)


class IdempotencyKeyReused(DomainError):
    def __init__(self) -> None:
        super().__init__(
            code="idempotency_key_reused",
            status=422,
            detail="this Idempotency-Key was already used with a different request body",
        )


class ResponseWriter:
    """Writes a batch of submissions in one transaction (see the module's docstring)."""

    def __init__(
        self,
        store: EventStore,
        now: Callable[[], datetime],
        on_commit: Callable[[list[SurveyDoc]], None] = lambda _: None,
        on_unrecorded: Callable[[list[UUID]], None] = lambda _: None,
        attempts: int = 3,
    ) -> None:
        self.store = store
        self.now = now
        self.on_commit = on_commit
        self.on_unrecorded = on_unrecorded
        self.attempts = attempts
        # responses of this process's batches that were not recorded (refused, or their
        # transaction failed): a later submission's burst verdict may have been taken while
        # they were in flight; they must not be flagged after the fact
        self._unrecorded: dict[UUID, None] = {}

    async def write(self, batch: list[Submission]) -> list[Accepted | Exception]:
        """One transaction for the batch; before it returns (or raises), ``on_unrecorded`` hears
        of every submission that did not become a new response, so that the burst detector
        never flags it after the fact."""
        recorded: list[tuple[UUID, str]] = []
        try:
            return await self._write(batch, recorded)
        finally:
            fresh = {response_id for response_id, _ in recorded}
            lost = [s.response_id for s in batch if s.response_id not in fresh]
            if lost:
                self._unrecorded.update(dict.fromkeys(lost))
                while len(self._unrecorded) > UNRECORDED_KEPT:
                    del self._unrecorded[next(iter(self._unrecorded))]
                self.on_unrecorded(lost)

    async def _write(
        self, batch: list[Submission], recorded: list[tuple[UUID, str]]
    ) -> list[Accepted | Exception]:
        for attempt in range(self.attempts):
            started, cpu = time.perf_counter(), time.process_time()
            try:
                outcomes, out = await self._write_once(batch)
            except (ConcurrencyError, IntegrityError) as exc:
                log.warning("survey.batch_retry", attempt=attempt + 1, error=type(exc).__name__)
                if attempt == self.attempts - 1:
                    raise
                continue
            recorded.extend(out.recorded)
            self.on_commit(out.docs)
            log.debug(
                "survey.batch_committed",
                submissions=len(batch),
                recorded=len(out.recorded),
                ms=round((time.perf_counter() - started) * 1000, 1),
                locked_ms=round((time.perf_counter() - out.locked_at) * 1000, 1),
                cpu_ms=round((time.process_time() - cpu) * 1000, 1),
            )
            return outcomes
        raise AssertionError("unreachable")

    async def _write_once(self, batch: list[Submission]) -> tuple[list[Accepted | Exception], _Out]:
        outcomes: list[Accepted | Exception | None] = [None] * len(batch)
        repeats: list[tuple[int, int]] = []  # (index, index of the first with the same key)
        async with self.store.transaction() as uow:
            await uow.lock()
            out = _Out(locked_at=time.perf_counter())
            now = self.now()
            stored = await self._stored_answers(uow, batch)
            docs = await get_surveys(uow, {s.survey_id for s in batch})
            with_roll = {sid for sid, d in docs.items() if d.roll_sha256 is not None}
            on_roll = await existing_keys(
                uow,
                ROLL,
                {
                    resident_doc_key(s.survey_id, s.valid.resident)
                    for s in batch
                    if s.survey_id in with_roll
                },
            )
            work: dict[str, _Work] = {}
            first_with_key: dict[str, int] = {}
            for index, sub in enumerate(batch):
                key = _scoped_key(sub)
                if key is not None:
                    if key in stored:
                        outcomes[index] = _stored_outcome(sub, *stored[key])
                        continue
                    if key in first_with_key:
                        first = first_with_key[key]
                        if batch[first].request_hash != sub.request_hash:
                            outcomes[index] = IdempotencyKeyReused()
                        else:
                            repeats.append((index, first))
                        continue
                doc = docs.get(sub.survey_id)
                if doc is None:
                    outcomes[index] = NotFound("survey_not_found", "no such survey")
                    continue
                w = work.setdefault(sub.survey_id, _Work(doc))
                resident = resident_doc_key(sub.survey_id, sub.valid.resident)
                facts = ResidentFacts(
                    already_answered=resident in w.answered,  # the store's: claimed below
                    on_roll=None if doc.roll_sha256 is None else resident in on_roll,
                )
                try:
                    event = accept_response(
                        doc.state(), sub.valid, sub.response_id, sub.channel, now, facts, sub.flags
                    )
                except DomainError as refused:
                    outcomes[index] = refused
                    continue
                if key is not None:
                    first_with_key[key] = index
                w.answered.add(resident)
                w.events.append(event)
                w.owners.append(index)
                self._flag_earlier(w, sub)
            claimed = await claim_keys(
                uow, ANSWERED, [r for w in work.values() for r in w.answered]
            )
            for w in work.values():
                for index in _drop_answered(w, claimed):
                    outcomes[index] = _already_answered()
            for survey_id, w in work.items():
                if w.events:
                    out.docs.append(await self._append(uow, survey_id, w, batch, now, out))
            for index, outcome in out.accepted.items():
                outcomes[index] = outcome
            await insert_docs(uow, FLAG, out.flags)
            if out.idempotency:
                await uow.conn.execute(schema.idempotency_keys.insert(), out.idempotency)
        for index, first in repeats:
            answer = outcomes[first]
            outcomes[index] = (
                replace(answer, replayed=True) if isinstance(answer, Accepted) else answer
            )
        final = [o if o is not None else RuntimeError("no outcome") for o in outcomes]
        return final, out

    async def _append(
        self,
        uow: UnitOfWork,
        survey_id: str,
        w: _Work,
        batch: list[Submission],
        now: datetime,
        out: _Out,
    ) -> SurveyDoc:
        """Append one survey's events of the batch; note what else to write; the new doc."""
        envelopes = await uow.append(
            survey_stream(survey_id),
            w.doc.version,
            w.events,
            RESIDENT,
            correlation_id=f"survey-batch-{uuid4()}",
            occurred_at=now,
        )
        for event, envelope, owner in zip(w.events, envelopes, w.owners, strict=True):
            if isinstance(event, ResponseRecorded):
                sub = batch[owner]
                body = {
                    "id": str(event.response_id),
                    "survey_id": survey_id,
                    "event_ids": [str(envelope.event_id)],
                }
                out.accepted[owner] = Accepted(body)
                out.recorded.append((event.response_id, survey_id))
                key = _scoped_key(sub)
                if key is not None:
                    out.idempotency.append(
                        {
                            "scope": IDEMPOTENCY_SCOPE,
                            "key": key,
                            "request_hash": sub.request_hash,
                            "status_code": 201,
                            "response": json.dumps(body),
                        }
                    )
                response_id, reasons, later = event.response_id, event.flag_reasons, False
            elif isinstance(event, ResponseFlagged):
                response_id, reasons, later = event.response_id, event.reasons, True
            else:
                raise TypeError(f"unexpected {event.event_type} in a batch of responses")
            if reasons:
                flag = {
                    "response_id": str(response_id),
                    "reasons": list(reasons),
                    "flagged_at": now.isoformat(),
                    "after_the_fact": later,
                }
                out.flags.append((flag_doc_key(survey_id, envelope.global_position), flag))
        doc = tallied(w.doc, w.events, len(envelopes))
        await put_survey(uow, doc)
        return doc

    def _flag_earlier(self, w: _Work, sub: Submission) -> None:
        """ResponseFlagged for earlier responses of a burst that were recorded unflagged."""
        if not sub.earlier_flags:
            return
        in_batch = {
            e.response_id: i for i, e in enumerate(w.events) if isinstance(e, ResponseRecorded)
        }
        for response_id, reasons in sub.earlier_flags:
            if response_id in self._unrecorded:  # refused after the verdict was taken
                continue
            at = in_batch.get(response_id)
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

    @staticmethod
    async def _stored_answers(
        uow: UnitOfWork, batch: list[Submission]
    ) -> dict[str, tuple[str, str]]:
        keys = [k for s in batch if (k := _scoped_key(s)) is not None]
        if not keys:
            return {}
        rows = await rows_by_keys(
            uow.conn,
            schema.idempotency_keys,
            ("scope", IDEMPOTENCY_SCOPE),
            "key",
            keys,
            ["key", "request_hash", "response"],
        )
        return {r.key: (r.request_hash, r.response) for r in rows}


@dataclass
class _Out:
    """What a batch writes besides the events, and the answers it gives."""

    locked_at: float = 0.0  # when the append lock was granted
    docs: list[SurveyDoc] = field(default_factory=list)
    accepted: dict[int, Accepted] = field(default_factory=dict)
    recorded: list[tuple[UUID, str]] = field(default_factory=list)
    flags: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    idempotency: list[dict[str, Any]] = field(default_factory=list)


def _drop_answered(w: _Work, claimed: set[str]) -> list[int]:
    """Take out of ``w`` the responses of residents whose ``survey_answered`` document was
    there before this batch; the submissions' indexes."""
    dropped: list[int] = []
    events: list[Event] = []
    owners: list[int] = []
    for event, owner in zip(w.events, w.owners, strict=True):
        if isinstance(event, ResponseRecorded):
            resident = resident_doc_key(str(event.survey_id), event.resident)
            if resident not in claimed:
                dropped.append(owner)
                w.answered.discard(resident)
                continue
        events.append(event)
        owners.append(owner)
    w.events, w.owners = events, owners
    return dropped


def _already_answered() -> DomainError:
    """The domain's own refusal of a repeat (the same code and words as any other)."""
    try:
        ensure_admissible(ResidentFacts(already_answered=True))
    except DomainError as refused:
        return refused
    raise AssertionError("a resident who answered was admitted")


def _scoped_key(sub: Submission) -> str | None:
    return None if sub.idempotency_key is None else f"{sub.survey_id}:{sub.idempotency_key}"


def _stored_outcome(sub: Submission, request_hash: str, response: str) -> Accepted | Exception:
    if request_hash != sub.request_hash:
        return IdempotencyKeyReused()
    return Accepted(json.loads(response), replayed=True)
