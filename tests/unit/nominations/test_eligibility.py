"""Admission (§6, §10, §11): every failed rule is named, only in the check period."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.nominations.domain.application_state import ApplicationState, ApplicationStatus
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.edition import EditionState
from services.nominations.domain.eligibility import check_eligibility, decide_admission
from services.nominations.domain.values import ALMATY
from services.nominations.events import ApplicationAdmitted, ApplicationRejected, DocumentAttached
from shared.errors import Conflict, ErrorItem, Forbidden, RuleViolation
from shared.events import Actor

from .builders import (
    IN_CHECK,
    IN_WINDOW,
    SECRETARY,
    WINDOW_CLOSES,
    attach,
    complete,
    edition_2020,
    evolve_application,
    submitted,
)

PROJECT_WORK = (DocumentKind.project_presentation, DocumentKind.project_video)
UNLIFTED = {"kind": "disciplinary", "imposed_on": "2019-11-05", "lifted": False}
LIFTED = {
    "kind": "administrative",
    "imposed_on": "2018-02-01",
    "lifted": True,
    "lifted_on": "2019-02-01",
}


def codes(errors: list[ErrorItem]) -> list[str]:
    return [item.code for item in errors]


def test_complete_file_of_an_eligible_akim_is_admitted() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    assert check_eligibility(app, state) == []
    [event] = decide_admission(app, state, SECRETARY, IN_CHECK)
    assert isinstance(event, ApplicationAdmitted)
    assert evolve_application(app, [event]).status is ApplicationStatus.admitted


def test_an_akim_a_day_short_of_a_year_on_the_day_of_submission_fails_the_rule() -> None:
    state = edition_2020()
    late_may = datetime(2020, 5, 31, 23, 59, tzinfo=ALMATY)
    app = complete(submitted(state, at=late_may, appointed_akim_on="2019-06-01"), state)
    [failure] = check_eligibility(app, state)
    assert (failure.code, failure.field) == (
        "akim_term_too_short",
        "questionnaire.appointed_akim_on",
    )
    assert "2019-06-01" in failure.detail and "2020-05-31" in failure.detail


def test_an_akim_of_exactly_one_year_on_the_day_of_submission_passes_the_rule() -> None:
    state = edition_2020()
    first_june = datetime(2020, 6, 1, 0, 0, tzinfo=ALMATY)
    app = complete(submitted(state, at=first_june, appointed_akim_on="2019-06-01"), state)
    assert check_eligibility(app, state) == []


def test_the_day_of_submission_is_the_almaty_day_not_the_utc_one() -> None:
    state = edition_2020()
    # 1 June 2020 00:30 in Almaty is still 31 May in UTC
    early = datetime(2020, 5, 31, 18, 30, tzinfo=UTC)
    app = complete(submitted(state, at=early, appointed_akim_on="2019-06-01"), state)
    assert check_eligibility(app, state) == []


def test_the_minimum_term_is_edition_data() -> None:
    state = edition_2020()
    rules = state.rules.model_copy(
        update={"nominations": state.nomination_rules.model_copy(update={"min_years_in_post": 2})}
    )
    two_years = replace(state, rules=rules)
    app = complete(submitted(two_years, appointed_akim_on="2018-07-01"), two_years)
    assert codes(check_eligibility(app, two_years)) == ["akim_term_too_short"]


def test_each_unlifted_sanction_is_named_and_a_lifted_one_is_not() -> None:
    state = edition_2020()
    second = {**UNLIFTED, "kind": "administrative", "imposed_on": "2020-01-15"}
    app = complete(submitted(state, sanctions=[UNLIFTED, LIFTED, second]), state)
    failures = check_eligibility(app, state)
    assert codes(failures) == ["sanction_not_lifted", "sanction_not_lifted"]
    assert [f.field for f in failures] == [
        "questionnaire.sanctions[0]",
        "questionnaire.sanctions[2]",
    ]
    assert "2020-01-15" in failures[1].detail


ITEMS_1_TO_5 = [
    k for k in DocumentKind if k not in (*PROJECT_WORK, DocumentKind.essay, DocumentKind.photo)
]


def requiring_both(state: EditionState) -> EditionState:
    rules = state.nomination_rules.model_copy(update={"project_work_requires_both": True})
    return replace(state, rules=state.rules.model_copy(update={"nominations": rules}))


def without(app: ApplicationState, *kinds: DocumentKind) -> ApplicationState:
    return replace(app, documents={k: d for k, d in app.documents.items() if k not in kinds})


@pytest.mark.parametrize("missing", ITEMS_1_TO_5)
def test_each_missing_document_is_named(missing: DocumentKind) -> None:
    state = edition_2020()
    app = without(complete(submitted(state), state), missing)
    [failure] = check_eligibility(app, state)
    assert (failure.code, failure.field) == ("document_missing", f"documents.{missing}")


@pytest.mark.parametrize("given", PROJECT_WORK)
def test_by_default_either_the_presentation_or_the_video_satisfies_item_6(
    given: DocumentKind,
) -> None:
    state = edition_2020()
    assert state.nomination_rules.project_work_requires_both is False
    other = next(k for k in PROJECT_WORK if k is not given)
    app = without(complete(submitted(state), state), other)
    assert check_eligibility(app, state) == []


def test_without_either_item_6_is_one_failure_naming_both() -> None:
    state = edition_2020()
    app = without(complete(submitted(state), state), *PROJECT_WORK)
    [failure] = check_eligibility(app, state)
    assert (failure.code, failure.field) == ("document_missing", "documents.project_presentation")
    assert "slide presentation or Project work: video" in failure.detail
    assert "(§9 item 6)" in failure.detail


def test_a_given_video_is_still_at_most_five_minutes_when_it_alone_is_item_6() -> None:
    state = edition_2020()
    app = without(submitted(state), DocumentKind.project_presentation)
    with pytest.raises(RuleViolation) as refused:
        attach(app, state, DocumentKind.project_video, duration_seconds=300.5)
    assert refused.value.code == "video_too_long"


def test_an_edition_may_require_both_the_presentation_and_the_video() -> None:
    state = requiring_both(edition_2020())
    app = submitted(state)
    failures = check_eligibility(app, state)
    assert codes(failures) == ["document_missing"] * 7
    assert "Project work: slide presentation" in failures[5].detail
    assert "Project work: video" in failures[6].detail
    assert "видеоролик" in failures[6].detail
    only_video = without(complete(app, state), DocumentKind.project_presentation)
    [failure] = check_eligibility(only_video, state)
    assert failure.field == "documents.project_presentation"


def test_rejection_lists_every_failed_rule_at_once() -> None:
    state = edition_2020()
    indicators = submitted(state).questionnaire.indicators.model_dump()
    app = submitted(
        state,
        appointed_akim_on="2019-07-01",
        sanctions=[UNLIFTED],
        indicators={**indicators, "as_of": "2019-12-31"},
    )
    long_video = DocumentAttached(
        application_id=app.application_id,
        kind=DocumentKind.project_video,
        sha256="cd" * 32,
        size_bytes=10_000,
        media_type="video/mp4",
        filename="video.mp4",
        duration_seconds=301.0,
        attached_at=IN_WINDOW,
    )
    app = replace(evolve_application(app, [long_video]), submitted_at=WINDOW_CLOSES)
    [event] = decide_admission(app, state, SECRETARY, IN_CHECK)
    assert isinstance(event, ApplicationRejected)
    assert [e.code for e in event.errors] == [
        "akim_term_too_short",
        "sanction_not_lifted",
        "application_late",
        *["document_missing"] * 5,  # items 1-5: the (too long) video is item 6's file
        "video_too_long",
        "indicators_wrong_date",
    ]
    rejected = evolve_application(app, [event])
    assert rejected.status is ApplicationStatus.rejected
    assert rejected.rejection == event.errors


def test_missing_consents_are_each_named() -> None:
    state = edition_2020()
    statement = {
        "agrees_to_terms": False,
        "consents_to_personal_data": False,
        "signed_on": "2020-06-01",
    }
    app = complete(submitted(state, statement=statement), state)
    assert [(f.code, f.field) for f in check_eligibility(app, state)] == [
        ("consent_missing", "questionnaire.statement.agrees_to_terms"),
        ("consent_missing", "questionnaire.statement.consents_to_personal_data"),
    ]


def test_admission_before_the_window_closes_is_refused() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    with pytest.raises(Conflict) as refused:
        decide_admission(app, state, SECRETARY, WINDOW_CLOSES - timedelta(seconds=1))
    assert refused.value.code == "check_period_not_started"


def test_admission_after_the_check_period_is_refused() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    with pytest.raises(RuleViolation) as refused:
        decide_admission(app, state, SECRETARY, state.calendar.check_period_ends_at)
    assert refused.value.code == "check_period_over"
    assert refused.value.extra["deadline"] == "2020-07-01T00:00:00+06:00"


def test_only_a_secretary_decides_admission() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    member = Actor(id="m1", role="member", region=SECRETARY.region)
    with pytest.raises(Forbidden) as refused:
        decide_admission(app, state, member, IN_CHECK)
    assert refused.value.code == "role_not_allowed"


def test_secretary_of_another_region_may_not_decide() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    other = Actor(id="s2", role="secretary", region="310000000")
    with pytest.raises(Forbidden) as refused:
        decide_admission(app, state, other, IN_CHECK)
    assert refused.value.code == "region_not_allowed"


def test_a_decided_application_is_not_decided_again() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    app = evolve_application(app, decide_admission(app, state, SECRETARY, IN_CHECK))
    with pytest.raises(Conflict) as refused:
        decide_admission(app, state, SECRETARY, IN_CHECK)
    assert refused.value.code == "application_admitted"
