"""Public contract of the scoring service: the facts of commissions, sittings, sheets and decisions.

Every class here is published on ``uzdik.scoring.events`` and is versioned: a new shape is a new
``schema_version`` plus an upcaster in :data:`registry`, never an edit in place.

Choices documented for integrators:

* Ids are strings (UUIDs where the service mints them); territorial units are 9-digit KATO codes.
* Scores on a sheet are integers; computed values (means, points, totals) are
  :class:`~decimal.Decimal` rounded half-up from the exact fraction to the edition's
  ``ScoringRules.decimals`` and serialised as JSON strings (``"83.3333"``): byte-identical on
  every replay. Rankings rank on exactly the value shown.
* Stages: ``stage1_selection`` (§12–§13: questionnaire, project sheets, nomination),
  ``stage1_interview`` (§14–§16: ethics, feedback, survey, essay, interview, finalist) and
  ``stage2`` (§19–§21: defences, Annex 7 sheets, winners).
* Every event tied to a sitting carries its ``sitting_id``; the sitting's protocol is exactly
  those events, in log order (:mod:`services.scoring.domain.protocol`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.events import Event, EventRegistry

registry = EventRegistry()

Id = Annotated[str, Field(min_length=1, max_length=64)]
Kato = Annotated[str, Field(pattern=r"^\d{9}$", description="9-digit KATO code")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Points = Annotated[Decimal, Field(ge=0, description="rounded half-up to ScoringRules.decimals")]
Level = Literal["regional", "republican"]
Stage = Literal["stage1_selection", "stage1_interview", "stage2"]
SheetKind = Literal["project", "essay", "interview", "stage2"]
Purpose = Literal["nomination", "regional", "winners"]
Role = Literal["chair", "secretary"]
DefenceMode = Literal["in_person", "video"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a UTC offset (RFC 3339)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Value(BaseModel):
    """Base of the nested values of the contract: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Position = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="the person's post, one of ScoringRules.positions (e.g. agency_employee)",
    ),
]


class Person(Value):
    person_id: Id
    name: Text
    position: Position | None = Field(
        None, description="§3/§4: required for the chair and the secretary at formation"
    )


# --- commission (§3, §4, §5) -------------------------------------------------------------


@registry.register
class CommissionFormed(Event):
    """A Regional (§3) or the Republican (§4) commission: its voting members, chair, secretary."""

    event_type = "CommissionFormed"
    schema_version = 2  # v2: Person.position (§3/§4 qualifications); v1 reads with none
    commission_id: Id
    edition_id: Id
    level: Level
    region: Kato | None = Field(description="the region (KATO) of a regional commission")
    members: tuple[Person, ...] = Field(description="voting members; the chair is one of them")
    chair_id: Id
    secretary: Person = Field(description="not a voting member (§5)")


@registry.register
class MemberReplaced(Event):
    """A voting member left and another took the seat; ``chair_id`` is the chair afterwards."""

    event_type = "MemberReplaced"
    schema_version = 2  # v2: Person.position; v1 reads with none
    commission_id: Id
    outgoing_id: Id
    incoming: Person
    reason: Text
    chair_id: Id


@registry.register
class MemberRecused(Event):
    """A member declared a conflict of interest and gives no sheet for that candidate."""

    event_type = "MemberRecused"
    commission_id: Id
    member_id: Id
    candidate_id: Id
    reason: Text


# --- candidates and their pre-interview assessments (§12, §14) ----------------------------


@registry.register
class CandidateRegistered(Event):
    """An admitted candidate (from nominations) with the facts stage I needs (§12, Annex 3).

    v2 (§12 tie-break): (1) is the yes/no ``implements_complex_projects``, no longer a count;
    (4) ``justified_complaints`` is the figure the secretary recorded with its
    ``complaints_source`` during the admission check, null when never recorded (unknown is
    never 0)."""

    event_type = "CandidateRegistered"
    schema_version = 2
    candidate_id: Id
    application_id: Id
    edition_id: Id
    name: Text
    rural_district: Kato
    district: Kato
    region: Kato
    questionnaire_score: int = Field(ge=0, description="Annex 3 total, verified by the secretary")
    implements_complex_projects: bool = Field(description="tie-break 1: yes/no")
    trilingual: bool = Field(description="tie-break 2: state, Russian and English languages")
    justified_complaints: int | None = Field(
        ge=0, description="tie-break 4: justified complaints; null = not recorded"
    )
    complaints_source: str | None = Field(
        None, max_length=4000, description="where the complaints figure comes from"
    )


@registry.upcaster("CandidateRegistered", 1)
def _registered_v1(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 counted complex projects (> 0: yes) and read an unknown complaints figure as 0 (or
    took the questionnaire's unsourced indicator): no figure recorded with its source, so
    none."""
    out = {k: v for k, v in payload.items() if k != "complex_projects"}
    out["implements_complex_projects"] = int(payload.get("complex_projects") or 0) > 0
    out["justified_complaints"] = None
    out["complaints_source"] = None
    return out


@registry.register
class CandidateComplaintsRecorded(Event):
    """The region's secretary recorded (nominations' JustifiedComplaintsRecorded) the number of
    justified citizen complaints about a registered candidate (§12 tie-break 4), with its source;
    a later one supersedes it."""

    event_type = "CandidateComplaintsRecorded"
    candidate_id: Id
    justified_complaints: int = Field(ge=0)
    source: Text
    previous: int | None = Field(description="the figure it supersedes; null = none before")


@registry.register
class CandidateQuestionnaireCorrected(Event):
    """The region's secretary corrected a registered candidate's Annex 3 score (nominations).

    Later rankings use the new score; a ranking already decided stays as it was decided."""

    event_type = "CandidateQuestionnaireCorrected"
    candidate_id: Id
    questionnaire_score: int = Field(ge=0)
    previous_score: int = Field(ge=0)
    reason: Text


@registry.register
class SurveyResultReceived(Event):
    """The resident survey's result (§14.3, Annex 5) from the survey service; null = no answer."""

    event_type = "SurveyResultReceived"
    candidate_id: Id
    survey_id: Id
    rubric_id: str
    responses: int = Field(ge=0)
    mean_per_criterion: tuple[Points, ...] | None = Field(description="in Annex 5 order")
    mean_total: Points | None


@registry.register
class EthicsResultRecorded(Event):
    """The ethics commissioner's result for a nominee (§14.1), 0..ScoringRules.ethics_max."""

    event_type = "EthicsResultRecorded"
    commission_id: Id
    candidate_id: Id
    commissioner_id: Id
    score: int = Field(ge=0)
    note: str = ""


@registry.register
class FeedbackAssessmentRecorded(Event):
    """How open the akim is to residents (§14.2), 0..ScoringRules.feedback_max."""

    event_type = "FeedbackAssessmentRecorded"
    commission_id: Id
    candidate_id: Id
    assessor_id: Id
    score: int = Field(ge=0)
    note: str = ""


# --- sittings and sheets (§3, §20) ----------------------------------------------------------


@registry.register
class SittingOpened(Event):
    """A sitting (заседание) of the commission opened, for one stage."""

    event_type = "SittingOpened"
    sitting_id: Id
    commission_id: Id
    stage: Stage
    purpose: Text = Field(description="what the sitting is for, as written in its protocol")
    opened_at: AwareDatetime


@registry.register
class AttendanceRecorded(Event):
    """Who is present and the quorum outcome (§3: at least 2/3 of the members)."""

    event_type = "AttendanceRecorded"
    commission_id: Id
    sitting_id: Id
    present: tuple[Id, ...]
    absent: tuple[Id, ...]
    members: int
    required: int
    quorate: bool


@registry.register
class ScoreRecorded(Event):
    """One member's evaluation sheet (оценочный лист) for one candidate."""

    event_type = "ScoreRecorded"
    commission_id: Id
    sheet_id: Id
    sitting_id: Id
    member_id: Id
    candidate_id: Id
    kind: SheetKind
    scores: dict[str, int] = Field(description="criterion key -> points")
    derived: tuple[str, ...] = Field(default=(), description="criteria filled in by a rule")
    total: int = Field(ge=0)


@registry.register
class ScoreCorrected(Event):
    """A new sheet superseding a live one; both stay in the history."""

    event_type = "ScoreCorrected"
    commission_id: Id
    sheet_id: Id
    supersedes: Id
    sitting_id: Id
    member_id: Id
    candidate_id: Id
    kind: SheetKind
    scores: dict[str, int]
    derived: tuple[str, ...] = ()
    total: int = Field(ge=0)
    reason: Text


# --- rankings and decisions (§3, §12, §16, §21) -------------------------------------------


class Component(Value):
    """One line of a total: ``weighted = value × weight`` (rounded).

    A line of weight 0 is shown beside the total, not added to it. ``value`` null: the figure
    does not exist (a survey with no responses is "no responses", never 0); ``count`` is the
    number of survey responses behind a survey mean (v2 of the events that carry components).
    """

    name: str
    value: Points | None
    weight: Decimal
    weighted: Points | None
    count: int | None = Field(None, ge=0, description="survey responses behind the value")


class RankEntry(Value):
    candidate_id: Id
    rank: int = Field(ge=1, description="competition ranking: equal totals share a rank")
    total: Points
    components: tuple[Component, ...]
    sheets: dict[str, int] = Field(default_factory=dict, description="live sheets per kind")
    sheet_sums: dict[str, int] = Field(default_factory=dict, description="sum of their totals")


class TieBreakStep(Value):
    """One §12 tie-break criterion applied to the candidates still tied at the cut-off."""

    criterion: str
    prefer: Literal["higher", "lower"]
    applied: bool = Field(description="false when a value is not available for all of them")
    values: dict[str, Decimal | None]
    advanced: tuple[Id, ...] = Field(description="separated by this step: take a seat")
    eliminated: tuple[Id, ...] = Field(description="separated by this step: out")
    still_tied: tuple[Id, ...]


@registry.register
class RankingComputed(Event):
    """A ranking and its cut-off; ``pending_casting_vote`` leaves ``tied`` for the chair."""

    event_type = "RankingComputed"
    schema_version = 2  # v2: Component.value may be null, Component.count
    commission_id: Id
    sitting_id: Id
    purpose: Purpose
    scope: Kato | None = Field(description="the district (nomination) or region (regional)")
    entries: tuple[RankEntry, ...]
    seats: int
    selected: tuple[Id, ...]
    tie_break_steps: tuple[TieBreakStep, ...] = ()
    status: Literal["complete", "pending_casting_vote"]
    tied: tuple[Id, ...] = ()
    seats_left: int = Field(0, description="seats not filled by ``selected``")


@registry.register
class CastingVoteRecorded(Event):
    """The chair's casting vote (§3, §4) on a tie the rules did not settle."""

    event_type = "CastingVoteRecorded"
    commission_id: Id
    sitting_id: Id
    purpose: Purpose
    scope: Kato | None
    chair_id: Id
    tied: tuple[Id, ...]
    seats_left: int
    chosen: tuple[Id, ...]


@registry.register
class CandidateNominated(Event):
    """Stage I: one of at most N akims of a district nominated (§12)."""

    event_type = "CandidateNominated"
    commission_id: Id
    sitting_id: Id
    candidate_id: Id
    district: Kato
    points: Points
    rank: int
    basis: Literal["points", "tie_break", "casting_vote"]


@registry.register
class FinalistSelected(Event):
    """The region's finalist (§16); ``reason`` is required when it departs from the ranking."""

    event_type = "FinalistSelected"
    schema_version = 2  # v2: Component.value may be null, Component.count
    commission_id: Id
    sitting_id: Id
    edition_id: Id
    region: Kato
    candidate_id: Id
    regional_total: Points
    components: tuple[Component, ...]
    rank: int
    top: tuple[Id, ...] = Field(description="the candidates ranked first")
    reason: str | None = None


@registry.register
class NoFinalistRecorded(Event):
    """§16: a region with no admitted candidate has no finalist; the commission records why,
    and its interview stage may close."""

    event_type = "NoFinalistRecorded"
    commission_id: Id
    sitting_id: Id
    edition_id: Id
    region: Kato
    reason: Text


@registry.register
class MaterialsSentToAgency(Event):
    """§18: the region's secretary sent the materials and the regional decision to the Agency
    (by 15 August 18:30 in 2020)."""

    event_type = "MaterialsSentToAgency"
    commission_id: Id
    edition_id: Id
    region: Kato
    finalist_id: Id | None = Field(description="the region's finalist; null: no finalist")
    note: str = Field("", max_length=4000)
    sent_at: AwareDatetime


@registry.register
class ProjectDefenceRegistered(Event):
    """Stage II: a finalist's personal project to defend (§19)."""

    event_type = "ProjectDefenceRegistered"
    commission_id: Id
    candidate_id: Id
    title: Text
    budget_tenge: int = Field(ge=0)
    talk_seconds: int = Field(ge=0)
    mode: DefenceMode


class Winner(Value):
    candidate_id: Id
    place: int = Field(ge=1)
    mean: Points
    sum: int
    sheets: int


@registry.register
class WinnersDecided(Event):
    """The Republican commission's decision on the winners (§21).

    v2: with fewer finalists than places, ``places_not_awarded`` names the places left empty and
    ``not_awarded_reason`` says why."""

    event_type = "WinnersDecided"
    schema_version = 2
    commission_id: Id
    sitting_id: Id
    winners: tuple[Winner, ...]
    by_casting_vote: bool
    places_not_awarded: tuple[int, ...] = ()
    not_awarded_reason: str | None = None


@registry.upcaster("WinnersDecided", 1)
def _winners_from_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "places_not_awarded": [], "not_awarded_reason": None}


# --- stages and protocols ------------------------------------------------------------------


@registry.register
class StageClosed(Event):
    """Nothing in the stage changes afterwards, short of a StageReopened."""

    event_type = "StageClosed"
    commission_id: Id
    stage: Stage
    closed_at: AwareDatetime


@registry.register
class StageReopened(Event):
    event_type = "StageReopened"
    commission_id: Id
    stage: Stage
    reason: Text
    reopened_at: AwareDatetime


class Signature(Value):
    """An Ed25519 signature over the protocol digest; key and signature are base64 or hex."""

    role: Role
    person_id: Id
    public_key: str
    signature: str


@registry.register
class ProtocolSigned(Event):
    """The chair and the secretary signed the sitting's protocol (§3, §4); it is sealed."""

    event_type = "ProtocolSigned"
    commission_id: Id
    sitting_id: Id
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the canonical protocol")
    signatures: tuple[Signature, ...]
    signed_at: AwareDatetime


# --- versions -------------------------------------------------------------------------------


def _unchanged(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 payload is a valid v2 one: the new fields have their defaults."""
    return payload


for _type in ("CommissionFormed", "MemberReplaced", "RankingComputed", "FinalistSelected"):
    registry.upcaster(_type, 1)(_unchanged)


Downcaster = Callable[[dict[str, Any]], dict[str, Any] | None]


def _components_v1(entries: list[dict[str, Any]]) -> bool:
    """Every component of ``entries`` says nothing v1 could not (a value, no count)."""
    lines = [c for e in entries for c in e.get("components", [])]
    return all(c.get("value") is not None and c.get("count") is None for c in lines)


def _without_count(entry: dict[str, Any]) -> dict[str, Any]:
    components = [{k: v for k, v in c.items() if k != "count"} for c in entry["components"]]
    return {**entry, "components": components}


def _ranking_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if not _components_v1(payload["entries"]):
        return None
    return {**payload, "entries": [_without_count(e) for e in payload["entries"]]}


def _finalist_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if not _components_v1([payload]):
        return None
    return _without_count(payload)


def _winners_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("places_not_awarded") or payload.get("not_awarded_reason") is not None:
        return None
    return {
        k: v for k, v in payload.items() if k not in ("places_not_awarded", "not_awarded_reason")
    }


DOWNCASTS: dict[str, Downcaster] = {
    "RankingComputed": _ranking_v1,
    "FinalistSelected": _finalist_v1,
    "WinnersDecided": _winners_v1,
}
"""v2 → v1 for the events a protocol records (see :func:`as_written`)."""


def as_written(event: Event) -> tuple[int, dict[str, Any]]:
    """The oldest version that says all ``event`` says, and its payload.

    A protocol's digest covers its records as written; a record v1 could express is written
    as v1, so a protocol signed before v2 existed (its v1 events upcast on replay) keeps its
    digest byte for byte, and one signed since is written by the same rule."""
    payload = event.to_payload()
    down = DOWNCASTS.get(event.event_type)
    if event.schema_version == 2 and down is not None:
        older = down(payload)
        if older is not None:
            return 1, older
    return event.schema_version, payload
