"""Group commit of residents' responses: many requests, one transaction.

A response is acknowledged only once it is committed to the event store. Committing each one
in its own transaction costs a round trip per statement and a WAL flush per response; under a
national vote that is the bottleneck. :class:`GroupCommit` collects the responses that arrive
while the previous transaction is being written (or, when idle, for ``linger`` seconds), and
:class:`ResponseWriter` writes them in **one** transaction:

1. take the service's append lock and, in the same round trip on PostgreSQL (``uow.lock``,
   migration 0003), read under it everything the decisions depend on: the ``survey`` documents
   of the batch, the ``survey_answered`` and ``survey_roll`` documents of its residents (an
   index probe each) and the surveys' stream versions; then the stored ``Idempotency-Key``
   answers (only when the batch has keys);
2. decide each response in arrival order with the domain (:func:`accept_response`): a refusal
   (closed survey, not on the roll, already answered — before, or by an earlier response of the
   same batch —, idempotency key reused) is that response's answer and does not fail the
   others; every writer of ``survey_answered`` holds the lock, so what was read is final;
3. append the rest, per survey, on ``survey-<id>`` at the version read under the lock, and
   write them with who answered, the flags and each survey document's new tally and version
   in **one** statement (``uow.flush``); the idempotency answers, when there are any;
4. commit, then resolve each request's future.

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
from typing import Any, Generic, TypeVar, cast
from uuid import UUID, uuid4

from prometheus_client import Histogram
from sqlalchemy.exc import IntegrityError

from services.survey.domain.answers import ValidResponse
from services.survey.domain.survey import ResidentFacts, accept_response, response_recorded
from services.survey.events import Channel, ResponseFlagged, ResponseRecorded
from services.survey.readmodels import (
    ANSWERED,
    FLAG,
    ROLL,
    SURVEY,
    SurveyDoc,
    flag_doc_key,
    resident_doc_key,
    survey_doc,
    survey_stream,
    tallied,
)
from shared.errors import ConcurrencyError, ConnectionLost, DomainError, NotFound
from shared.events import Actor, Event
from shared.logging import get_logger
from shared.store import schema
from shared.store.canonical import canonical_json
from shared.store.eventstore import Doc, EventStore, Rendered, UnitOfWork, render
from shared.store.lookup import rows_by_keys

log = get_logger("uzdik.survey.ingest")
T = TypeVar("T")
R = TypeVar("R")
IDEMPOTENCY_SCOPE = "survey_response"
UNRECORDED_KEPT = 100_000  # far more than one burst window of one process
RESIDENT = Actor(id="resident", role="resident")
BATCH_SIZE = Histogram(
    "uzdik_survey_batch_size",
    "Responses written per group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_SECONDS = Histogram(
    "uzdik_survey_batch_seconds",
    "A group commit's transaction: whole, and the part holding the service's append lock",
    ["part"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class GroupCommit(Generic[T, R]):
    """Collects concurrent submissions and hands them to ``write`` in batches.

    One batch is in flight at a time (they would queue on the append lock anyway); whatever
    arrives meanwhile forms the next one. An idle collector starts the next batch once the
    submissions stop coming (``quiet``) rather than after a fixed ``linger``. ``write``
    returns one outcome per item, in order: a result, or an exception that becomes that
    item's answer.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        max_items: int = 500,
        linger: float = 0.002,
        quiet: float = 0.0,
    ) -> None:
        self._write = write
        self.max_items = max_items
        self.linger = linger
        self.quiet = quiet
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

    async def _collect(self) -> None:
        """When idle, wait for more submissions before writing: until none arrived for
        ``quiet`` seconds (the requests in flight have all been read), at most ``linger``
        seconds after the first, or ``max_items``; ``quiet=0``: ``linger`` always."""
        if not self.quiet:
            await asyncio.sleep(self.linger)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger
        seen = -1
        while (count := len(self._pending)) != seen and count < self.max_items:
            left = deadline - loop.time()
            if left <= 0:
                return
            seen = count
            await asyncio.sleep(min(self.quiet, left))

    async def _drain(self) -> None:
        if self.linger:
            await self._collect()
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
            except (ConcurrencyError, IntegrityError, ConnectionLost) as exc:
                log.warning("survey.batch_retry", attempt=attempt + 1, error=type(exc).__name__)
                if attempt == self.attempts - 1:
                    raise
                continue
            recorded.extend(out.recorded)
            self.on_commit(out.docs)
            done = time.perf_counter()
            BATCH_SIZE.observe(len(batch))
            BATCH_SECONDS.labels("transaction").observe(done - started)
            BATCH_SECONDS.labels("locked").observe(done - out.locked_at)
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
        surveys = sorted({s.survey_id for s in batch})
        residents = sorted({resident_doc_key(s.survey_id, s.valid.resident) for s in batch})
        now = self.now()
        # the events as they will be if accepted, rendered before the lock (see _Prepared)
        prepared = _Prepared(batch, f"survey-batch-{uuid4()}", now)
        async with self.store.transaction() as uow:
            locked = await uow.lock(  # PostgreSQL: one round trip, the lock then the reads
                [(SURVEY, sid) for sid in surveys]
                + [(model, r) for r in residents for model in (ANSWERED, ROLL)],
                [survey_stream(sid) for sid in surveys],
            )
            out = _Out(locked_at=time.perf_counter())
            found = locked.documents
            docs = {
                sid: SurveyDoc.from_text(found[(SURVEY, sid)])
                for sid in surveys
                if (SURVEY, sid) in found
            }
            states = {sid: doc.state() for sid, doc in docs.items()}
            stored = await self._stored_answers(uow, batch)
            work: dict[str, _Work] = {}
            first_with_key: dict[str, int] = {}
            burst = _Burst({s.response_id for s in batch})
            for index, sub in enumerate(batch):
                burst.decided.add(sub.response_id)
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
                    already_answered=resident in w.answered or (ANSWERED, resident) in found,
                    on_roll=None if doc.roll_sha256 is None else (ROLL, resident) in found,
                )
                flags = tuple(dict.fromkeys(sub.flags + burst.later.pop(sub.response_id, ())))
                try:
                    event = accept_response(
                        states[sub.survey_id],
                        sub.valid,
                        sub.response_id,
                        sub.channel,
                        now,
                        facts,
                        flags,
                        prepared.event(sub.response_id),
                    )
                except DomainError as refused:
                    outcomes[index] = refused
                    continue
                if key is not None:
                    first_with_key[key] = index
                w.answered.add(resident)
                w.events.append(event)
                w.owners.append(index)
                self._flag_earlier(w, sub, burst)
            new: list[Doc] = []
            for survey_id, w in work.items():
                if w.events:
                    doc = await self._append(uow, survey_id, w, batch, prepared, out)
                    out.docs.append(doc)
                    new.extend((ANSWERED, r, "{}") for r in sorted(w.answered))
            new.extend((FLAG, k, canonical_json(f)) for k, f in out.flags)
            # the events, who answered, the flags and the surveys' new tallies: one statement
            await uow.flush(new=new, put=[survey_doc(d) for d in out.docs])
            for index, outcome in out.accepted.items():
                outcomes[index] = outcome
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
        prepared: _Prepared,
        out: _Out,
    ) -> SurveyDoc:
        """Append one survey's events of the batch (written by the batch's flush); note what
        else to write; the survey's new doc."""
        now = prepared.now
        envelopes = await uow.append(
            survey_stream(survey_id),
            w.doc.version,
            [prepared.rendered(event) for event in w.events],
            RESIDENT,
            correlation_id=prepared.correlation_id,
            occurred_at=now,
            deferred=True,
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
        return tallied(w.doc, w.events, len(envelopes))

    def _flag_earlier(self, w: _Work, sub: Submission, burst: _Burst) -> None:
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


class _Prepared:
    """A batch's responses as the events they become if accepted, rendered (metadata, the
    canonical texts) before the append lock is taken: under it, an accepted response whose
    event came out the same (no flag added by a burst meanwhile) is only placed and linked."""

    def __init__(self, batch: Sequence[Submission], correlation_id: str, now: datetime) -> None:
        self.correlation_id = correlation_id
        self.now = now
        self._by_response: dict[UUID, Rendered] = {}
        for sub in batch:
            event = response_recorded(
                UUID(sub.survey_id), sub.valid, sub.response_id, sub.channel, sub.flags
            )
            self._by_response[sub.response_id] = render(
                event, RESIDENT, correlation_id, recorded_at=now, occurred_at=now
            )

    def event(self, response_id: UUID) -> ResponseRecorded | None:
        found = self._by_response.get(response_id)
        return None if found is None else cast(ResponseRecorded, found.event)

    def rendered(self, event: Event) -> Event | Rendered:
        """``event``'s rendering if it is the very event prepared, else ``event`` (rendered
        by the append)."""
        if isinstance(event, ResponseRecorded):
            found = self._by_response.get(event.response_id)
            if found is not None and found.event is event:
                return found
        return event


@dataclass
class _Burst:
    """A batch's bookkeeping for burst flags that name responses of the same batch."""

    batch: set[UUID]  # the batch's response ids
    decided: set[UUID] = field(default_factory=set)  # recorded or refused so far
    later: dict[UUID, tuple[str, ...]] = field(default_factory=dict)  # flags for undecided ones


@dataclass
class _Out:
    """What a batch writes besides the events, and the answers it gives."""

    locked_at: float = 0.0  # when the append lock was granted
    docs: list[SurveyDoc] = field(default_factory=list)
    accepted: dict[int, Accepted] = field(default_factory=dict)
    recorded: list[tuple[UUID, str]] = field(default_factory=list)
    flags: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    idempotency: list[dict[str, Any]] = field(default_factory=list)


def _scoped_key(sub: Submission) -> str | None:
    return None if sub.idempotency_key is None else f"{sub.survey_id}:{sub.idempotency_key}"


def _stored_outcome(sub: Submission, request_hash: str, response: str) -> Accepted | Exception:
    if request_hash != sub.request_hash:
        return IdempotencyKeyReused()
    return Accepted(json.loads(response), replayed=True)
