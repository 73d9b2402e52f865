"""The Survey aggregate (§14.3): open, one response per resident, roll, flags, close."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from functools import reduce
from uuid import uuid4

import pytest

from services.survey.domain.iin import make_iin, resident_key
from services.survey.domain.roll import roll_digest, roll_keys, upload_roll
from services.survey.domain.state import SurveyState, evolve, replay
from services.survey.domain.survey import (
    ResidentFacts,
    close_survey,
    flag_response,
    open_survey,
    record_response,
)
from services.survey.events import (
    ResponseFlagged,
    ResponseRecorded,
    SurveyClosed,
    SurveyOpened,
    registry,
)
from shared.errors import DomainError
from shared.events import Event

from .builders import (
    CLOSES,
    DURING,
    OPENS,
    PEPPER,
    RULES,
    answers,
    open_cmd,
    opened_events,
    response,
    state_of,
    with_responses,
)


def refusal(fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        fn(*args, **kwargs)
    return caught.value


def record(events: list[Event], n: int = 0, **kwargs) -> list[Event]:  # type: ignore[no-untyped-def]
    cmd = kwargs.pop("cmd", None) or response(n)
    options = {"now": DURING, "rules": RULES, "pepper": PEPPER, **kwargs}
    return record_response(state_of(events), cmd, **options)


# --- opening ---------------------------------------------------------------------------------


def test_opening_names_the_editions_rubric() -> None:
    [event] = opened_events()
    assert isinstance(event, SurveyOpened)
    assert event.rubric_id == "annex5-2020"
    assert event.settlement_kato == "101835100"


def test_a_survey_opens_once() -> None:
    error = refusal(open_survey, state_of(opened_events()), open_cmd(), now=OPENS, rules=RULES)
    assert (error.code, error.status) == ("survey_already_open", 409)


def test_a_window_that_ends_before_it_starts_or_in_the_past_is_refused() -> None:
    backwards = replace(open_cmd(), closes_at=OPENS - timedelta(hours=1))
    assert refusal(open_survey, None, backwards, now=OPENS, rules=RULES).code == "invalid_window"
    late = refusal(open_survey, None, open_cmd(), now=CLOSES, rules=RULES)
    assert (late.code, late.status) == ("invalid_window", 422)


def test_a_window_from_year_1_to_9999_or_too_far_ahead_is_refused_at_opening() -> None:
    ends = replace(
        open_cmd(),
        opens_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
        closes_at=datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))),
    )
    error = refusal(open_survey, None, ends, now=OPENS, rules=RULES)
    assert (error.code, error.status, error.extra["reason"]) == (
        "invalid_window",
        422,
        "window_too_long",
    )
    far = replace(
        open_cmd(),
        opens_at=datetime(9999, 12, 1, tzinfo=UTC),
        closes_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    )
    error = refusal(open_survey, None, far, now=OPENS, rules=RULES)
    assert (error.code, error.extra["reason"]) == ("invalid_window", "opens_too_far_ahead")
    longest = replace(open_cmd(), closes_at=OPENS + timedelta(days=RULES.max_window_days))
    assert open_survey(None, longest, now=OPENS, rules=RULES)  # the edge itself is allowed


# --- recording -------------------------------------------------------------------------------


def test_a_response_is_recorded_with_the_resident_key_never_the_iin() -> None:
    [event] = record(opened_events(), 0)
    assert isinstance(event, ResponseRecorded)
    assert event.resident == resident_key(make_iin(0), PEPPER)
    assert event.answers == tuple(answers()) and event.total == 7 * RULES.rubric.size
    assert event.channel == "web" and not event.flagged
    assert make_iin(0) not in event.model_dump_json()


def test_before_opening_the_survey_is_not_open() -> None:
    error = refusal(record, opened_events(), now=OPENS - timedelta(seconds=1))
    assert (error.code, error.status) == ("survey_not_open", 409)


def test_at_the_deadline_the_survey_refuses_answers() -> None:
    error = refusal(record, opened_events(), now=CLOSES)
    assert (error.code, error.status) == ("survey_closed", 409)


def test_a_closed_survey_refuses_answers_even_before_its_deadline() -> None:
    events = opened_events()
    events += close_survey(state_of(events), now=DURING, reason="manual")
    error = refusal(record, events, now=DURING)
    assert (error.code, error.status) == ("survey_closed", 409)


def test_an_unknown_survey_is_not_found() -> None:
    error = refusal(record_response, None, response(0), now=DURING, rules=RULES, pepper=PEPPER)
    assert (error.code, error.status) == ("survey_not_found", 404)


def test_a_resident_answers_only_once_and_learns_nothing_about_the_first_answer() -> None:
    events = with_responses([3] * 16)
    error = refusal(record, events, 0, cmd=response(0, answers(9)))
    assert (error.code, error.status) == ("already_answered", 409)
    assert error.detail == "this resident has already answered this survey"
    assert error.errors == [] and error.extra == {}


def test_the_handler_may_pass_the_already_answered_fact_from_its_table() -> None:
    facts = ResidentFacts(already_answered=True)
    assert refusal(record, opened_events(), 5, facts=facts).code == "already_answered"
    assert record(with_responses(answers()), 0, facts=ResidentFacts(already_answered=False))


def test_each_out_of_range_answer_is_named_by_criterion_and_field() -> None:
    values = answers(5)
    values[2], values[7], values[15] = 11, -1, 100
    error = refusal(record, opened_events(), cmd=response(0, values))
    assert (error.code, error.status) == ("answer_out_of_range", 422)
    assert [(e.code, e.field) for e in error.errors] == [
        ("answer_out_of_range", "answers[2]"),
        ("answer_out_of_range", "answers[7]"),
        ("answer_out_of_range", "answers[15]"),
    ]
    assert "criterion 3" in error.errors[0].detail and "criterion 16" in error.errors[2].detail


def test_a_vector_of_the_wrong_length_is_refused() -> None:
    error = refusal(record, opened_events(), cmd=response(0, [5] * 15))
    assert (error.code, error.status, error.errors[0].field) == (
        "wrong_answer_count",
        422,
        "answers",
    )


def test_an_invalid_iin_is_refused_together_with_the_bad_answers() -> None:
    values = answers(5)
    values[0] = 12
    error = refusal(record, opened_events(), cmd=response(0, values, iin="860101300127"))
    assert (error.code, error.status) == ("invalid_iin", 422)
    assert [e.field for e in error.errors] == ["iin", "answers[0]"]


def test_a_resident_off_the_roll_is_forbidden() -> None:
    events = opened_events()
    events += upload_roll(state_of(events), roll_keys([make_iin(1), make_iin(2)], PEPPER))
    error = refusal(record, events, 0, facts=ResidentFacts(already_answered=False, on_roll=False))
    assert (error.code, error.status) == ("not_on_roll", 403)
    assert record(events, 1, facts=ResidentFacts(already_answered=False, on_roll=True))


def test_with_a_roll_the_handler_must_say_whether_the_resident_is_on_it() -> None:
    events = opened_events()
    events += upload_roll(state_of(events), roll_keys([make_iin(1)], PEPPER))
    with pytest.raises(ValueError):
        record(events, 1)


def test_the_roll_is_logged_as_count_and_digest_only() -> None:
    keys = roll_keys([make_iin(1), make_iin(2), make_iin(1)], PEPPER)
    [event] = upload_roll(state_of(opened_events()), keys)
    assert event.model_dump(mode="json") == {
        "survey_id": str(open_cmd().survey_id),
        "count": 2,
        "sha256": roll_digest(keys),
    }
    assert roll_digest(reversed(sorted(keys))) == roll_digest(keys)


def test_the_roll_cannot_change_once_residents_answered() -> None:
    events = with_responses(answers())
    error = refusal(upload_roll, state_of(events), roll_keys([make_iin(1)], PEPPER))
    assert (error.code, error.status) == ("roll_locked", 409)


def test_a_roll_with_an_invalid_iin_names_the_line() -> None:
    error = refusal(roll_keys, [make_iin(1), "860101300127"], PEPPER)
    assert error.code == "invalid_roll" and error.errors[0].field == "line 2"


# --- flags -----------------------------------------------------------------------------------


def test_flags_are_recorded_with_the_response_and_still_count() -> None:
    [event] = record(opened_events(), 0, flags=["burst_from_source", "burst_from_source"])
    assert isinstance(event, ResponseRecorded)
    assert event.flagged and event.flag_reasons == ("burst_from_source",)


def test_a_response_can_be_flagged_after_the_fact_once() -> None:
    events = with_responses(answers())
    recorded = events[-1]
    assert isinstance(recorded, ResponseRecorded)
    flagged = flag_response(state_of(events), recorded.response_id, ["identical_answers_in_burst"])
    assert isinstance(flagged[0], ResponseFlagged)
    assert flag_response(state_of(events + flagged), recorded.response_id, ["x"]) == []
    assert flag_response(state_of(events), uuid4(), ["x"]) == []


# --- closing ---------------------------------------------------------------------------------


def test_closing_at_the_deadline_publishes_the_final_result() -> None:
    events = with_responses([10] * 16, [7] * 15 + [0], [4] * 16)
    [closed] = close_survey(state_of(events), now=CLOSES + timedelta(minutes=5), reason="deadline")
    assert isinstance(closed, SurveyClosed)
    assert closed.closed_at == CLOSES
    assert closed.result.responses == 3
    assert closed.result.means is not None
    assert closed.result.means[0] == Decimal("7.0000") and closed.result.means[15] == Decimal(
        "4.6667"
    )
    assert closed.result.mean_total == Decimal("109.6667")  # (160 + 105 + 64) / 3


def test_the_deadline_close_waits_for_the_deadline_and_a_survey_closes_once() -> None:
    events = opened_events()
    early = refusal(close_survey, state_of(events), now=DURING, reason="deadline")
    assert (early.code, early.status) == ("deadline_not_reached", 409)
    events += close_survey(state_of(events), now=DURING, reason="manual")
    again = refusal(close_survey, state_of(events), now=CLOSES, reason="deadline")
    assert again.code == "survey_closed"
    assert refusal(flag_response, state_of(events), uuid4(), ["x"]).code == "survey_closed"


def test_a_survey_without_answers_closes_with_no_result() -> None:
    [closed] = close_survey(state_of(opened_events()), now=CLOSES, reason="deadline")
    assert isinstance(closed, SurveyClosed)
    assert closed.result.model_dump(mode="json") == {
        "responses": 0,
        "flagged": 0,
        "means": None,
        "mean_total": None,
    }


# --- folding and the contract ----------------------------------------------------------------


def full_history() -> list[Event]:
    events = with_responses([10] * 16, [3] * 16, [5] * 16)
    first = events[1]
    assert isinstance(first, ResponseRecorded)
    events += flag_response(state_of(events), first.response_id, ["burst_from_source"])
    events += record(events, 9, flags=["identical_answers_in_burst"])
    events += close_survey(state_of(events), now=CLOSES, reason="deadline")
    return events


def test_replay_equals_the_fold_of_evolve() -> None:
    events = full_history()
    folded: SurveyState | None = reduce(evolve, events, None)
    assert replay(events) == folded
    assert folded is not None and folded.status == "closed"
    assert folded.tally.count == 4 and len(folded.tally.flagged) == 2


def test_every_event_round_trips_through_the_registry() -> None:
    for event in full_history():
        decoded = registry.decode(event.event_type, event.schema_version, event.to_payload())
        assert decoded == event


def test_replaying_twice_gives_byte_identical_results() -> None:
    closed_a, closed_b = full_history()[-1], full_history()[-1]
    assert isinstance(closed_a, SurveyClosed) and isinstance(closed_b, SurveyClosed)
    assert closed_a.result.model_dump_json() == closed_b.result.model_dump_json()


def test_a_response_whose_total_disagrees_with_its_answers_is_not_an_event() -> None:
    with pytest.raises(ValueError):
        ResponseRecorded(
            survey_id=uuid4(),
            response_id=uuid4(),
            resident="0" * 64,
            channel="web",
            answers=(1, 2),
            total=4,
        )
