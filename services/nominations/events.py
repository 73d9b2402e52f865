"""The public event contract of the nominations service (topic ``uzdik.nominations.events``).

Every event is a past-tense fact, frozen, JSON-serialisable: ids are UUID strings, territorial
units 9-digit KATO strings, money whole tenge, times timezone-aware. Streams: one per edition
(``EditionAnnounced``, ``DeadlineExtended``) and one per application (all the others).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import AwareDatetime, Field, StringConstraints

from shared.errors import ErrorItem
from shared.events import Event, EventRegistry

from .domain.calendar import CalendarStep, EditionCalendar, end_of_day
from .domain.documents import DocumentKind
from .domain.edition_rules import EditionRules
from .domain.questionnaire import PersonName, Questionnaire
from .domain.rubric import QuestionnaireScore
from .domain.tenure import almaty_day, months_before
from .domain.values import Count, EditionYear, Frozen, Id, Kato, Text

registry = EventRegistry()

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class RuleFailure(Frozen):
    """One failed admission rule (§11): a stable code, a message, the field at fault."""

    code: str
    detail: str
    field: str | None = None

    @classmethod
    def of(cls, item: ErrorItem) -> RuleFailure:
        return cls(code=item.code, detail=item.detail, field=item.field)

    def as_error(self) -> ErrorItem:
        return ErrorItem(code=self.code, detail=self.detail, field=self.field)


@registry.register
class EditionAnnounced(Event):
    """§8: the Agency announced an edition, its calendar and its rules.

    Version 2: the calendar holds ``announcement_deadline`` (§8's "no later than").
    """

    event_type: ClassVar[str] = "EditionAnnounced"
    schema_version: ClassVar[int] = 2
    edition_id: Id
    year: EditionYear
    title: Text
    calendar: EditionCalendar
    rules: EditionRules


@registry.upcaster("EditionAnnounced", 1)
def _announced_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 had no announcement deadline; it was met: the end of the announcement's day."""
    calendar = dict(payload["calendar"])
    announced = datetime.fromisoformat(calendar["announced_at"])
    calendar["announcement_deadline"] = end_of_day(almaty_day(announced)).isoformat()
    return {**payload, "calendar": calendar}


@registry.register
class DeadlineExtended(Event):
    """The organiser moved one step's deadline later (DOMAIN "Timeline")."""

    event_type: ClassVar[str] = "DeadlineExtended"
    edition_id: Id
    step: CalendarStep
    previous_deadline: AwareDatetime
    new_deadline: AwareDatetime
    reason: Text


@registry.register
class ApplicationSubmitted(Event):
    """§9: a nominator submitted an akim's application within the window.

    Version 2: the questionnaire carries ``appointed_akim_on`` (a date) instead of version 1's
    declared ``months_as_akim`` (see :func:`_submitted_v1_to_v2`).
    """

    event_type: ClassVar[str] = "ApplicationSubmitted"
    schema_version: ClassVar[int] = 2
    application_id: Id
    edition_id: Id
    submitted_at: AwareDatetime
    region_kato: Kato
    district_kato: Kato
    rural_district_kato: Kato
    questionnaire: Questionnaire


@registry.upcaster("ApplicationSubmitted", 1)
def _submitted_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 declared whole months in post; version 2 holds the appointment date.

    The date is **approximate**: the day of submission (Asia/Almaty) less the declared
    months, clamped to a shorter month's end. Such an akim is therefore admitted by
    version 2's rule exactly when the declared months reached the edition's minimum.
    """
    questionnaire = dict(payload["questionnaire"])
    months = int(questionnaire.pop("months_as_akim"))
    submitted_on = almaty_day(datetime.fromisoformat(payload["submitted_at"]))
    questionnaire["appointed_akim_on"] = months_before(submitted_on, months).isoformat()
    return {**payload, "questionnaire": questionnaire}


@registry.register
class DocumentAttached(Event):
    """§9: a document of the file was stored; a later one of the same kind supersedes it.

    Version 2 adds ``page_count``, counted from a PDF's bytes (None for other files and for
    version 1's documents, whose pages were never counted).
    """

    event_type: ClassVar[str] = "DocumentAttached"
    schema_version: ClassVar[int] = 2
    application_id: Id
    kind: DocumentKind
    sha256: Sha256
    size_bytes: Count
    media_type: str
    filename: Text
    duration_seconds: float | None = Field(None, description="videos only, measured")
    page_count: Count | None = Field(None, description="PDFs only, counted from the bytes")
    attached_at: AwareDatetime


@registry.upcaster("DocumentAttached", 1)
def _attached_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 never counted pages: they stay unknown."""
    return {**payload, "page_count": None}


@registry.register
class ApplicationAdmitted(Event):
    """§10: the Regional commission admitted the candidate to stage I."""

    event_type: ClassVar[str] = "ApplicationAdmitted"
    application_id: Id
    edition_id: Id
    region_kato: Kato
    district_kato: Kato
    rural_district_kato: Kato
    akim: PersonName
    decided_at: AwareDatetime


@registry.register
class ApplicationRejected(Event):
    """§11: the candidate is not admitted; every failed rule is listed."""

    event_type: ClassVar[str] = "ApplicationRejected"
    application_id: Id
    edition_id: Id
    errors: Annotated[tuple[RuleFailure, ...], Field(min_length=1)]
    decided_at: AwareDatetime


@registry.register
class QuestionnaireScored(Event):
    """§12, Annex 3: the questionnaire score computed by the edition's rubric."""

    event_type: ClassVar[str] = "QuestionnaireScored"
    application_id: Id
    score: QuestionnaireScore
    scored_at: AwareDatetime


@registry.register
class QuestionnaireScoreConfirmed(Event):
    """§12 (DOMAIN "verified by the secretary"): the secretary confirmed the score."""

    event_type: ClassVar[str] = "QuestionnaireScoreConfirmed"
    application_id: Id
    total: Count
    confirmed_at: AwareDatetime


@registry.register
class QuestionnaireScoreCorrected(Event):
    """The secretary corrected the score; the new one supersedes the old, which is kept."""

    event_type: ClassVar[str] = "QuestionnaireScoreCorrected"
    application_id: Id
    score: QuestionnaireScore
    previous_total: Count
    reason: Text
    corrected_at: AwareDatetime


ComplaintsSource = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)
]


@registry.register
class JustifiedComplaintsRecorded(Event):
    """§12 tie-break (4): the secretary recorded the number of justified citizen complaints
    and where it comes from; a later record supersedes the earlier (both are kept)."""

    event_type: ClassVar[str] = "JustifiedComplaintsRecorded"
    application_id: Id
    edition_id: Id
    count: Count = Field(description="justified citizen complaints against the akim")
    source: ComplaintsSource = Field(description="where the figure comes from")


@registry.register
class ApplicationWithdrawn(Event):
    """The nominator withdrew the application; the akim may apply again within the window."""

    event_type: ClassVar[str] = "ApplicationWithdrawn"
    application_id: Id
    edition_id: Id
    reason: Text
    withdrawn_at: AwareDatetime
