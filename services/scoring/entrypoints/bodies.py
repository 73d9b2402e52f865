"""Request and response bodies of the scoring API (pydantic, self-documenting in OpenAPI)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.scoring.events import (
    CandidateNominated,
    CastingVoteRecorded,
    DefenceMode,
    FinalistSelected,
    Level,
    NoFinalistRecorded,
    Person,
    Purpose,
    RankEntry,
    SheetKind,
    Stage,
    TieBreakStep,
    Winner,
)
from shared.text import CheckedBody, ClientId

Kato = Annotated[str, Field(pattern=r"^\d{9}$", description="9-digit KATO code")]
Id = Annotated[str, Field(min_length=1, max_length=64)]
Reason = Annotated[str, Field(min_length=1, max_length=4000)]


class Body(CheckedBody):
    """A request body: no unknown field; no NUL or control character in its text (400
    ``invalid_text`` on every database)."""

    model_config = ConfigDict(extra="forbid")


# --- commissions ----------------------------------------------------------------------------


class FormCommissionBody(Body):
    commission_id: ClientId = Field(
        description="the commission's id (a UUID the organiser mints; letters, digits, '_', "
        "'.', '-', at most 64, no '..')"
    )
    edition_id: Id
    level: Level
    region: Kato | None = Field(None, description="the region of a regional commission")
    members: list[Person] = Field(
        description="the voting members (9 in 2020); chair among them, with its position"
    )
    chair_id: Id = Field(
        description="the member who chairs and holds the casting vote: the head or deputy head "
        "of the regional Department, the Agency's deputy chairperson for the Republican one "
        "(§3/§4; ScoringRules.qualifications)"
    )
    secretary: Person = Field(
        description="organises and records; does not vote (§5); with its position (an Agency "
        "employee for the Republican commission)"
    )


class ReplaceMemberBody(Body):
    outgoing_id: Id = Field(description="the member leaving the seat")
    incoming: Person = Field(description="the person taking it")
    reason: Reason
    chair_id: Id | None = Field(None, description="the new chair, when the chair leaves")


class RecusalBody(Body):
    candidate_id: Id
    reason: Reason = Field(description="the conflict of interest (same district, relative…)")
    member_id: Id | None = Field(
        None, description="the member, when the secretary records it; else the token's subject"
    )


class ReopenBody(Body):
    reason: Reason = Field(description="why a closed stage opens again")


# --- sittings and sheets --------------------------------------------------------------------


class OpenSittingBody(Body):
    commission_id: Id
    stage: Stage
    purpose: Reason = Field(description="what the sitting is for, as its Russian protocol says")
    purpose_kk: Reason | None = Field(
        None, description="the agenda in Kazakh, as the Kazakh protocol says it"
    )
    place: Reason | None = Field(None, description="where the sitting is held")
    place_kk: Reason | None = Field(None, description="where, as the Kazakh protocol says it")
    sitting_id: ClientId | None = Field(
        None, description="client-minted id; else the service mints one"
    )


class AttendanceBody(Body):
    present: list[Id] = Field(description="the members present (ids); everyone else is absent")


class SheetBody(Body):
    candidate_id: Id
    kind: SheetKind = Field(description="project (Annex 4), essay (Annex 6), interview, stage2")
    scores: dict[str, int] = Field(description="criterion key → integer points, 0..max")
    sheet_id: ClientId | None = Field(
        None, description="client-minted id; else the service mints one"
    )


class SheetBatchBody(Body):
    sheets: list[SheetBody] = Field(min_length=1, max_length=1000)


class CorrectionBody(Body):
    sitting_id: Id = Field(description="the (quorate) sitting at which the correction is made")
    scores: dict[str, int]
    reason: Reason
    sheet_id: ClientId | None = Field(None, description="id of the new sheet; else minted")


class AssessmentBody(Body):
    score: int = Field(description="0..ethics_max or 0..feedback_max of the edition")
    note: str = Field("", max_length=4000)


# --- decisions ------------------------------------------------------------------------------


class NominationBody(Body):
    district: Kato


class CastingVoteBody(Body):
    purpose: Purpose = Field(description="nomination (a district) or winners")
    scope: Kato | None = Field(None, description="the district, for a nomination")
    chosen: list[Id] = Field(description="exactly as many of the tied as there are seats left")


class FinalistBody(Body):
    candidate_id: Id
    reason: str | None = Field(
        None, max_length=4000, description="required when the pick departs from the ranking"
    )


class NoFinalistBody(Body):
    reason: Reason = Field(description="why the region has no finalist (no admitted candidate)")


class MaterialsBody(Body):
    note: str = Field("", max_length=4000, description="what was sent, how (optional)")


class DefenceBody(Body):
    title: Reason
    budget_tenge: int = Field(ge=0, description="at most 5,000,000 tenge in 2020 (§19)")
    talk_seconds: int = Field(ge=0, description="at most 300 s in 2020 (§19)")
    mode: DefenceMode = "in_person"


class SignatureBody(Body):
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="the digest the signer read")
    public_key: str = Field(description="the signer's Ed25519 public key, base64 or hex")
    signature: str = Field(description="Ed25519 signature of the digest, base64 or hex")


class SignedPart(Body):
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    signatures: list[SignatureIn]


class SignatureIn(Body):
    role: Literal["chair", "secretary"]
    person_id: Id
    public_key: str
    signature: str


class VerifyBody(Body):
    document: dict[str, object] = Field(description="the protocol document, as published")
    signed: SignedPart = Field(description="the digest and signatures of ProtocolSigned")


# --- responses ------------------------------------------------------------------------------


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended")


class Formed(Appended):
    registered: int = Field(description="admitted candidates that waited for it, now registered")


class Attendance(Appended):
    present: list[str]
    absent: list[str]
    members: int
    required: int
    quorate: bool
    detail: str = Field(description="the quorum, in words")


class Sheet(BaseModel):
    sheet_id: str
    sitting_id: str
    member_id: str
    candidate_id: str
    kind: SheetKind
    scores: dict[str, int]
    derived: list[str] = Field(description="criteria filled in by a rule (Annex 7 no. 12)")
    total: int
    supersedes: str | None = None


class Sheets(BaseModel):
    sheets: list[Sheet]
    event_ids: list[str]


class Decision(BaseModel):
    """A ranked decision: the ranking with every component, the tie-break steps, the outcome."""

    sitting_id: str
    purpose: Purpose
    scope: str | None
    status: Literal["complete", "pending_casting_vote"]
    entries: list[RankEntry]
    seats: int
    selected: list[str]
    tie_break_steps: list[TieBreakStep] = Field(description="§12 chain, step by step")
    tied: list[str] = Field(description="still tied after the chain: the chair decides")
    seats_left: int
    nominated: list[CandidateNominated] = Field(default_factory=list)
    winners: list[Winner] = Field(default_factory=list)
    places_not_awarded: list[int] = Field(
        default_factory=list, description="§21: places left empty (fewer finalists than places)"
    )
    not_awarded_reason: str | None = None
    casting_vote: CastingVoteRecorded | None = None
    event_ids: list[str]


class Finalist(BaseModel):
    finalist: FinalistSelected
    event_ids: list[str]


class NoFinalist(BaseModel):
    decision: NoFinalistRecorded
    event_ids: list[str]


class Signing(BaseModel):
    sitting_id: str
    digest: str
    signed: bool = Field(description="true once both the chair and the secretary signed")
    waiting_for: list[str]
    event_ids: list[str]


class Page(BaseModel):
    next: str | None = Field(None, description="pass as ?after= for the next page")


SignedPart.model_rebuild()
