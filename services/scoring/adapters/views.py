"""The scoring service's read side: what the GET routes answer, folded from a commission's log.

Everything here is a pure function of a commission's :class:`Scoring` (itself a fold of the log),
so a replay answers the same, byte for byte.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.scoring.domain import Scoring, protocol, sheets
from services.scoring.domain.commission import require_commission
from services.scoring.domain.signatures import CONTEXT
from services.scoring.domain.state import Candidate, Sitting
from services.scoring.events import (
    AttendanceRecorded,
    CandidateNominated,
    CastingVoteRecorded,
    EthicsResultRecorded,
    FeedbackAssessmentRecorded,
    FinalistSelected,
    Level,
    MaterialsSentToAgency,
    NoFinalistRecorded,
    Person,
    ProjectDefenceRegistered,
    ProtocolSigned,
    RankingComputed,
    ScoreCorrected,
    SheetKind,
    Stage,
    SurveyResultReceived,
    WinnersDecided,
)


class Recusal(BaseModel):
    member_id: str
    candidate_id: str
    reason: str


class CommissionView(BaseModel):
    """A commission: its members, chair and secretary, stages, sittings and decisions."""

    commission_id: str
    edition_id: str
    level: Level
    region: str | None = Field(description="KATO of the region; null for the Republican one")
    members: list[Person]
    chair_id: str
    secretary: Person
    recusals: list[Recusal]
    closed_stages: list[Stage] = Field(description="stages frozen by StageClosed")
    sittings: list[str] = Field(description="sitting ids, in the order they were opened")
    candidates: int = Field(description="candidates registered with it")
    nominees: int
    pending_casting_votes: list[str] = Field(description="decisions waiting for the chair")
    finalists: list[FinalistSelected]
    no_finalist: NoFinalistRecorded | None = Field(description="§16: the region has none, why")
    materials: MaterialsSentToAgency | None = Field(description="§18: sent to the Agency")
    defences: list[ProjectDefenceRegistered]
    winners: WinnersDecided | None


class SittingView(BaseModel):
    sitting_id: str
    commission_id: str
    stage: Stage
    purpose: str
    purpose_kk: str | None = Field(None, description="the agenda in Kazakh, when given")
    place: str | None = Field(None, description="where the sitting is held, when given")
    place_kk: str | None = Field(None, description="where, in Kazakh, when given")
    opened_at: datetime
    attendance: AttendanceRecorded | None
    quorate: bool
    quorum: str = Field(description="why the sitting may or may not score and decide")
    records: int = Field(description="events recorded at the sitting (its protocol)")
    signed: ProtocolSigned | None


class CandidateView(BaseModel):
    """A candidate as the commission knows them, and where they stand."""

    candidate_id: str
    commission_id: str
    name: str
    region: str
    district: str
    rural_district: str
    questionnaire_score: int
    implements_complex_projects: bool = Field(description="§12 tie-break 1: yes/no")
    trilingual: bool
    justified_complaints: int | None = Field(
        description="§12 tie-break 4, as last recorded by the secretary; null: never recorded"
    )
    complaints_source: str | None
    nomination: CandidateNominated | None
    survey: SurveyResultReceived | None
    ethics: EthicsResultRecorded | None
    feedback: FeedbackAssessmentRecorded | None
    finalist: bool
    live_sheets: dict[str, int] = Field(description="live sheets per kind")


class FinalistView(BaseModel):
    """A finalist as the commission that chose or received them knows them: the Republican
    commission's candidates of stage II (their regional records stay with their region)."""

    candidate_id: str
    name: str = Field(description="as registered in the region (or as the region's dossier says)")
    region: str
    district: str | None
    rural_district: str | None
    home_commission_id: str = Field(description="the regional commission that chose them")
    from_region: bool = Field(description="admitted from a region's deployment (federation)")
    regional_total: float
    rank: int = Field(description="their rank in the region's final ranking")
    reason: str | None = Field(description="why, when the choice departs from the ranking")
    defence: ProjectDefenceRegistered | None = Field(description="§19, once registered")
    live_sheets: dict[str, int] = Field(description="this commission's live sheets per kind")


class SheetView(BaseModel):
    sheet_id: str
    sitting_id: str
    member_id: str
    candidate_id: str
    kind: SheetKind
    scores: dict[str, int]
    derived: list[str]
    total: int
    supersedes: str | None = None
    reason: str | None = Field(None, description="why it corrects the sheet it supersedes")
    superseded_by: str | None = None
    live: bool


class RankingsView(BaseModel):
    """Every ranking and casting vote of the commission, in log order."""

    rankings: list[RankingComputed]
    casting_votes: list[CastingVoteRecorded]


class Verification(BaseModel):
    valid: bool
    problems: list[str] = Field(description="digest_mismatch, signature_invalid:<role>, ...")


class ProtocolView(BaseModel):
    """The sitting's protocol: the canonical document, its digest and the signatures."""

    sitting_id: str
    commission_id: str
    format: str
    document: dict[str, object]
    canonical: str = Field(description="the exact UTF-8 text whose sha256 is the digest")
    digest: str = Field(description="lowercase hex sha256 of the canonical document")
    signing: str = Field(description="what each signer signs: the context line + the digest")
    message: str = Field(
        "", description="the exact text each signer signs (UTF-8): the context line, the digest"
    )
    signed: ProtocolSigned | None
    verification: Verification | None
    pending_signatures: list[Literal["chair", "secretary"]] = Field(default_factory=list)


def commission_view(state: Scoring) -> CommissionView:
    c = require_commission(state)
    return CommissionView(
        commission_id=c.commission_id,
        edition_id=c.edition_id,
        level=c.level,
        region=c.region,
        members=list(c.members),
        chair_id=c.chair_id,
        secretary=c.secretary,
        recusals=[
            Recusal(member_id=m, candidate_id=k, reason=r) for (m, k), r in c.recusals.items()
        ],
        closed_stages=sorted(state.closed),
        sittings=list(state.sittings),
        candidates=len(state.candidates),
        nominees=sum(1 for x in state.candidates.values() if x.nomination is not None),
        pending_casting_votes=[f"{p}:{s or ''}" for p, s in state.pending],
        finalists=list(state.finalists.values()),
        no_finalist=state.no_finalist,
        materials=state.materials,
        defences=list(state.defences.values()),
        winners=state.winners,
    )


def finalist_view(
    state: Scoring, finalist: FinalistSelected, name: str, where: dict[str, Any]
) -> FinalistView:
    """``finalist`` before ``state``'s commission; ``name`` and ``where`` (district, rural
    district, whether it came from a region's deployment) from its registration."""
    cid = finalist.candidate_id
    kinds: tuple[SheetKind, ...] = ("stage2",)
    return FinalistView(
        candidate_id=cid,
        name=name,
        region=finalist.region,
        district=where.get("district"),
        rural_district=where.get("rural_district"),
        home_commission_id=finalist.commission_id,
        from_region=bool(where.get("from_region")),
        regional_total=float(finalist.regional_total),
        rank=finalist.rank,
        reason=finalist.reason,
        defence=state.defences.get(cid),
        live_sheets={k: n for k in kinds if (n := len(sheets.live_sheets(state, cid, k)))},
    )


def sitting_view(state: Scoring, sitting: Sitting) -> SittingView:
    attendance = sitting.attendance
    return SittingView(
        sitting_id=sitting.opened.sitting_id,
        commission_id=sitting.opened.commission_id,
        stage=sitting.opened.stage,
        purpose=sitting.opened.purpose,
        purpose_kk=sitting.opened.purpose_kk,
        place=sitting.opened.place,
        place_kk=sitting.opened.place_kk,
        opened_at=sitting.opened.opened_at,
        attendance=attendance,
        quorate=bool(attendance and attendance.quorate),
        quorum=quorum_text(attendance),
        records=len(sitting.records),
        signed=sitting.signed,
    )


def quorum_text(attendance: AttendanceRecorded | None) -> str:
    if attendance is None:
        return "attendance not recorded: nothing may be scored or decided yet"
    verdict = "quorate" if attendance.quorate else "not quorate: nothing scored or decided counts"
    return (
        f"{len(attendance.present)} of {attendance.members} members present; "
        f"at least {attendance.required} are required — {verdict}"
    )


def candidate_view(state: Scoring, candidate: Candidate) -> CandidateView:
    reg, cid = candidate.registration, candidate.registration.candidate_id
    kinds: tuple[SheetKind, ...] = ("project", "essay", "interview", "stage2")
    return CandidateView(
        candidate_id=cid,
        commission_id=require_commission(state).commission_id,
        name=reg.name,
        region=reg.region,
        district=reg.district,
        rural_district=reg.rural_district,
        questionnaire_score=candidate.questionnaire_score,
        implements_complex_projects=reg.implements_complex_projects,
        trilingual=reg.trilingual,
        justified_complaints=candidate.justified_complaints,
        complaints_source=(
            candidate.complaints.source
            if candidate.complaints is not None
            else reg.complaints_source
        ),
        nomination=candidate.nomination,
        survey=candidate.survey,
        ethics=candidate.ethics,
        feedback=candidate.feedback,
        finalist=cid in state.finalists,
        live_sheets={k: n for k in kinds if (n := len(sheets.live_sheets(state, cid, k)))},
    )


def sheet_history(state: Scoring, candidate_id: str) -> list[SheetView]:
    """Every sheet given for a candidate, superseded ones included, in log order."""
    out = []
    for sheet in state.sheets.values():
        e = sheet.event
        if e.candidate_id != candidate_id:
            continue
        correction = e if isinstance(e, ScoreCorrected) else None
        out.append(
            SheetView(
                sheet_id=e.sheet_id,
                sitting_id=e.sitting_id,
                member_id=e.member_id,
                candidate_id=e.candidate_id,
                kind=e.kind,
                scores=dict(e.scores),
                derived=list(e.derived),
                total=e.total,
                supersedes=correction.supersedes if correction else None,
                reason=correction.reason if correction else None,
                superseded_by=sheet.superseded_by,
                live=sheet.superseded_by is None,
            )
        )
    return out


def rankings_view(state: Scoring) -> RankingsView:
    records = [r for s in state.sittings.values() for r in s.records]
    return RankingsView(
        rankings=[r for r in records if isinstance(r, RankingComputed)],
        casting_votes=[r for r in records if isinstance(r, CastingVoteRecorded)],
    )


def protocol_view(state: Scoring, sitting_id: str, pending: list[str]) -> ProtocolView:
    doc = protocol.document(state, sitting_id)
    sitting = state.sittings[sitting_id]
    signed = sitting.signed
    verdict = None if signed is None else protocol.verify(doc, signed)
    return ProtocolView(
        sitting_id=sitting_id,
        commission_id=sitting.opened.commission_id,
        format=doc["format"],
        document=doc,
        canonical=protocol.canonical(doc).decode("utf-8"),
        digest=protocol.digest(doc),
        signing=f"Ed25519 over {CONTEXT!r} + the digest's 64 ASCII hex characters",
        message=CONTEXT.decode("ascii") + protocol.digest(doc),
        signed=signed,
        verification=None
        if verdict is None
        else Verification(valid=verdict.valid, problems=list(verdict.problems)),
        pending_signatures=[r for r in ("chair", "secretary") if r in pending],
    )
