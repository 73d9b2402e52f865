"""Submitting, attaching documents and withdrawing (§7, §9, §11.2)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.nominations.domain.application import (
    SubmitApplication,
    WithdrawApplication,
    submit,
    withdraw,
)
from services.nominations.domain.application_state import ApplicationStatus
from services.nominations.domain.documents import DocumentKind
from services.nominations.events import ApplicationSubmitted
from shared.errors import Conflict, DomainError, RuleViolation
from shared.territory import load_territory

from .builders import (
    IN_WINDOW,
    REGION,
    WINDOW_CLOSES,
    attach,
    edition_2020,
    evolve_application,
    new_id,
    questionnaire,
    submitted,
)

MINUTE = timedelta(minutes=1)


def submission(edition_id: str) -> SubmitApplication:
    return SubmitApplication(
        application_id=new_id(), edition_id=edition_id, questionnaire=questionnaire()
    )


def test_application_one_minute_before_the_window_closes_is_accepted() -> None:
    app = submitted(at=WINDOW_CLOSES - MINUTE)
    assert app.status is ApplicationStatus.submitted


def test_application_one_minute_late_is_refused_with_the_almaty_deadline() -> None:
    state = edition_2020()
    with pytest.raises(RuleViolation) as refused:
        submit(
            state,
            submission(state.edition_id),
            live_application_id=None,
            territory=load_territory(),
            at=(WINDOW_CLOSES + MINUTE).astimezone(tz=None),
        )
    error = refused.value
    assert (error.code, error.status) == ("application_late", 422)
    assert "closed at 2020-06-23 00:00:00 Asia/Almaty" in error.detail
    assert "arrived at 2020-06-23 00:01:00" in error.detail
    assert error.extra["deadline"] == "2020-06-23T00:00:00+06:00"


def test_application_before_the_window_opens_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        submitted(at=edition_2020().calendar.announced_at - MINUTE)
    assert refused.value.code == "application_window_not_open"


def test_submission_records_the_region_and_district_of_the_rural_district() -> None:
    state = edition_2020()
    [event] = submit(
        state,
        submission(state.edition_id),
        live_application_id=None,
        territory=load_territory(),
        at=IN_WINDOW,
    )
    assert isinstance(event, ApplicationSubmitted)
    assert (event.region_kato, event.district_kato) == (REGION, "193600000")


def test_second_live_application_for_the_same_akim_is_refused_naming_the_first() -> None:
    state = edition_2020()
    first = submitted(state)
    with pytest.raises(Conflict) as refused:
        submit(
            state,
            submission(state.edition_id),
            live_application_id=first.application_id,
            territory=load_territory(),
            at=IN_WINDOW,
        )
    assert (refused.value.code, refused.value.status) == ("duplicate_application", 409)
    assert first.application_id in refused.value.detail
    assert refused.value.extra["application_id"] == first.application_id


def test_withdrawn_application_lets_the_akim_apply_again() -> None:
    state = edition_2020()
    first = submitted(state)
    first = evolve_application(
        first,
        withdraw(
            first,
            WithdrawApplication(application_id=first.application_id, reason="wrong district"),
            IN_WINDOW,
        ),
    )
    assert first.status is ApplicationStatus.withdrawn
    assert not first.is_live
    live = first.application_id if first.is_live else None
    events = submit(
        state,
        submission(state.edition_id),
        live_application_id=live,
        territory=load_territory(),
        at=IN_WINDOW + MINUTE,
    )
    assert isinstance(events[0], ApplicationSubmitted)


def test_withdrawing_twice_is_refused() -> None:
    app = submitted()
    command = WithdrawApplication(application_id=app.application_id, reason="ill")
    app = evolve_application(app, withdraw(app, command, IN_WINDOW))
    with pytest.raises(Conflict) as refused:
        withdraw(app, command, IN_WINDOW)
    assert refused.value.code == "application_withdrawn"


def test_withdrawal_needs_a_reason() -> None:
    app = submitted()
    with pytest.raises(RuleViolation) as refused:
        withdraw(app, WithdrawApplication(application_id=app.application_id, reason=""), IN_WINDOW)
    assert refused.value.code == "reason_required"


@pytest.mark.parametrize("kato", ["193600000", "190000000", "193633100", "999999999"])
def test_a_code_that_is_no_rural_district_is_refused(kato: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        submitted(rural_district_kato=kato)
    assert refused.value.code == "unknown_rural_district"


def test_document_after_the_window_is_refused() -> None:
    state = edition_2020()
    app = submitted(state)
    with pytest.raises(RuleViolation) as refused:
        attach(app, state, DocumentKind.identity_document, at=WINDOW_CLOSES)
    assert refused.value.code == "document_late"
    assert refused.value.extra["deadline"] == "2020-06-23T00:00:00+06:00"


def test_document_of_a_media_type_not_accepted_for_its_kind_is_refused() -> None:
    state = edition_2020()
    app = submitted(state)
    with pytest.raises(RuleViolation) as refused:
        attach(app, state, DocumentKind.project_video, media_type="application/pdf")
    assert refused.value.code == "document_media_type_not_allowed"
    assert refused.value.errors[0].field == "documents.project_video"


def test_document_above_its_size_limit_is_refused_with_413() -> None:
    state = edition_2020()
    app = submitted(state)
    limit = state.nomination_rules.max_document_bytes[DocumentKind.identity_document]
    with pytest.raises(DomainError) as refused:
        attach(app, state, DocumentKind.identity_document, size_bytes=limit + 1)
    assert (refused.value.code, refused.value.status) == ("document_too_large", 413)


def test_video_longer_than_the_limit_is_refused_at_the_door() -> None:
    state = edition_2020()
    app = submitted(state)
    with pytest.raises(RuleViolation) as refused:
        attach(app, state, DocumentKind.project_video, duration_seconds=300.5)
    assert refused.value.code == "video_too_long"


def test_video_without_a_measured_length_is_refused() -> None:
    state = edition_2020()
    app = submitted(state)
    with pytest.raises(RuleViolation) as refused:
        attach(app, state, DocumentKind.project_video, duration_seconds=None)
    assert refused.value.code == "video_duration_unknown"


def test_attaching_the_same_kind_again_replaces_the_document() -> None:
    state = edition_2020()
    app = attach(submitted(state), state, DocumentKind.service_record, sha256="01" * 32)
    app = attach(app, state, DocumentKind.service_record, sha256="02" * 32)
    assert app.documents[DocumentKind.service_record].sha256 == "02" * 32
    assert len(app.documents) == 1


def test_withdrawn_application_takes_no_more_documents() -> None:
    state = edition_2020()
    app = submitted(state)
    app = evolve_application(
        app,
        withdraw(
            app, WithdrawApplication(application_id=app.application_id, reason="moved"), IN_WINDOW
        ),
    )
    with pytest.raises(Conflict) as refused:
        attach(app, state, DocumentKind.identity_document)
    assert refused.value.code == "application_withdrawn"
