"""The public event contract: registered, frozen, JSON round-trips, aware times."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from pydantic import ValidationError

from services.nominations.domain import edition
from services.nominations.domain.application import (
    AttachDocument,
    SubmitApplication,
    WithdrawApplication,
    attach_document,
    submit,
    withdraw,
)
from services.nominations.domain.application_state import ApplicationState
from services.nominations.domain.calendar import CalendarStep
from services.nominations.domain.complaints import RecordJustifiedComplaints, record_complaints
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.edition import EditionState, ExtendDeadline
from services.nominations.domain.eligibility import decide_admission
from services.nominations.domain.figures import default_edition_2020
from services.nominations.domain.questionnaire_score import (
    CorrectQuestionnaireScore,
    confirm_score,
    correct_score,
    score_questionnaire,
)
from services.nominations.events import (
    ApplicationSubmitted,
    EditionAnnounced,
    registry,
)
from shared.events import Event
from shared.territory import load_territory

from .builders import (
    IN_CHECK,
    IN_WINDOW,
    ORGANISER,
    SECRETARY,
    complete,
    edition_2020,
    evolve_application,
    submitted,
)

EVENT_TYPES = {
    "EditionAnnounced",
    "DeadlineExtended",
    "ApplicationSubmitted",
    "DocumentAttached",
    "ApplicationAdmitted",
    "ApplicationRejected",
    "QuestionnaireScored",
    "QuestionnaireScoreConfirmed",
    "QuestionnaireScoreCorrected",
    "JustifiedComplaintsRecorded",
    "ApplicationWithdrawn",
}


def test_registry_knows_every_event_of_the_service() -> None:
    assert {cls.event_type for cls in registry.types()} == EVENT_TYPES


def one_of_each() -> list[Event]:
    """Events of a whole application's life, produced by the domain itself."""
    state: EditionState = edition_2020()
    app: ApplicationState = complete(submitted(state), state)
    events: list[Event] = list(decide_admission(app, state, SECRETARY, IN_CHECK))
    app = evolve_application(app, events)
    correction = CorrectQuestionnaireScore(
        application_id=app.application_id, items=(), reason="typo"
    )
    complaints = RecordJustifiedComplaints(
        application_id=app.application_id, count=2, source="akimat register"
    )
    decisions: list[Callable[[ApplicationState], list[Event]]] = [
        lambda a: record_complaints(a, complaints, SECRETARY),
        lambda a: score_questionnaire(a, state, IN_CHECK),
        lambda a: confirm_score(a, state, SECRETARY, IN_CHECK),
        lambda a: correct_score(a, state, correction, SECRETARY, IN_CHECK),
    ]
    for decide in decisions:
        new = decide(app)
        app = evolve_application(app, new)
        events += new
    return [*edition_events(state), *application_events(state), *events]


def edition_events(state: EditionState) -> list[Event]:
    extend = ExtendDeadline(
        edition_id=state.edition_id,
        step=CalendarStep.defences,
        new_deadline=state.calendar.defences_deadline + timedelta(days=5),
        reason="pandemic",
    )
    return [
        *edition.announce(None, default_edition_2020(state.edition_id), ORGANISER),
        *edition.extend_deadline(state, extend, ORGANISER),
    ]


def application_events(state: EditionState) -> list[Event]:
    app = submitted(state, appointed_akim_on="2020-03-01")
    [document] = attach_document(app, state, sample_document(app.application_id), IN_WINDOW)
    app = evolve_application(app, [document])
    withdrawal = WithdrawApplication(application_id=app.application_id, reason="moved")
    return [
        *submit(
            state,
            SubmitApplication(
                application_id=app.application_id,
                edition_id=state.edition_id,
                questionnaire=app.questionnaire,
            ),
            live_application_id=None,
            territory=load_territory(),
            at=IN_WINDOW,
        ),
        document,
        *decide_admission(app, state, SECRETARY, IN_CHECK),
        *withdraw(app, withdrawal, IN_WINDOW),
    ]


def sample_document(application_id: str) -> AttachDocument:
    return AttachDocument(
        application_id=application_id,
        kind=DocumentKind.project_video,
        sha256="ef" * 32,
        size_bytes=123_456,
        media_type="video/webm",
        filename="видео.webm",
        duration_seconds=299.96,
    )


def test_a_whole_life_produces_every_event_type() -> None:
    assert {event.event_type for event in one_of_each()} == EVENT_TYPES


def test_every_event_round_trips_through_json_and_the_registry() -> None:
    for event in one_of_each():
        payload = json.loads(json.dumps(event.to_payload()))
        assert registry.decode(event.event_type, event.schema_version, payload) == event


def test_edition_announced_carries_aware_almaty_times_and_every_rules_section() -> None:
    [event] = edition.announce(None, default_edition_2020(edition_2020().edition_id), ORGANISER)
    assert isinstance(event, EditionAnnounced)
    payload = event.to_payload()
    assert payload["calendar"]["materials_deadline"] == "2020-08-15T18:30:00+06:00"
    assert set(payload["rules"]) == {"nominations", "scoring", "survey"}
    assert payload["rules"]["nominations"]["rubric"]["max_total"] == 29


def test_events_are_immutable_and_refuse_unknown_fields() -> None:
    [event] = edition.announce(None, default_edition_2020(edition_2020().edition_id), ORGANISER)
    assert isinstance(event, EditionAnnounced)
    with pytest.raises(ValidationError):
        event.title = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        EditionAnnounced.model_validate({**event.to_payload(), "extra": 1})


def test_naive_datetimes_are_refused() -> None:
    app = submitted()
    payload = {
        "application_id": app.application_id,
        "edition_id": app.edition_id,
        "submitted_at": "2020-06-10T12:00:00",
        "region_kato": "190000000",
        "district_kato": "193600000",
        "rural_district_kato": "193633000",
        "questionnaire": app.questionnaire.model_dump(mode="json"),
    }
    with pytest.raises(ValidationError, match="timezone"):
        ApplicationSubmitted.model_validate(payload)
