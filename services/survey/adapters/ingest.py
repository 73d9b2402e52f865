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
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from uuid import UUID, uuid4

from services.survey.adapters.group_commit import (
    BATCH_RETRIES,
    BATCH_SECONDS,
    BATCH_SIZE,
)
from services.survey.adapters.ingest_plan import (
    PARSED_KEPT,
    UNRECORDED_KEPT,
    Accepted,
    Burst,
    Out,
    Plan,
    Prepared,
    Submission,
    Work,
    flag_earlier,
    scoped_key,
    stored_outcome,
)
from services.survey.adapters.readmodels import (
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
from services.survey.domain.survey import ResidentFacts, accept_response
from services.survey.events import ResponseFlagged, ResponseRecorded
from shared.errors import DomainError, NotFound, RunAgain, StaleRead
from shared.logging import get_logger
from shared.store import idempotency
from shared.store.batch import Batch
from shared.store.canonical import canonical_json
from shared.store.eventstore import EventStore

log = get_logger("uzdik.survey.ingest")


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
            except (StaleRead, RunAgain) as exc:
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
    ) -> tuple[list[Accepted | Exception], Out]:
        surveys = sorted({s.survey_id for s in batch})
        residents = sorted({resident_doc_key(s.survey_id, s.valid.resident) for s in batch})
        keys = sorted({k for s in batch if (k := scoped_key(s)) is not None})
        # the events as they will be if accepted, rendered before anything is read
        prepared = Prepared(batch, f"survey-batch-{uuid4()}", self.now())
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
                isinstance(plan.outcomes[i], Exception) and scoped_key(sub) is not None
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
        self, batch: list[Submission], found: dict[tuple[str, str], str], prepared: Prepared
    ) -> Plan:
        """Decide each response in arrival order on the documents read; what to write."""
        outcomes: list[Accepted | Exception | None] = [None] * len(batch)
        repeats: list[tuple[int, int]] = []  # (index, index of the first with the same key)
        now = prepared.now
        surveys = sorted({s.survey_id for s in batch})
        keys = sorted({k for s in batch if (k := scoped_key(s)) is not None})
        out = Out()
        docs = {
            sid: self._parsed(found[(SURVEY, sid)]) for sid in surveys if (SURVEY, sid) in found
        }
        states = {sid: doc.state() for sid, doc in docs.items()}
        stored = {k: found[(IDEMPOTENT, k)] for k in keys if (IDEMPOTENT, k) in found}
        work: dict[str, Work] = {}
        first_with_key: dict[str, int] = {}
        burst = Burst({s.response_id for s in batch})
        for index, sub in enumerate(batch):
            burst.decided.add(sub.response_id)
            key = scoped_key(sub)
            if key is not None:
                if key in stored:
                    outcomes[index] = stored_outcome(sub, stored[key])
                    continue
                if key in first_with_key:
                    first = first_with_key[key]
                    if batch[first].request_hash != sub.request_hash:
                        outcomes[index] = idempotency.IdempotencyKeyReused()
                    else:
                        repeats.append((index, first))
                    continue
            doc = docs.get(sub.survey_id)
            if doc is None:
                outcomes[index] = NotFound("survey_not_found", "no such survey")
                continue
            w = work.setdefault(sub.survey_id, Work(doc))
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
            flag_earlier(w, sub, burst, self._unrecorded)
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
        return Plan(out, outcomes, repeats, write)

    def _collect(
        self, survey_id: str, w: Work, batch: list[Submission], prepared: Prepared, out: Out
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
                key = scoped_key(sub)
                if key is not None:
                    out.new.append(
                        (IDEMPOTENT, key, idempotency.record_text(sub.request_hash, body))
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
