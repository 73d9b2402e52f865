"""Survey service layer: the commands other than a resident's response (see ``ingest``).

Every command takes the service's append lock first, reading under it the version of
``survey-<id>``; it reads the ``survey`` document (the snapshot of the stream: nothing is
folded) and, when a decision needs it, the ``survey_tally`` counter; decides with the domain,
appends at that version and writes the document back — all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from services.survey.adapters.readmodels import (
    ANSWERED,
    CANDIDATE,
    DUE,
    ROLL,
    SurveyDoc,
    add_tally,
    delete_prefix,
    due_key,
    existing_keys,
    get_survey,
    get_tally,
    insert_docs,
    put_survey,
    require_survey,
    resident_doc_key,
    survey_stream,
)
from services.survey.domain import roll as roll_domain
from services.survey.domain import survey as survey_domain
from services.survey.domain.csv_import import (
    ImportPaperPoll,
    ImportReport,
    import_responses,
    parse_paper_poll,
)
from services.survey.domain.roll import UploadRoll
from services.survey.domain.rubric import SurveyRules, load_rubric
from services.survey.domain.survey import CloseSurvey, NoteCandidate, OpenSurvey, ensure_accepting
from services.survey.events import SurveyClosed, SurveyOpened
from shared.errors import DomainError, RuleViolation
from shared.events import Envelope
from shared.handlers import Cause, append
from shared.ids import uuid7
from shared.logging import get_logger
from shared.store.eventstore import UnitOfWork

log = get_logger("uzdik.survey")
NAMESPACE = uuid.UUID("6f1d4b0e-5c38-4c5e-9a57-9d0f4b6f2a11")


def new_id() -> UUID:
    """A UUIDv7 (API.md: time-ordered ids where we mint them)."""
    return uuid7()


def survey_id_for(candidate_id: str) -> UUID:
    """The survey of a nominee: the same id however often the nomination is delivered."""
    return uuid.uuid5(NAMESPACE, f"survey:{candidate_id}")


async def open_survey(
    uow: UnitOfWork, command: OpenSurvey, cause: Cause, *, rules: SurveyRules
) -> list[Envelope]:
    """Open a survey (organiser, or a consumed nomination)."""
    await uow.lock()
    existing = await get_survey(uow, command.survey_id)
    state = None if existing is None else existing.state()
    events = survey_domain.open_survey(state, command, now=cause.at, rules=rules)
    envelopes = await append(uow, survey_stream(command.survey_id), 0, events, cause)
    opened = events[0]
    assert isinstance(opened, SurveyOpened)
    await put_survey(uow, SurveyDoc(opened=opened), new=True)
    await insert_docs(uow, DUE, [(due_key(opened.closes_at, opened.survey_id), {})])
    return envelopes


async def close_survey(uow: UnitOfWork, command: CloseSurvey, cause: Cause) -> SurveyClosed:
    """Close with the final result (organiser by hand, or the deadline)."""
    survey_id = command.survey_id
    stream = survey_stream(survey_id)
    version = (await uow.lock(streams=[stream])).versions[stream]
    doc = await require_survey(uow, survey_id)
    tally = await get_tally(uow, survey_id)
    events = survey_domain.close_survey(
        doc.state(tally), now=cause.at, reason=command.reason, flagged=tally.flagged
    )
    await append(uow, stream, version, events, cause)
    closed = events[0]
    assert isinstance(closed, SurveyClosed)
    updated = doc.model_copy(
        update={
            "status": "closed",
            "closed_at": closed.closed_at,
            "result": closed.result,
        }
    )
    await put_survey(uow, updated)
    await uow.docs.delete(DUE, due_key(doc.opened.closes_at, survey_id))
    return closed


async def upload_roll(
    uow: UnitOfWork, command: UploadRoll, cause: Cause, *, pepper: bytes
) -> tuple[SurveyDoc, list[Envelope]]:
    """Set (or replace) the residents' roll: keys stored as documents, the digest logged."""
    survey_id = command.survey_id
    keys = roll_domain.roll_keys(command.residents, pepper)
    stream = survey_stream(survey_id)
    version = (await uow.lock(streams=[stream])).versions[stream]
    doc = await require_survey(uow, survey_id)
    events = roll_domain.upload_roll(doc.state(await get_tally(uow, survey_id)), keys)
    envelopes = await append(uow, stream, version, events, cause)
    await delete_prefix(uow, ROLL, f"{survey_id}:")
    await insert_docs(uow, ROLL, [(resident_doc_key(survey_id, k), {}) for k in sorted(keys)])
    updated = doc.model_copy(
        update={
            "roll_count": len(keys),
            "roll_sha256": roll_domain.roll_digest(keys),
        }
    )
    await put_survey(uow, updated)
    return updated, envelopes


@dataclass(frozen=True)
class PaperImport:
    import_id: UUID
    report: ImportReport
    envelopes: list[Envelope]


async def import_paper_poll(
    uow: UnitOfWork, command: ImportPaperPoll, cause: Cause, *, pepper: bytes
) -> PaperImport:
    """A paper poll's CSV: every line accepted and appended, or nothing (422 naming each
    refused line and why)."""
    survey_id, data, now = command.survey_id, command.data, cause.at
    stream = survey_stream(survey_id)
    version = (await uow.lock(streams=[stream])).versions[stream]
    doc = await require_survey(uow, survey_id)
    state = doc.state()
    ensure_accepting(state, now)
    rubric = load_rubric(doc.opened.rubric_id)
    today = now.date()
    draft = parse_paper_poll(data, rubric, pepper=pepper, answered=(), today=today)
    residents = {line.resident for line in draft.lines if line.resident is not None}
    keys = {resident_doc_key(survey_id, r): r for r in residents}
    answered = {keys[k] for k in await existing_keys(uow, ANSWERED, keys)}
    roll = None
    if doc.roll_sha256 is not None:
        roll = {keys[k] for k in await existing_keys(uow, ROLL, keys)}
    report = parse_paper_poll(
        data, rubric, pepper=pepper, answered=answered, roll=roll, today=today
    )
    if not report.all_ok:
        raise import_refusal(report)
    import_id = new_id()
    events = import_responses(state, report, now=now, import_id=import_id, new_id=new_id)
    envelopes = await append(uow, stream, version, events, cause)
    await insert_docs(uow, ANSWERED, [(k, {}) for k in sorted(keys)])
    await add_tally(uow, survey_id, events)
    return PaperImport(import_id, report, envelopes)


def line_report(report: ImportReport) -> list[dict[str, Any]]:
    """Line by line: accepted, or refused with every reason (never the IIN)."""
    return [
        {
            "line": line.line,
            "status": "accepted" if line.accepted else "refused",
            **({"errors": [e.as_dict() for e in line.errors]} if line.errors else {}),
        }
        for line in report.lines
    ]


def import_refusal(report: ImportReport) -> DomainError:
    base = report.refusal()
    if report.problems:
        return RuleViolation(base.code, base.detail, base.errors, fingerprint=report.fingerprint)
    return RuleViolation(
        base.code,
        base.detail,
        base.errors,
        fingerprint=report.fingerprint,
        accepted=report.accepted,
        refused=report.refused,
        lines=line_report(report),
    )


# --- opened by a nomination (consumed from the scoring service) -------------------------------


async def note_candidate(
    uow: UnitOfWork, command: NoteCandidate, cause: Cause, *, rules: SurveyRules
) -> list[Envelope]:
    """Remember what a nomination's survey needs; open it once both the registration (where)
    and the nomination (when) are known, whatever order they arrive in."""
    await uow.lock()
    candidate_id = command.candidate_id
    known = await uow.docs.get(CANDIDATE, candidate_id) or {}
    known.update(command.facts)
    await uow.docs.put(CANDIDATE, candidate_id, known)
    if not {"rural_district", "region", "edition_id", "nominated_at"} <= known.keys():
        return []
    survey_id = survey_id_for(candidate_id)
    if await get_survey(uow, survey_id) is not None:
        return []
    opens_at = datetime.fromisoformat(known["nominated_at"])
    opening = OpenSurvey(
        survey_id=survey_id,
        edition_id=known["edition_id"],
        candidate_id=candidate_id,
        settlement_kato=known["rural_district"],
        region_kato=known["region"],
        opens_at=opens_at,
        closes_at=opens_at + timedelta(days=rules.open_days),
    )
    try:
        return await open_survey(uow, opening, cause, rules=rules)
    except RuleViolation as refused:  # delivered after its window: nothing left to open
        log.warning("survey.not_opened", candidate_id=candidate_id, code=refused.code)
        return []
