"""The survey service in one process: its caches, abuse controls, group commit and closer.

:class:`SurveyService` is built once per service context (``ctx.extras["survey"]``) and shared
by the HTTP API, the public page and the consumer. The rate limiter and the burst detector
are per process (a replica limits what reaches it; flags are per replica's view of a burst).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from services.survey import handlers
from services.survey.adapters.group_commit import GroupCommit
from services.survey.adapters.ingest import ResponseWriter
from services.survey.adapters.ingest_plan import Accepted, Submission
from services.survey.adapters.readmodels import CANDIDATE, SurveyDoc, due_surveys, get_survey
from services.survey.config import SurveyConfig
from services.survey.domain.abuse import BurstDetector, RateLimiter
from services.survey.domain.answers import RecordResponse, validate_response
from services.survey.domain.rubric import Rubric, load_rubric
from services.survey.domain.survey import CloseSurvey, ensure_accepting
from services.survey.events import Channel, SurveyClosed
from shared.errors import DomainError, NotFound
from shared.events import SYSTEM
from shared.handlers import Cause
from shared.logging import get_logger
from shared.runtime import ServiceContext, run_beside_store
from shared.store.eventstore import EventStore

log = get_logger("uzdik.survey")


class Unavailable(DomainError):
    """503: the response was not recorded (the store failed); sending it again is safe."""

    def __init__(self) -> None:
        super().__init__(
            code="store_unavailable",
            status=503,
            detail="the response could not be recorded now; nothing was kept, send it again",
        )


CACHE_SECONDS = 1.0
SWEEP_SECONDS = 30.0


class SurveyService:
    def __init__(self, ctx: ServiceContext, config: SurveyConfig | None = None) -> None:
        self.ctx = ctx
        self.config = config or SurveyConfig.from_settings(ctx.settings)
        self.rules = self.config.rules
        self.pepper = ctx.settings.survey_pepper.encode()
        self.limiter = RateLimiter(self.rules.per_ip, self.rules.per_survey)
        self.detector = BurstDetector(self.rules.burst)
        self.writer = ResponseWriter(
            ctx.store,
            ctx.now,
            on_commit=self._remember,
            on_unrecorded=lambda ids: self.detector.forget(ids, time.monotonic()),
        )
        self.batcher: GroupCommit[Submission, Accepted] = GroupCommit(
            self.writer.write,
            self.config.batch_max,
            self.config.batch_linger,
            self.config.batch_quiet,
            self.config.batch_in_flight,
        )
        self._cache: dict[str, tuple[float, SurveyDoc]] = {}
        self._akims: dict[str, str] = {}  # a candidate's name does not change
        self._loading: dict[str, asyncio.Future[SurveyDoc | None]] = {}
        self._swept = time.monotonic()
        self._stop = asyncio.Event()
        self._closer: asyncio.Task[None] | None = None

    # --- surveys ------------------------------------------------------------------------

    async def survey(self, survey_id: UUID | str, fresh: bool = False) -> SurveyDoc:
        """The survey's document, from a cache at most a second old (decisions that must be
        exact re-read it under the append lock); 404 ``survey_not_found``."""
        key = str(survey_id)
        hit = self._cache.get(key)
        if hit is not None and not fresh and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]
        loading = self._loading.get(key)
        if loading is None:  # one load per survey at a time, however many requests wait
            loading = asyncio.ensure_future(self._load(key))
            self._loading[key] = loading
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        doc = await asyncio.shield(loading)
        if doc is None:
            raise NotFound("survey_not_found", "no such survey")
        return doc

    async def _load(self, key: str) -> SurveyDoc | None:
        async with self.ctx.store.reader() as uow:
            doc = await get_survey(uow, key)
        if doc is None:
            self._cache.pop(key, None)
        else:
            self._cache[key] = (time.monotonic(), doc)
        return doc

    async def akim(self, candidate_id: str) -> str | None:
        """The name of the rural akim a survey rates, as scoring registered the candidate
        (kept from ``CandidateRegistered``); None when not known here."""
        hit = self._akims.get(candidate_id)
        if hit is not None:
            return hit
        async with self.ctx.store.reader() as uow:
            known = await uow.docs.get(CANDIDATE, candidate_id) or {}
        name = known.get("name") or None
        if name:
            self._akims[candidate_id] = str(name)
        return str(name) if name else None

    def rubric(self, doc: SurveyDoc) -> Rubric:
        return load_rubric(doc.opened.rubric_id)

    def _remember(self, docs: Sequence[SurveyDoc]) -> None:
        now = time.monotonic()
        for doc in docs:
            self._cache[str(doc.survey_id)] = (now, doc)

    def forget(self, survey_id: UUID | str) -> None:
        self._cache.pop(str(survey_id), None)

    # --- a resident's response ---------------------------------------------------------

    async def respond(
        self,
        survey_id: UUID,
        iin: str,
        answers: Sequence[Any],
        channel: Channel,
        source: str,
        idempotency_key: str | None = None,
        request_hash: str = "",
    ) -> Accepted:
        """Record one response: rate limits (429), survey open (404/409), IIN and answers
        (422), then the group commit decides roll (403) and repeat (409) under the lock."""
        try:
            return await self._respond(
                survey_id, iin, answers, channel, source, idempotency_key, request_hash
            )
        except DomainError as refused:
            log.debug("survey.response_refused", survey_id=str(survey_id), code=refused.code)
            raise

    async def _respond(
        self,
        survey_id: UUID,
        iin: str,
        answers: Sequence[Any],
        channel: Channel,
        source: str,
        idempotency_key: str | None,
        request_hash: str,
    ) -> Accepted:
        moment = time.monotonic()
        self._sweep(moment)
        sid = str(survey_id)
        self.limiter.check(ip=source, survey_id=sid, now=moment)
        doc = await self.survey(sid)
        now = self.ctx.now()
        ensure_accepting(doc.state(), now)
        response_id = handlers.new_id()
        command = RecordResponse(survey_id, response_id, iin, answers, channel)
        valid = validate_response(command, self.rubric(doc), self.pepper, today=now.date())
        verdict = self.detector.observe(
            survey_id=sid,
            source=hashlib.blake2b(source.encode(), digest_size=8).hexdigest(),
            response_id=response_id,
            answers=valid.answers,
            now=moment,
        )
        submission = Submission(
            survey_id=sid,
            response_id=response_id,
            valid=valid,
            channel=channel,
            flags=verdict.reasons,
            earlier_flags=verdict.earlier,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        try:
            return await self.batcher.submit(submission)
        except DomainError:
            raise
        except Exception as exc:  # the transaction failed: nothing of it was committed
            log.error("survey.batch_failed", error=type(exc).__name__, detail=str(exc)[:200])
            raise Unavailable() from exc

    def _sweep(self, moment: float) -> None:
        if moment - self._swept >= SWEEP_SECONDS:
            self._swept = moment
            self.limiter.sweep(moment)
            self.detector.sweep(moment)

    # --- the deadline ------------------------------------------------------------------

    async def close_due(self) -> list[str]:
        """Close the surveys whose deadline passed at business time; their ids."""
        closed = await close_due(self.ctx.store, self.ctx.now())
        for event in closed:
            self.forget(event.survey_id)
        return [str(event.survey_id) for event in closed]

    def start(self) -> None:
        """Run the deadline closer in this process (distributed deployment)."""
        if self._closer is None and self.config.close_every > 0:
            self._closer = asyncio.get_running_loop().create_task(self._close_periodically())

    async def stop(self) -> None:
        self._stop.set()
        if self._closer is not None:
            self._closer.cancel()
            with suppress(asyncio.CancelledError):
                await self._closer
        await self.batcher.close()

    async def _close_periodically(self) -> None:
        while not self._stop.is_set():
            with suppress(TimeoutError):  # first wait: the runtime migrates after setup
                await asyncio.wait_for(self._stop.wait(), timeout=self.config.close_every)
            if self._stop.is_set():
                return
            try:
                closed = await self.close_due()
                if closed:
                    log.info("survey.closed_at_deadline", surveys=closed)
            except Exception as exc:  # the database may be away: try again next round
                log.warning("survey.close_due_failed", error=str(exc))


def service_of(ctx: ServiceContext) -> SurveyService:
    return cast(SurveyService, ctx.extras["survey"])


def install(ctx: ServiceContext) -> None:
    """``ServiceSpec.setup``: build the service and tie its background work to the store.

    The kernel has no start/stop hook for a service's own tasks yet; until it has, the closer
    starts here when the service runs inside an event loop on PostgreSQL (``uzdik serve``,
    the distributed test harness), and stops when the runtime closes the store."""
    service = SurveyService(ctx)
    ctx.extras["survey"] = service
    run_beside_store(ctx, service.start, service.stop)


async def close_due(store: EventStore, now: datetime) -> list[SurveyClosed]:
    """Close every open survey whose deadline passed (business time ``now``), each in its own
    transaction. The embedded mode and the demo call this: their clock is simulated."""
    async with store.transaction() as uow:
        due = await due_surveys(uow, now)
    closed = []
    for survey_id in due:
        cause = Cause(SYSTEM, f"deadline-{now}", now)
        try:
            async with store.transaction() as uow:
                command = CloseSurvey(survey_id=survey_id, reason="deadline")
                closed.append(await handlers.close_survey(uow, command, cause))
        except DomainError as refused:  # closed by hand meanwhile, or a deadline to the µs
            log.info("survey.close_skipped", survey_id=survey_id, code=refused.code)
    return closed
