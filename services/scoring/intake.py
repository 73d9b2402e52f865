"""What scoring learns from the other services: editions, admitted candidates, survey results.

Nominations publishes an application's facts over several events (submitted: the questionnaire;
admitted: the akim and the territory; the Annex 3 score, then the secretary's confirmation or
correction). Scoring gathers them in a ``scoring.intake`` document and registers the candidate
(``CandidateRegistered``, candidate id = application id) with its region's commission once it is
admitted *and* its score confirmed. With no commission formed for the region yet, the candidate
waits (``scoring.waiting``) and is registered in the transaction that forms it.

Payloads are read as JSON with defaults (a tolerant reader): a field nominations adds later
changes nothing here. Redelivery appends nothing: the consumer records what it applied, and
registration and survey results are idempotent in the domain too.

Tie-break facts (§12) read from the questionnaire: (1) ``implements_complex_projects``, a
yes/no quality (however many projects); (2) ``trilingual`` = fluent in the state language,
Russian and English. (4) The number of justified citizen complaints is not the nominator's to
give: the region's secretary records it with its source during the admission check
(nominations' ``JustifiedComplaintsRecorded``, a later one superseding the earlier). Before the
registration it is kept in the intake document and registered with the candidate; after, it is
recorded on the commission (``CandidateComplaintsRecorded``). Never recorded: null, never 0.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from services.scoring.adapters import lookups
from services.scoring.adapters.repository import Loaded, Repository
from services.scoring.domain import ScoringRules, decide
from services.scoring.domain import commands as cmd
from shared.errors import DomainError
from shared.events import Actor, Envelope
from shared.handlers import Cause
from shared.logging import get_logger
from shared.store.eventstore import UnitOfWork

INTAKE_ACTOR = Actor(id="scoring-intake", role="system")
log = get_logger("uzdik.scoring.intake")


def cause_of(envelope: Envelope) -> Cause:
    """Events appended because of a consumed event carry its correlation and its id."""
    return Cause.of_event(envelope, INTAKE_ACTOR)


# --- nominations --------------------------------------------------------------------------


CALENDAR = {  # the steps of the edition's calendar that bind scoring (domain.deadlines)
    "stage_one": "stage_one_deadline",
    "interviews": "interviews_deadline",
    "finalists": "finalists_deadline",
    "materials": "materials_deadline",
    "defences": "defences_deadline",
}


async def edition_announced(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """Keep the edition's ``rules.scoring`` overrides (invalid ones: logged, 2020 rules kept)
    and the deadlines of its calendar that bind scoring."""
    overrides = (payload.get("rules") or {}).get("scoring") or {}
    try:
        ScoringRules.model_validate(overrides)
    except ValidationError as error:
        edition = payload.get("edition_id")
        log.error("intake.scoring_rules_invalid", edition=edition, error=str(error))
        overrides = {}
    calendar = payload.get("calendar") or {}
    deadlines = {step: calendar[key] for step, key in CALENDAR.items() if calendar.get(key)}
    doc = {"overrides": overrides, "deadlines": deadlines}
    await uow.docs.put(lookups.EDITION, payload["edition_id"], doc)


async def deadline_extended(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """The organiser moved a step's deadline (nominations' DeadlineExtended)."""
    doc = await uow.docs.get(lookups.EDITION, payload["edition_id"])
    if doc is None or payload.get("step") not in CALENDAR:
        return
    doc.setdefault("deadlines", {})[payload["step"]] = payload["new_deadline"]
    await uow.docs.put(lookups.EDITION, payload["edition_id"], doc)


async def application_submitted(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    q = payload.get("questionnaire") or {}
    doc = await _intake(uow, payload["application_id"])
    doc.update(_where(payload), edition_id=payload["edition_id"], **tie_facts(q))
    doc.setdefault("name", _name(q.get("akim") or {}))
    await _put(uow, doc)


async def application_admitted(
    uow: UnitOfWork, repo: Repository, payload: dict[str, Any], cause: Cause
) -> None:
    doc = await _intake(uow, payload["application_id"])
    doc.update(_where(payload), edition_id=payload["edition_id"], admitted=True)
    doc["name"] = _name(payload.get("akim") or {}) or doc.get("name", "")
    await _settle(uow, repo, doc, cause)


async def questionnaire_scored(uow: UnitOfWork, application_id: str, total: int) -> None:
    doc = await _intake(uow, application_id)
    doc.update(score=total, confirmed=False)
    await _put(uow, doc)


async def questionnaire_confirmed(
    uow: UnitOfWork, repo: Repository, application_id: str, total: int, cause: Cause
) -> None:
    doc = await _intake(uow, application_id)
    doc.update(score=total, confirmed=True)
    await _settle(uow, repo, doc, cause)


async def questionnaire_corrected(
    uow: UnitOfWork, repo: Repository, payload: dict[str, Any], cause: Cause
) -> None:
    """Before registration the new score is the one registered; after, it is recorded."""
    doc = await _intake(uow, payload["application_id"])
    doc.update(score=int(payload["score"]["total"]), confirmed=True)
    registered_in = doc.get("registered_in")
    if registered_in is None:
        await _settle(uow, repo, doc, cause)
        return
    await _put(uow, doc)
    command = cmd.CorrectCandidateQuestionnaire(
        candidate_id=doc["application_id"],
        questionnaire_score=doc["score"],
        reason=str(payload.get("reason") or "corrected by the secretary"),
    )
    await _apply(uow, repo, registered_in, command, cause)


async def complaints_recorded(
    uow: UnitOfWork, repo: Repository, payload: dict[str, Any], cause: Cause
) -> None:
    """§12 (4): the secretary's figure and its source (JustifiedComplaintsRecorded)."""
    count, source = int(payload["count"]), str(payload.get("source") or "").strip()
    if count < 0 or not source:  # outside the contract: never let it block the registration
        log.error("intake.complaints_invalid", application=payload["application_id"])
        return
    doc = await _intake(uow, payload["application_id"])
    doc.setdefault("edition_id", payload.get("edition_id"))
    doc.update(justified_complaints=count, complaints_source=source)
    await _put(uow, doc)
    registered_in = doc.get("registered_in")
    if registered_in is None:
        return
    command = cmd.RecordCandidateComplaints(
        candidate_id=doc["application_id"],
        justified_complaints=doc["justified_complaints"],
        source=str(doc["complaints_source"]),
    )
    await _apply(uow, repo, registered_in, command, cause)


async def application_withdrawn(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    """A withdrawn application that was waiting for its commission no longer waits."""
    doc = await _intake(uow, payload["application_id"])
    doc["withdrawn"] = True
    await _put(uow, doc)
    if doc.get("region") and doc.get("edition_id"):
        key = lookups.waiting_key(doc["edition_id"], doc["region"], doc["application_id"])
        await uow.docs.delete(lookups.WAITING, key)


# --- registration -------------------------------------------------------------------------


async def _settle(uow: UnitOfWork, repo: Repository, doc: dict[str, Any], cause: Cause) -> None:
    """Register the candidate when it is ready and its commission sits; else let it wait."""
    await _put(uow, doc)
    if not _ready(doc):
        return
    await uow.lock()  # the commission's formation takes it too: one of them sees the other
    commission_id = await lookups.seated(uow.docs, doc["edition_id"], doc["region"])
    if commission_id is None:
        key = lookups.waiting_key(doc["edition_id"], doc["region"], doc["application_id"])
        await uow.docs.put(lookups.WAITING, key, {"application_id": doc["application_id"]})
        return
    loaded = await repo.load(uow, commission_id)
    await _register(uow, repo, loaded, doc, cause)


async def register_waiting(
    uow: UnitOfWork, repo: Repository, loaded: Loaded, cause: Cause
) -> tuple[Loaded, list[Envelope]]:
    """Register every candidate that waited for this (just formed) commission."""
    ref = loaded.ref
    if ref.region is None:
        return loaded, []
    appended: list[Envelope] = []
    for key, _ in await uow.docs.list(lookups.WAITING, f"{ref.edition_id}/{ref.region}/"):
        doc = await _intake(uow, key.rsplit("/", 1)[1])
        loaded, envelopes = await _register(uow, repo, loaded, doc, cause)
        appended += envelopes
    return loaded, appended


async def _register(
    uow: UnitOfWork, repo: Repository, loaded: Loaded, doc: dict[str, Any], cause: Cause
) -> tuple[Loaded, list[Envelope]]:
    command = registration(doc)
    try:
        events = decide(loaded.state, command)
    except DomainError as error:
        log.error("intake.registration_refused", application=doc["application_id"], code=error.code)
        return loaded, []
    loaded, envelopes = await repo.append(uow, loaded, events, cause)
    commission_id = loaded.ref.commission_id
    doc["registered_in"] = commission_id
    await _put(uow, doc)
    key = lookups.waiting_key(doc["edition_id"], doc["region"], doc["application_id"])
    await uow.docs.delete(lookups.WAITING, key)
    where = {k: doc[k] for k in ("edition_id", "region", "district")}
    await lookups.put_candidate(
        uow.docs, command.candidate_id, {"commission_id": commission_id, **where}
    )
    return loaded, envelopes


def registration(doc: dict[str, Any]) -> cmd.RegisterCandidate:
    return cmd.RegisterCandidate(
        candidate_id=doc["application_id"],
        application_id=doc["application_id"],
        edition_id=doc["edition_id"],
        name=doc.get("name") or doc["application_id"],
        rural_district=doc["rural_district"],
        district=doc["district"],
        region=doc["region"],
        questionnaire_score=int(doc["score"]),
        implements_complex_projects=_complex(doc),
        trilingual=bool(doc.get("trilingual", False)),
        justified_complaints=_complaints(doc),
        complaints_source=doc.get("complaints_source") or None,
    )


def _complex(doc: dict[str, Any]) -> bool:
    """Yes/no; an intake document kept before the change counted the projects."""
    if "implements_complex_projects" in doc:
        return bool(doc["implements_complex_projects"])
    return int(doc.get("complex_projects") or 0) > 0


def _complaints(doc: dict[str, Any]) -> int | None:
    """The secretary's figure, which always comes with its source; an intake document kept
    before the change may hold the questionnaire's indicator or a default 0 without one."""
    if not doc.get("complaints_source") or doc.get("justified_complaints") is None:
        return None
    return int(doc["justified_complaints"])


def _ready(doc: dict[str, Any]) -> bool:
    return (
        bool(doc.get("admitted"))
        and bool(doc.get("confirmed"))
        and doc.get("score") is not None
        and not doc.get("withdrawn")
        and doc.get("registered_in") is None
        and all(doc.get(k) for k in ("edition_id", "region", "district", "rural_district"))
    )


def tie_facts(questionnaire: dict[str, Any]) -> dict[str, Any]:
    """The §12 tie-break facts of a questionnaire (see the module docstring)."""
    fluent = {
        s.get("language")
        for s in questionnaire.get("languages") or ()
        if s.get("level") == "fluent"
    }
    return {
        "implements_complex_projects": bool(questionnaire.get("implements_complex_projects")),
        "trilingual": {"state", "russian", "english"} <= fluent,
    }


def _where(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "region": payload.get("region_kato"),
        "district": payload.get("district_kato"),
        "rural_district": payload.get("rural_district_kato"),
    }


def _name(person: dict[str, Any]) -> str:
    parts = (person.get("surname"), person.get("given_name"), person.get("patronymic"))
    return " ".join(str(p) for p in parts if p)


async def _intake(uow: UnitOfWork, application_id: str) -> dict[str, Any]:
    found = await uow.docs.get(lookups.INTAKE, application_id)
    return found if found is not None else {"application_id": application_id}


async def _put(uow: UnitOfWork, doc: dict[str, Any]) -> None:
    await uow.docs.put(lookups.INTAKE, doc["application_id"], doc)


# --- survey -------------------------------------------------------------------------------


async def survey_opened(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    doc = {"candidate_id": str(payload["candidate_id"]), "rubric_id": payload.get("rubric_id", "")}
    await uow.docs.put(lookups.SURVEY, str(payload["survey_id"]), doc)


async def survey_closed(
    uow: UnitOfWork, repo: Repository, payload: dict[str, Any], cause: Cause
) -> None:
    """§14.3: the closed survey's result, for the candidate's commission (the candidate named
    by the event, or by the survey's SurveyOpened)."""
    survey_id = str(payload["survey_id"])
    opened = await uow.docs.get(lookups.SURVEY, survey_id) or {}
    candidate_id = str(payload.get("candidate_id") or opened.get("candidate_id") or "")
    where = await lookups.candidate(uow.docs, candidate_id) if candidate_id else None
    if where is None:
        log.warning("intake.survey_of_unknown_candidate", survey=survey_id)
        return
    result = payload.get("result") or {}
    means, total = result.get("means"), result.get("mean_total")
    command = cmd.ReceiveSurveyResult(
        candidate_id=candidate_id,
        survey_id=survey_id,
        rubric_id=str(payload.get("rubric_id") or opened.get("rubric_id") or "annex5"),
        responses=int(result.get("responses") or 0),
        mean_per_criterion=None if means is None else tuple(Decimal(str(m)) for m in means),
        mean_total=None if total is None else Decimal(str(total)),
    )
    await _apply(uow, repo, where["commission_id"], command, cause)


async def _apply(
    uow: UnitOfWork, repo: Repository, commission_id: str, command: cmd.Command, cause: Cause
) -> None:
    """Decide a consumed fact; a refusal is logged (a consumer has no one to answer)."""
    await uow.lock()
    loaded = await repo.load(uow, commission_id)
    try:
        events = decide(loaded.state, command)
    except DomainError as error:
        log.error("intake.refused", command=type(command).__name__, code=error.code)
        return
    await repo.append(uow, loaded, events, cause)
