"""Response bodies from the service's state (pure mappings)."""

from __future__ import annotations

from shared.territory import Unit

from ..adapters.lookups import summary
from ..domain.application_state import ApplicationState
from ..domain.documents import DOCUMENTS, DocumentKind
from ..domain.edition import EditionState
from ..events import DocumentAttached, RuleFailure
from ..handlers import Outcome
from .schemas import (
    AdmissionDecision,
    ApplicationReceipt,
    ApplicationView,
    Complaints,
    ComplaintsView,
    DocumentInfo,
    DocumentView,
    EditionView,
    Extension,
    Failure,
    ScoreView,
    TerritoryUnit,
    TerritoryView,
)


def edition_view(state: EditionState) -> EditionView:
    return EditionView(
        edition_id=state.edition_id,
        year=state.year,
        title=state.title,
        calendar=state.calendar,
        rules=state.rules,
        extensions=[Extension.model_validate(e.model_dump()) for e in state.extensions],
    )


def failure(item: RuleFailure) -> Failure:
    return Failure(code=item.code, detail=item.detail, field=item.field)


def document_info(doc: DocumentAttached) -> DocumentInfo:
    return DocumentInfo.model_validate(doc.model_dump(exclude={"application_id"}))


def application_view(state: ApplicationState) -> ApplicationView:
    files = [state.documents[kind] for kind in DOCUMENTS if kind in state.documents]
    return ApplicationView(
        **summary(state),
        questionnaire=state.questionnaire,
        files=[document_info(doc) for doc in files],
        rejection=[failure(item) for item in state.rejection],
        score=state.score,
        superseded_scores=list(state.superseded_scores),
        complaints=_complaints(state),
    )


def _complaints(state: ApplicationState) -> Complaints | None:
    recorded = state.complaints
    return None if recorded is None else Complaints(count=recorded.count, source=recorded.source)


def complaints_view(outcome: Outcome) -> ComplaintsView:
    recorded = outcome.state.complaints
    assert recorded is not None, "recorded complaints follow the command"
    return ComplaintsView(
        application_id=outcome.state.application_id,
        count=recorded.count,
        source=recorded.source,
        event_ids=outcome.event_ids,
    )


def created(outcome: Outcome) -> ApplicationReceipt:
    state = outcome.state
    return ApplicationReceipt(
        id=state.application_id,
        event_ids=outcome.event_ids,
        region_kato=state.region_kato,
        district_kato=state.district_kato,
        rural_district_kato=state.rural_district_kato,
        status=str(state.status),
    )


def decision(outcome: Outcome) -> AdmissionDecision:
    state = outcome.state
    return AdmissionDecision(
        application_id=state.application_id,
        status="rejected" if state.rejection else "admitted",
        errors=[failure(item) for item in state.rejection],
        questionnaire_score=state.score,
        event_ids=outcome.event_ids,
    )


def score_view(outcome: Outcome) -> ScoreView:
    state = outcome.state
    assert state.score is not None, "a confirmed or corrected application has a score"
    return ScoreView(
        application_id=state.application_id,
        score=state.score,
        confirmed=state.score_confirmed,
        superseded_totals=[s.total for s in state.superseded_scores],
        event_ids=outcome.event_ids,
    )


def document_view(outcome: Outcome, kind: DocumentKind) -> DocumentView:
    doc = outcome.state.documents[kind]
    return DocumentView(
        **document_info(doc).model_dump(),
        application_id=outcome.state.application_id,
        changed=bool(outcome.envelopes),
        event_ids=outcome.event_ids,
    )


def territory_unit(unit: Unit) -> TerritoryUnit:
    return TerritoryUnit(
        kato=unit.kato,
        level=unit.level,
        name_kk=unit.name_kk,
        name_ru=unit.name_ru,
        parent=unit.parent,
    )


def territory_view(unit: Unit, children: list[Unit]) -> TerritoryView:
    return TerritoryView(
        **territory_unit(unit).model_dump(), children=[territory_unit(c) for c in children]
    )
