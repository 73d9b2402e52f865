"""Commands: what a secretary, member, chair or another service asks the scoring domain to do.

Imperative names; each is decided by :func:`services.scoring.domain.decide` into events or
refused with a :class:`shared.errors.DomainError`. The actor's identity (``member_id``,
``chair_id``…) is the token's subject, filled in by the handler; time is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from services.scoring.events import (
    DefenceMode,
    Level,
    Person,
    Purpose,
    SheetKind,
    Signature,
    Stage,
)


@dataclass(frozen=True)
class FormCommission:
    commission_id: str
    edition_id: str
    level: Level
    region: str | None
    members: tuple[Person, ...]
    chair_id: str
    secretary: Person


@dataclass(frozen=True)
class ReplaceMember:
    outgoing_id: str
    incoming: Person
    reason: str
    chair_id: str | None = None  # required when the outgoing member is the chair


@dataclass(frozen=True)
class RecuseMember:
    member_id: str
    candidate_id: str
    reason: str


@dataclass(frozen=True)
class RegisterCandidate:
    candidate_id: str
    application_id: str
    edition_id: str
    name: str
    rural_district: str
    district: str
    region: str
    questionnaire_score: int
    implements_complex_projects: bool
    trilingual: bool
    justified_complaints: int | None = None  # None: never recorded by the secretary
    complaints_source: str | None = None


@dataclass(frozen=True)
class RecordCandidateComplaints:
    """§12 (4): the secretary's figure of justified complaints, with its source (nominations)."""

    candidate_id: str
    justified_complaints: int
    source: str


@dataclass(frozen=True)
class CorrectCandidateQuestionnaire:
    candidate_id: str
    questionnaire_score: int
    reason: str


@dataclass(frozen=True)
class ReceiveSurveyResult:
    candidate_id: str
    survey_id: str
    rubric_id: str
    responses: int
    mean_per_criterion: tuple[Decimal, ...] | None
    mean_total: Decimal | None


@dataclass(frozen=True)
class RecordEthicsResult:
    candidate_id: str
    commissioner_id: str
    score: int
    note: str = ""


@dataclass(frozen=True)
class RecordFeedbackAssessment:
    candidate_id: str
    assessor_id: str
    score: int
    note: str = ""


@dataclass(frozen=True)
class OpenSitting:
    sitting_id: str
    stage: Stage
    purpose: str
    at: datetime
    purpose_kk: str | None = None
    place: str | None = None
    place_kk: str | None = None


@dataclass(frozen=True)
class RecordAttendance:
    sitting_id: str
    present: tuple[str, ...]


@dataclass(frozen=True)
class RecordScore:
    sheet_id: str
    sitting_id: str
    member_id: str
    candidate_id: str
    kind: SheetKind
    scores: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CorrectScore:
    sheet_id: str
    supersedes: str
    sitting_id: str
    member_id: str
    reason: str
    scores: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class NominateDistrict:
    sitting_id: str
    district: str


@dataclass(frozen=True)
class CastCastingVote:
    sitting_id: str
    chair_id: str
    purpose: Purpose
    chosen: tuple[str, ...]
    scope: str | None = None  # the district for a nomination


@dataclass(frozen=True)
class RankRegion:
    sitting_id: str


@dataclass(frozen=True)
class SelectFinalist:
    sitting_id: str
    candidate_id: str
    reason: str | None = None


@dataclass(frozen=True)
class RecordNoFinalist:
    sitting_id: str
    reason: str


@dataclass(frozen=True)
class SendMaterials:
    at: datetime
    note: str = ""


@dataclass(frozen=True)
class RegisterDefence:
    candidate_id: str
    title: str
    budget_tenge: int
    talk_seconds: int
    mode: DefenceMode = "in_person"


@dataclass(frozen=True)
class DecideWinners:
    sitting_id: str


@dataclass(frozen=True)
class CloseStage:
    stage: Stage
    at: datetime


@dataclass(frozen=True)
class ReopenStage:
    stage: Stage
    reason: str
    at: datetime


@dataclass(frozen=True)
class SignProtocol:
    sitting_id: str
    signatures: tuple[Signature, ...]
    at: datetime


@dataclass(frozen=True)
class GiveSignature:
    """The chair or the secretary signs the protocol's ``seen`` digest (``handlers.sign`` keeps
    it until both signed, then decides :class:`SignProtocol`): not decided on its own."""

    sitting_id: str
    signature: Signature
    seen: str


Command = (
    FormCommission
    | ReplaceMember
    | RecuseMember
    | RegisterCandidate
    | RecordCandidateComplaints
    | CorrectCandidateQuestionnaire
    | ReceiveSurveyResult
    | RecordEthicsResult
    | RecordFeedbackAssessment
    | OpenSitting
    | RecordAttendance
    | RecordScore
    | CorrectScore
    | NominateDistrict
    | CastCastingVote
    | RankRegion
    | SelectFinalist
    | RecordNoFinalist
    | SendMaterials
    | RegisterDefence
    | DecideWinners
    | CloseStage
    | ReopenStage
    | SignProtocol
)
