"""The Edition aggregate: the 2020 calendar, announcement, deadline extensions (§8–§19)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from services.nominations.domain import edition
from services.nominations.domain.calendar import CalendarStep
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.edition import ExtendDeadline
from services.nominations.domain.figures import (
    build_announcement,
    default_edition_2020,
    edition_2020_moved_to,
    load_figures,
)
from services.nominations.domain.values import ALMATY
from services.nominations.events import DeadlineExtended, EditionAnnounced, registry
from shared.errors import Conflict, Forbidden, RuleViolation

from .builders import ORGANISER, SECRETARY, edition_2020, fold_edition, new_id


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY)


def test_2020_calendar_follows_the_timeline_in_almaty_time() -> None:
    calendar = edition_2020().calendar
    assert calendar.announced_at == at(2020, 5, 30)
    # 20 June 2020 is a Saturday: by default the window runs to the end of Monday 22 June
    assert calendar.application_window_closes_at == at(2020, 6, 23)
    assert calendar.check_period_ends_at == at(2020, 7, 1)  # end of 30 June
    assert calendar.stage_one_deadline == at(2020, 7, 1)
    assert calendar.interviews_deadline == at(2020, 7, 31)
    assert calendar.finalists_deadline == at(2020, 7, 31)
    assert calendar.materials_deadline == at(2020, 8, 15, 18, 30)
    assert calendar.defences_deadline == at(2020, 9, 21)
    assert calendar.materials_deadline.utcoffset() == timedelta(hours=6)


def test_window_runs_21_days_after_the_announcement_day_and_check_10_more() -> None:
    calendar = edition_2020(announced_at=at(2020, 5, 25, 15, 0)).calendar
    assert calendar.application_window_opens_at == at(2020, 5, 25, 15, 0)
    assert calendar.application_window_closes_at == at(2020, 6, 16)  # end of 15 June
    assert calendar.check_period_ends_at == at(2020, 6, 26)  # end of 25 June


def test_2020_rules_are_the_edition_data() -> None:
    rules = edition_2020().nomination_rules
    assert rules.min_years_in_post == 1
    assert rules.video_max_seconds == 300
    assert rules.required_document_kinds == tuple(
        k for k in DocumentKind if k not in ("essay", "photo")
    )
    assert rules.essay_max_pages == 3
    assert rules.rubric.max_total == 29
    assert rules.indicators_as_of.isoformat() == "2020-01-01"


def test_scoring_and_survey_sections_are_carried_as_given() -> None:
    state = edition_2020(scoring={"quorum": "2/3"}, survey={"criteria": 16})
    assert state.rules.scoring == {"quorum": "2/3"}
    assert state.rules.survey == {"criteria": 16}


def test_announcement_yields_edition_announced() -> None:
    command = default_edition_2020(new_id())
    [event] = edition.announce(None, command, ORGANISER)
    assert isinstance(event, EditionAnnounced)
    assert (event.edition_id, event.year) == (command.edition_id, 2020)


def test_an_edition_is_announced_only_once() -> None:
    state = edition_2020()
    command = default_edition_2020(state.edition_id)
    with pytest.raises(Conflict) as refused:
        edition.announce(state, command, ORGANISER)
    assert refused.value.code == "edition_already_announced"


def test_only_the_organiser_announces_an_edition() -> None:
    with pytest.raises(Forbidden) as refused:
        edition.announce(None, default_edition_2020(new_id()), SECRETARY)
    assert refused.value.code == "role_not_allowed"


def test_a_calendar_running_backwards_is_refused() -> None:
    command = default_edition_2020(new_id())
    backwards = command.calendar.with_deadline(CalendarStep.defences, at(2020, 6, 1))
    with pytest.raises(RuleViolation) as refused:
        edition.announce(None, command.model_copy(update={"calendar": backwards}), ORGANISER)
    assert refused.value.code == "calendar_out_of_order"


def extend(step: CalendarStep, moment: datetime, reason: str = "pandemic") -> list[object]:
    state = edition_2020()
    command = ExtendDeadline(
        edition_id=state.edition_id, step=step, new_deadline=moment, reason=reason
    )
    return list(edition.extend_deadline(state, command, ORGANISER))


def test_extension_moves_the_deadline_and_is_kept_in_the_history() -> None:
    state = edition_2020()
    command = ExtendDeadline(
        edition_id=state.edition_id,
        step=CalendarStep.materials,
        new_deadline=at(2020, 8, 20, 18, 30),
        reason="regional commissions met late",
    )
    events = edition.extend_deadline(state, command, ORGANISER)
    announced = edition.announce(None, default_edition_2020(state.edition_id), ORGANISER)
    after = fold_edition([*announced, *events])
    assert after.calendar.materials_deadline == at(2020, 8, 20, 18, 30)
    [extension] = after.extensions
    assert isinstance(extension, DeadlineExtended)
    assert extension.previous_deadline == at(2020, 8, 15, 18, 30)


@pytest.mark.parametrize("moment", [at(2020, 8, 15, 18, 30), at(2020, 8, 14)])
def test_extension_not_later_than_the_current_deadline_is_refused(moment: datetime) -> None:
    with pytest.raises(RuleViolation) as refused:
        extend(CalendarStep.materials, moment)
    assert refused.value.code == "extension_not_later"
    assert refused.value.extra["current_deadline"] == "2020-08-15T18:30:00+06:00"


def test_extension_needs_a_reason() -> None:
    with pytest.raises(RuleViolation) as refused:
        extend(CalendarStep.materials, at(2020, 8, 20), reason="  ")
    assert refused.value.code == "reason_required"


def test_extension_past_a_later_step_is_refused() -> None:
    with pytest.raises(RuleViolation) as refused:
        extend(CalendarStep.application_window, at(2020, 7, 5))
    assert refused.value.code == "calendar_out_of_order"


def test_only_the_organiser_extends_a_deadline() -> None:
    state = edition_2020()
    command = ExtendDeadline(
        edition_id=state.edition_id,
        step=CalendarStep.defences,
        new_deadline=at(2020, 9, 30),
        reason="pandemic",
    )
    with pytest.raises(Forbidden):
        edition.extend_deadline(state, command, SECRETARY)


def test_an_announcement_on_the_last_allowed_day_is_taken() -> None:
    command = default_edition_2020(
        new_id(), announced_at=at(2020, 5, 30, 23, 59) + timedelta(seconds=59)
    )
    assert command.calendar.announcement_deadline == at(2020, 5, 31)  # end of 30 May
    [event] = edition.announce(None, command, ORGANISER)
    assert isinstance(event, EditionAnnounced)


def test_an_announcement_after_the_editions_date_is_refused_as_late() -> None:
    command = default_edition_2020(new_id(), announced_at=at(2020, 5, 31))
    with pytest.raises(RuleViolation) as refused:
        edition.announce(None, command, ORGANISER)
    assert (refused.value.code, refused.value.status) == ("announcement_late", 422)
    assert "2020-05-31 00:00:00" in refused.value.detail
    assert refused.value.extra["deadline"] == "2020-05-31T00:00:00+06:00"


def test_the_announcement_day_is_edition_data() -> None:
    figures = load_figures("edition-2020.json")
    assert figures.calendar.announce_by == date(2020, 5, 30)
    later = figures.model_copy(
        update={"calendar": figures.calendar.model_copy(update={"announce_by": date(2020, 5, 31)})}
    )
    command = build_announcement(later, new_id())
    moment = at(2020, 5, 31, 12)
    calendar = command.calendar.model_copy(
        update={"announced_at": moment, "application_window_opens_at": moment}
    )
    assert edition.announce(None, command.model_copy(update={"calendar": calendar}), ORGANISER)


def test_a_stored_version_1_announcement_upcasts_with_its_deadline_met() -> None:
    payload = default_edition_2020(new_id()).model_dump(mode="json")
    del payload["calendar"]["announcement_deadline"]
    event = registry.decode("EditionAnnounced", 1, payload)
    assert isinstance(event, EditionAnnounced) and event.schema_version == 2
    assert event.calendar.announcement_deadline == at(2020, 5, 31)


EDGE_OF_TIME = datetime.fromisoformat("9999-12-31T23:59:59-12:00")  # no Almaty date: year 10000


def test_an_extension_to_a_moment_without_an_almaty_date_is_refused_and_the_next_is_judged() -> (
    None
):
    """Issue 13, item 14: defences extended to 9999-12-31T23:59:59-12:00 were taken, and any
    later extension of the step was a 500 (OverflowError writing its refusal in Almaty)."""
    with pytest.raises(RuleViolation) as refused:
        extend(CalendarStep.defences, EDGE_OF_TIME)
    assert (refused.value.code, refused.value.status) == ("calendar_out_of_range", 422)
    assert extend(CalendarStep.defences, at(2020, 9, 30))


@pytest.mark.parametrize(
    ("field", "moment"),
    [
        ("defences_deadline", EDGE_OF_TIME),
        ("announced_at", datetime.fromisoformat("0001-01-01T00:00:00+14:00")),
    ],
)
def test_an_announcement_with_a_moment_without_an_almaty_date_is_refused(
    field: str, moment: datetime
) -> None:
    command = default_edition_2020(new_id())
    command = command.model_copy(
        update={"calendar": command.calendar.model_copy(update={field: moment})}
    )
    with pytest.raises(RuleViolation) as refused:
        edition.announce(None, command, ORGANISER)
    assert refused.value.code == "calendar_out_of_range"


def test_the_2020_figures_moved_to_now_are_announced_with_the_window_open_now() -> None:
    """README "Running it distributed": the example that succeeds on the real clock."""
    now = datetime(2026, 12, 2, 21, 15, tzinfo=ALMATY)
    command = edition_2020_moved_to(new_id(), now)
    cal = command.calendar
    assert command.year == 2026
    assert cal.announced_at == now - timedelta(minutes=1)
    assert cal.application_window_opens_at <= now < cal.application_window_closes_at
    assert cal.application_window_closes_at - now > timedelta(days=20)
    # the 2020 rules, moved in time only; the aggregate accepts it as announced
    assert command.rules == default_edition_2020(command.edition_id).rules
    (announced,) = edition.announce(None, command, ORGANISER)
    assert isinstance(announced, EditionAnnounced)
