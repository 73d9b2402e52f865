"""The Application aggregate's state and its ``evolve`` (a pure fold of its stream)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from shared.errors import Conflict, NotFound
from shared.events import Event

from ..events import (
    ApplicationAdmitted,
    ApplicationRejected,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    DocumentAttached,
    JustifiedComplaintsRecorded,
    QuestionnaireScoreConfirmed,
    QuestionnaireScoreCorrected,
    QuestionnaireScored,
    RuleFailure,
)
from .documents import DocumentKind
from .questionnaire import Questionnaire
from .rubric import QuestionnaireScore


class ApplicationStatus(StrEnum):
    submitted = "submitted"
    admitted = "admitted"
    rejected = "rejected"
    withdrawn = "withdrawn"


LIVE = frozenset({ApplicationStatus.submitted, ApplicationStatus.admitted})
"""An akim has at most one live application per edition (rejected and withdrawn are not)."""


@dataclass(frozen=True)
class ApplicationState:
    application_id: str
    edition_id: str
    submitted_at: datetime
    region_kato: str
    district_kato: str
    rural_district_kato: str
    questionnaire: Questionnaire
    status: ApplicationStatus = ApplicationStatus.submitted
    documents: Mapping[DocumentKind, DocumentAttached] = field(
        default_factory=lambda: MappingProxyType({})
    )
    rejection: tuple[RuleFailure, ...] = ()
    score: QuestionnaireScore | None = None
    score_confirmed: bool = False
    superseded_scores: tuple[QuestionnaireScore, ...] = ()
    complaints: JustifiedComplaintsRecorded | None = None

    @property
    def is_live(self) -> bool:
        return self.status in LIVE


def require_application(state: ApplicationState | None, application_id: str) -> ApplicationState:
    """The application, or 404 ``application_not_found``."""
    if state is None:
        raise NotFound("application_not_found", f"application {application_id} does not exist")
    return state


def require_undecided(state: ApplicationState) -> None:
    """Refuse with 409 unless the application still awaits the admission decision."""
    if state.status is not ApplicationStatus.submitted:
        raise Conflict(
            f"application_{state.status}",
            f"application {state.application_id} is already {state.status}",
        )


def evolve(state: ApplicationState | None, event: Event) -> ApplicationState:
    """Fold one event of an application's stream."""
    if isinstance(event, ApplicationSubmitted):
        return _submitted(event)
    assert state is not None, f"{event.event_type} before ApplicationSubmitted"
    match event:
        case DocumentAttached():
            documents = MappingProxyType({**state.documents, event.kind: event})
            return replace(state, documents=documents)
        case ApplicationAdmitted():
            return replace(state, status=ApplicationStatus.admitted)
        case ApplicationRejected():
            return replace(state, status=ApplicationStatus.rejected, rejection=event.errors)
        case ApplicationWithdrawn():
            return replace(state, status=ApplicationStatus.withdrawn)
        case QuestionnaireScored():
            return replace(state, score=event.score, score_confirmed=False)
        case QuestionnaireScoreConfirmed():
            return replace(state, score_confirmed=True)
        case QuestionnaireScoreCorrected():
            return _corrected(state, event)
        case JustifiedComplaintsRecorded():
            return replace(state, complaints=event)
    return state


def _submitted(event: ApplicationSubmitted) -> ApplicationState:
    return ApplicationState(
        application_id=event.application_id,
        edition_id=event.edition_id,
        submitted_at=event.submitted_at,
        region_kato=event.region_kato,
        district_kato=event.district_kato,
        rural_district_kato=event.rural_district_kato,
        questionnaire=event.questionnaire,
    )


def _corrected(state: ApplicationState, event: QuestionnaireScoreCorrected) -> ApplicationState:
    kept = (*state.superseded_scores, state.score) if state.score else state.superseded_scores
    return replace(state, score=event.score, score_confirmed=True, superseded_scores=kept)


def fold(events: Iterable[Event]) -> ApplicationState | None:
    """The application after ``events`` (None for an empty stream)."""
    state: ApplicationState | None = None
    for event in events:
        state = evolve(state, event)
    return state
