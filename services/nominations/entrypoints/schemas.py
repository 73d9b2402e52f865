"""Request and response bodies of the nominations API (every field described for OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from shared.openapi import Problem as Problem  # the kernel documents every route's refusals
from shared.openapi import problems as problems  # what a route adds: responses=problems(...)
from shared.territory import Level
from shared.text import CheckedBody

from ..domain.calendar import CalendarStep, EditionCalendar
from ..domain.documents import DocumentKind
from ..domain.edition_rules import EditionRules
from ..domain.questionnaire import Questionnaire
from ..domain.rubric import QuestionnaireScore
from ..events import ComplaintsSource

Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    Field(description="why, in a sentence for the audit"),
]


class Body(CheckedBody):
    """A request body: no unknown field; no NUL or control character in its text (400
    ``invalid_text`` on every database)."""

    model_config = ConfigDict(extra="forbid")


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended, in order")


class Failure(BaseModel):
    code: str = Field(description="stable code of the failed rule, e.g. akim_term_too_short")
    detail: str = Field(description="the rule and the facts, in words")
    field: str | None = Field(None, description="the field at fault, when there is one")


# --- editions -------------------------------------------------------------------------------


class ExtendDeadlineBody(Body):
    step: CalendarStep = Field(description="the step of the calendar whose deadline moves")
    new_deadline: AwareDatetime = Field(description="the new (exclusive) deadline, RFC 3339")
    reason: Reason


class Extension(BaseModel):
    step: CalendarStep = Field(description="the step whose deadline moved")
    previous_deadline: datetime = Field(description="the deadline before the extension")
    new_deadline: datetime = Field(description="the deadline after the extension")
    reason: str = Field(description="why the organiser extended it")


class EditionView(BaseModel):
    edition_id: str = Field(description="the edition's id (UUID)")
    year: int = Field(description="the competition year")
    title: str = Field(description="the edition's official title")
    calendar: EditionCalendar = Field(description="every deadline, extensions applied")
    rules: EditionRules = Field(description="the edition's rules as data")
    extensions: list[Extension] = Field(description="every deadline extension, oldest first")


class TerritoryUnit(BaseModel):
    kato: str = Field(description="9-digit KATO code")
    level: Level = Field(description="region, district, rural_district or settlement")
    name_kk: str = Field(description="the name in Kazakh")
    name_ru: str = Field(description="the name in Russian")
    parent: str | None = Field(description="the parent unit's KATO code")


class TerritoryView(TerritoryUnit):
    children: list[TerritoryUnit] = Field(description="the units directly under this one")


# --- applications ---------------------------------------------------------------------------


class AnnounceFromFigures(Body):
    edition_id: UUID | None = Field(None, description="the edition's id; minted when absent")
    figures: Literal["2020"] = Field("2020", description="whose shipped figures: 2020's")
    title: str | None = Field(
        None, min_length=1, max_length=300, description="the official title, if not the data's"
    )


class SubmitApplicationBody(Body):
    application_id: UUID | None = Field(
        None, description="the client's id for the application; minted (UUIDv7) when absent"
    )
    edition_id: UUID = Field(description="the edition applied to")
    questionnaire: Questionnaire = Field(description="Annex 1 and Annex 2 as structured data")
    draft_id: UUID | None = Field(
        None, description="the submitter's draft this comes from: deleted with the submission"
    )


class ApplicationReceipt(Appended):
    region_kato: str = Field(description="the region of the akim's rural district")
    district_kato: str = Field(description="the district of the akim's rural district")
    rural_district_kato: str = Field(description="the akim's rural district")
    status: str = Field(description="the application's status after the command")


class WithdrawalBody(Body):
    reason: Reason


class ScoreCorrectionBody(Body):
    items: list[str] = Field(description="keys of the rubric items that really apply (Annex 3)")
    reason: Reason


class AdmissionDecision(BaseModel):
    application_id: str = Field(description="the application checked")
    status: Literal["admitted", "rejected"] = Field(
        description="the Regional commission's decision"
    )
    errors: list[Failure] = Field(description="every failed rule (§11); empty when admitted")
    questionnaire_score: QuestionnaireScore | None = Field(
        description="Annex 3 score, computed on admission; to be confirmed by the secretary"
    )
    event_ids: list[str] = Field(description="ids of the events appended, in order")


class ComplaintsBody(Body):
    count: int = Field(ge=0, description="justified citizen complaints against the akim (§12)")
    source: ComplaintsSource = Field(
        description="where the figure comes from (e.g. a register), 1 to 500 characters"
    )


class Complaints(BaseModel):
    count: int = Field(description="justified citizen complaints (§12 tie-break 4)")
    source: str = Field(description="where the figure comes from")


class ComplaintsView(Complaints):
    application_id: str = Field(description="the application")
    event_ids: list[str] = Field(description="ids of the events appended, in order")


class ScoreView(BaseModel):
    application_id: str = Field(description="the application")
    score: QuestionnaireScore = Field(description="the score in force, with its breakdown")
    confirmed: bool = Field(description="whether the secretary confirmed (or corrected) it")
    superseded_totals: list[int] = Field(description="totals of earlier scores it replaced")
    event_ids: list[str] = Field(description="ids of the events appended, in order")


class DocumentInfo(BaseModel):
    kind: DocumentKind = Field(description="which document of §9")
    sha256: str = Field(description="SHA-256 of the bytes (the blob's name)")
    size_bytes: int = Field(description="size of the file in bytes")
    media_type: str = Field(description="media type sniffed from the bytes")
    filename: str = Field(description="the uploader's file name")
    duration_seconds: float | None = Field(description="measured length (videos only)")
    page_count: int | None = Field(None, description="pages counted from the bytes (PDFs only)")
    attached_at: datetime = Field(description="when it joined the file")


class DocumentView(DocumentInfo):
    application_id: str = Field(description="the application")
    changed: bool = Field(description="false when these very bytes were already attached")
    event_ids: list[str] = Field(description="ids of the events appended (none when unchanged)")


class ApplicationSummary(BaseModel):
    application_id: str = Field(description="the application's id")
    edition_id: str = Field(description="the edition")
    region_kato: str = Field(description="the region (KATO)")
    district_kato: str = Field(description="the district (KATO)")
    rural_district_kato: str = Field(description="the akim's rural district (KATO)")
    akim: str = Field(description="the akim's full name")
    nominator_kind: str = Field(description="who put the akim forward (§7)")
    status: str = Field(description="submitted, admitted, rejected or withdrawn")
    submitted_at: datetime = Field(description="when it was submitted")
    documents: list[str] = Field(description="kinds of document attached")
    rejection_codes: list[str] = Field(description="codes of the failed rules, when rejected")
    questionnaire_score: int | None = Field(description="Annex 3 total, once scored")
    score_confirmed: bool = Field(description="whether the secretary confirmed the score")
    justified_complaints: int | None = Field(
        None, description="§12 tie-break (4): the recorded figure; null while unknown"
    )


class ApplicationPage(BaseModel):
    items: list[ApplicationSummary] = Field(description="applications in key order")
    next_cursor: str | None = Field(description="pass as ?after= for the next page; null at end")


class ApplicationView(ApplicationSummary):
    questionnaire: Questionnaire = Field(description="Annex 1 and Annex 2 as submitted")
    files: list[DocumentInfo] = Field(description="the documents of the file, in §9 order")
    rejection: list[Failure] = Field(description="every failed rule, when rejected")
    score: QuestionnaireScore | None = Field(description="the Annex 3 score in force")
    superseded_scores: list[QuestionnaireScore] = Field(description="scores a correction replaced")
    complaints: Complaints | None = Field(
        description="§12 tie-break (4): the latest recorded figure and its source; null if none"
    )
