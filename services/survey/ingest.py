"""Group commit of residents' responses: many requests, one statement.

A response is acknowledged only once it is committed to the event store. Committing each one
in its own transaction costs a round trip per statement and a WAL flush per response; under a
national vote that is the bottleneck. :class:`GroupCommit` collects the responses that arrive
together, and :class:`ResponseWriter` writes them at once:

1. render the events the responses become if accepted (before anything is read);
2. read, without the lock, what the decisions depend on — the ``survey`` documents of the
   batch, the ``survey_answered`` and ``survey_roll`` documents of its residents and their
   stored idempotency answers — in one round trip (``EventStore.documents``);
3. decide each response in arrival order with the domain (:func:`accept_response`): a refusal
   (closed survey, not on the roll, already answered — before, or by an earlier response of the
   same batch —, idempotency key reused) is that response's answer and does not fail the
   others;
4. write the events, who answered, the flags, the idempotency answers and the tally's
   increment in one statement (``EventStore.write``) that takes the service's append lock,
   checks the surveys are still as read and places and links the events in the server;
5. resolve each request's future.

A batch whose reads went stale (another writer stored one of its residents first, a survey was
closed) writes nothing and is decided again; its last try reads under the lock and cannot go
stale. Its first try skips step 2 when every survey of the batch was seen before and has no
roll: the write checks what the read would have told (:meth:`ResponseWriter._may_skip_reads`).
A failure of the database itself fails every request of the batch; nothing of it is stored, so
a client retry is safe (a connection lost while the write was under way: what is stored says
whether it landed).
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

from prometheus_client import Counter, Histogram

from services.survey.domain.answers import ValidResponse
from services.survey.domain.survey import ResidentFacts, accept_response, response_recorded
from services.survey.events import Channel, ResponseFlagged, ResponseRecorded
from services.survey.readmodels import (
    ANSWERED,
    FLAG,
    IDEMPOTENT,
    ROLL,
    SURVEY,
    TALLY,
    SurveyDoc,
    resident_doc_key,
    survey_stream,
    tally_delta,
)
from shared.errors import ConnectionLost, DomainError, NotFound, StaleRead
from shared.events import Actor, Event
from shared.logging import get_logger
from shared.store.batch import Batch, Doc
from shared.store.canonical import canonical_json
from shared.store.eventstore import EventStore
from shared.store.rendering import Rendered, Renderer

log = get_logger("uzdik.survey.ingest")
T = TypeVar("T")
R = TypeVar("R")
IDEMPOTENCY_SCOPE = "survey_response"
PARSED_KEPT = 1_000  # survey documents kept parsed (a region has a few hundred surveys)
UNRECORDED_KEPT = 100_000  # far more than one burst window of one process
RESIDENT = Actor(id="resident", role="resident")
BATCH_SIZE = Histogram(
    "uzdik_survey_batch_size",
    "Responses written per group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
BATCH_RETRIES = Counter(
    "uzdik_survey_batch_retries",
    "Group-commit batches tried again (what they read went stale, or the connection was lost)",
)
BATCH_SECONDS = Histogram(
    "uzdik_survey_batch_seconds",
    "A group commit: whole (read, decide, write), and its write (the statement under the lock)",
    ["part"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


class GroupCommit(Generic[T, R]):
    """Collects concurrent submissions and hands them to ``write`` in batches.

    At most ``in_flight`` batches are being written at a time; what arrives while none can
    start forms the next batch, written as soon as one finishes. A batch that can start at
    once waits for more submissions first: until they stop coming (``quiet``), at most
    ``linger`` (``quiet=0``: ``linger`` always). ``write`` returns one outcome per item, in
    order: a result, or an exception that becomes that item's answer.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        max_items: int = 500,
        linger: float = 0.002,
        quiet: float = 0.0,
        in_flight: int = 1,
    ) -> None:
        self._write = write
        self.max_items = max_items
        self.linger = linger
        self.quiet = quiet
        self.in_flight = max(1, in_flight)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._collector: asyncio.Task[None] | None = None
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start(fresh=True)
        return await future

    async def close(self) -> None:
        """Wait for the batches in flight and the queued ones."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start(self, fresh: bool) -> None:
        """Start a batch if one may start and none is being collected."""
        if self._collector is not None or not self._pending or self._running >= self.in_flight:
            return
        task = asyncio.get_running_loop().create_task(self._batch(fresh))
        self._collector = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _collect(self) -> None:
        """Wait for more submissions: until none arrived for ``quiet`` seconds (the requests in
        flight have all been read), at most ``linger`` seconds, or ``max_items``."""
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

    async def _batch(self, fresh: bool) -> None:
        try:
            if fresh and self.linger:
                await self._collect()
            batch = self._pending[: self.max_items]
            del self._pending[: self.max_items]
        finally:
            self._collector = None
        self._running += 1
        try:
            self._start(fresh=False)  # more than one batch's worth was waiting
            await self._settle(batch)
        finally:
            self._running -= 1
            self._start(fresh=False)  # what arrived meanwhile

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            outcomes = await self._write([item for item, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        except BaseException:  # cancelled (shutting down): no request is left waiting
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise
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
        self._survey_docs: dict[str, SurveyDoc] = {}
        self._seen: dict[str, str] = {}  # survey → its document's text as last read
        self._in_flight: dict[UUID, asyncio.Future[None]] = {}  # response → its batch's end

    async def write(self, batch: list[Submission]) -> list[Accepted | Exception]:
        """One transaction for the batch; before it returns (or raises), ``on_unrecorded`` hears
        of every submission that did not become a new response, so that the burst detector
        never flags it after the fact.

        Batches may be written concurrently. One whose burst verdicts name a response of a
        batch still in flight waits for that batch first: a response is flagged after the
        fact only once it is recorded (and never if it was not), and after it in the log."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for sub in batch:
            self._in_flight[sub.response_id] = done
        recorded: list[tuple[UUID, str]] = []
        try:
            named = {
                future
                for sub in batch
                for response_id, _ in sub.earlier_flags
                if (future := self._in_flight.get(response_id)) is not None and future is not done
            }
            if named:  # (wait, not gather: cancelling this must not cancel the others)
                await asyncio.wait(named)
            return await self._write(batch, recorded)
        finally:
            fresh = {response_id for response_id, _ in recorded}
            lost = [s.response_id for s in batch if s.response_id not in fresh]
            if lost:
                self._unrecorded.update(dict.fromkeys(lost))
                while len(self._unrecorded) > UNRECORDED_KEPT:
                    del self._unrecorded[next(iter(self._unrecorded))]
                self.on_unrecorded(lost)
            for sub in batch:
                if self._in_flight.get(sub.response_id) is done:
                    del self._in_flight[sub.response_id]
            if not done.done():
                done.set_result(None)

    async def _write(
        self, batch: list[Submission], recorded: list[tuple[UUID, str]]
    ) -> list[Accepted | Exception]:
        for attempt in range(self.attempts):
            started = time.perf_counter()
            # the last try reads under the lock: it cannot go stale; the first may read nothing
            if attempt == self.attempts - 1:
                mode = "locked"
            elif attempt == 0 and self._may_skip_reads(batch):
                mode = "unread"
            else:
                mode = "read"
            try:
                outcomes, out = await self._write_once(batch, mode)
            except (StaleRead, ConnectionLost) as exc:
                log.info("survey.batch_retry", attempt=attempt + 1, error=type(exc).__name__)
                BATCH_RETRIES.inc()
                if attempt == self.attempts - 1:
                    raise
                continue
            recorded.extend(out.recorded)
            self.on_commit(out.docs)
            done = time.perf_counter()
            BATCH_SIZE.observe(len(batch))
            BATCH_SECONDS.labels("transaction").observe(done - started)
            BATCH_SECONDS.labels("write").observe(done - out.writing_at)
            log.debug(
                "survey.batch_committed",
                submissions=len(batch),
                recorded=len(out.recorded),
                ms=round((done - started) * 1000, 1),
                write_ms=round((done - out.writing_at) * 1000, 1),
            )
            return outcomes
        raise AssertionError("unreachable")

    def _may_skip_reads(self, batch: list[Submission]) -> bool:
        """Whether the batch may be decided without reading: every survey's document was seen
        and has no roll. What the read would tell is then either known (the survey, expected
        unchanged by the write) or checked by the write itself: a resident who answered
        before, or an idempotency key used before, is a document that exists — the statement
        fails, nothing is written, and the batch is decided again on what it reads."""
        for sid in {s.survey_id for s in batch}:
            text = self._seen.get(sid)
            if text is None or self._parsed(text).roll_sha256 is not None:
                return False
        return True

    async def _write_once(
        self, batch: list[Submission], mode: str
    ) -> tuple[list[Accepted | Exception], _Out]:
        surveys = sorted({s.survey_id for s in batch})
        residents = sorted({resident_doc_key(s.survey_id, s.valid.resident) for s in batch})
        keys = sorted({k for s in batch if (k := _scoped_key(s)) is not None})
        # the events as they will be if accepted, rendered before anything is read
        prepared = _Prepared(batch, f"survey-batch-{uuid4()}", self.now())
        wanted = (
            [(SURVEY, sid) for sid in surveys]
            + [(model, r) for r in residents for model in (ANSWERED, ROLL)]
            + [(IDEMPOTENT, k) for k in keys]
        )
        if mode == "locked":
            async with self.store.transaction() as uow:
                found = (await uow.lock(wanted)).documents
                self._see(surveys, found)
                plan = self._plan(batch, found, prepared)
                if plan.write is not None:
                    await uow.write(plan.write)
        else:
            if mode == "unread":  # the surveys as last seen; the write checks the rest
                found = {(SURVEY, sid): self._seen[sid] for sid in surveys}
            else:
                found = await self.store.documents(wanted)  # without the lock: one round trip
                self._see(surveys, found)
            plan = self._plan(batch, found, prepared)
            if mode == "unread" and any(
                isinstance(plan.outcomes[i], Exception) and _scoped_key(sub) is not None
                for i, sub in enumerate(batch)
            ):  # a keyed request may be a retry whose answer is stored: read it first
                raise StaleRead("a keyed request refused without a read")
            if plan.write is not None:
                await self.store.write(plan.write)
            elif mode == "unread":
                plan.out.docs.clear()  # nothing checked the surveys as seen
        out, outcomes = plan.out, plan.outcomes
        for index, outcome in out.accepted.items():
            outcomes[index] = outcome
        for index, first in plan.repeats:
            answer = outcomes[first]
            outcomes[index] = (
                replace(answer, replayed=True) if isinstance(answer, Accepted) else answer
            )
        final = [o if o is not None else RuntimeError("no outcome") for o in outcomes]
        return final, out

    def _plan(
        self, batch: list[Submission], found: dict[tuple[str, str], str], prepared: _Prepared
    ) -> _Plan:
        """Decide each response in arrival order on the documents read; what to write."""
        outcomes: list[Accepted | Exception | None] = [None] * len(batch)
        repeats: list[tuple[int, int]] = []  # (index, index of the first with the same key)
        now = prepared.now
        surveys = sorted({s.survey_id for s in batch})
        keys = sorted({k for s in batch if (k := _scoped_key(s)) is not None})
        out = _Out()
        docs = {
            sid: self._parsed(found[(SURVEY, sid)]) for sid in surveys if (SURVEY, sid) in found
        }
        states = {sid: doc.state() for sid, doc in docs.items()}
        stored = {
            k: _stored_answer(found[(IDEMPOTENT, k)]) for k in keys if (IDEMPOTENT, k) in found
        }
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
        for survey_id, w in work.items():
            if w.events:
                self._collect(survey_id, w, batch, prepared, out)
        out.docs.extend(docs.values())
        out.writing_at = time.perf_counter()
        write = None
        if out.events:
            # the events (placed and linked by the server), who answered, the flags, the
            # idempotency answers and the tallies: one statement, the only one under the lock;
            # every decision above stands only if the surveys are still as read (closed, roll)
            write = Batch(
                expect=[(SURVEY, sid, found[(SURVEY, sid)]) for sid in docs],
                events=out.events,
                new=out.new,
                new_at=out.new_at,
                add=out.add,
            )
        return _Plan(out, outcomes, repeats, write)

    def _collect(
        self, survey_id: str, w: _Work, batch: list[Submission], prepared: _Prepared, out: _Out
    ) -> None:
        """One survey's part of the batch: its events in order, who answered, its flags (keyed
        by the position the server gives the flagging event), its tally, the answers."""
        now = prepared.now
        stream = survey_stream(survey_id)
        for event, owner in zip(w.events, w.owners, strict=True):
            rendered = prepared.rendered(event)
            at = len(out.events)
            out.events.append((stream, rendered))
            if isinstance(event, ResponseRecorded):
                sub = batch[owner]
                body = {
                    "id": str(event.response_id),
                    "survey_id": survey_id,
                    "event_ids": [str(rendered.metadata.event_id)],
                }
                out.accepted[owner] = Accepted(body)
                out.recorded.append((event.response_id, survey_id))
                key = _scoped_key(sub)
                if key is not None:
                    answer = {"request_hash": sub.request_hash, "response": body}
                    out.new.append((IDEMPOTENT, key, canonical_json(answer)))
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
                out.new_at.append((FLAG, f"{survey_id}:", canonical_json(flag), at))
        out.new.extend((ANSWERED, r, "{}") for r in sorted(w.answered))
        delta = tally_delta(w.events)
        if delta is not None:
            out.add.append((TALLY, survey_id, delta))

    def _see(self, surveys: list[str], found: dict[tuple[str, str], str]) -> None:
        """Remember each survey's document as just read (or that it was not found)."""
        if len(self._seen) >= PARSED_KEPT:
            self._seen.clear()
        for sid in surveys:
            text = found.get((SURVEY, sid))
            if text is None:
                self._seen.pop(sid, None)
            else:
                self._seen[sid] = text

    def _parsed(self, text: str) -> SurveyDoc:
        """The survey document of ``text`` (parsed once: it changes only with the survey's
        own commands, and every batch reads it)."""
        doc = self._survey_docs.get(text)
        if doc is None:
            if len(self._survey_docs) >= PARSED_KEPT:
                self._survey_docs.clear()
            doc = self._survey_docs[text] = SurveyDoc.from_text(text)
        return doc

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


class _Prepared:
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
class _Burst:
    """A batch's bookkeeping for burst flags that name responses of the same batch."""

    batch: set[UUID]  # the batch's response ids
    decided: set[UUID] = field(default_factory=set)  # recorded or refused so far
    later: dict[UUID, tuple[str, ...]] = field(default_factory=dict)  # flags for undecided ones


@dataclass
class _Plan:
    """A batch decided: the answers so far and what to write (``None``: nothing)."""

    out: _Out
    outcomes: list[Accepted | Exception | None]
    repeats: list[tuple[int, int]]
    write: Batch | None


@dataclass
class _Out:
    """What a batch writes, and the answers it gives."""

    writing_at: float = 0.0  # when the write (the statement under the lock) was sent
    docs: list[SurveyDoc] = field(default_factory=list)
    accepted: dict[int, Accepted] = field(default_factory=dict)
    recorded: list[tuple[UUID, str]] = field(default_factory=list)
    events: list[tuple[str, Rendered]] = field(default_factory=list)
    new: list[Doc] = field(default_factory=list)
    new_at: list[tuple[str, str, str, int]] = field(default_factory=list)
    add: list[tuple[str, str, list[int]]] = field(default_factory=list)


def _scoped_key(sub: Submission) -> str | None:
    return None if sub.idempotency_key is None else f"{sub.survey_id}:{sub.idempotency_key}"


def _stored_answer(text: str) -> tuple[str, dict[str, Any]]:
    answer = json.loads(text)
    return answer["request_hash"], answer["response"]


def _stored_outcome(
    sub: Submission, request_hash: str, response: dict[str, Any]
) -> Accepted | Exception:
    if request_hash != sub.request_hash:
        return IdempotencyKeyReused()
    return Accepted(response, replayed=True)
