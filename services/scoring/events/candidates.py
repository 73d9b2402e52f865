"""Scoring events: candidates and their pre-interview assessments (§12, §14)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.scoring.events.values import (
    Id,
    Kato,
    Points,
    Text,
    registry,
)
from shared.events import Event


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
