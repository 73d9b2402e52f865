"""A period ending on a non-working day (DOMAIN reading) with the 2020 calendar as data."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.nominations.domain.figures import (
    build_announcement,
    load_figures,
    load_working_calendar,
)
from services.nominations.domain.values import ALMATY
from services.nominations.domain.working_days import PeriodEnd

from .builders import new_id

KZ_2020 = load_working_calendar("non-working-days-kz-2020.json")


def midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=ALMATY)


@pytest.mark.parametrize(
    "day, works",
    [
        (date(2020, 6, 19), True),  # Friday
        (date(2020, 6, 20), False),  # Saturday
        (date(2020, 6, 21), False),  # Sunday
        (date(2020, 6, 22), True),  # Monday
        (date(2020, 3, 24), False),  # Nauryz on the weekend, carried over
        (date(2020, 5, 8), False),  # day off transferred from Monday 11 May
        (date(2020, 5, 11), True),
        (date(2020, 1, 5), True),  # a Sunday worked
        (date(2020, 7, 6), False),  # Capital Day
        (date(2020, 7, 31), False),  # Kurban ait
        (date(2020, 12, 16), False),  # Independence Day
    ],
)
def test_the_2020_calendar_of_non_working_days(day: date, works: bool) -> None:
    assert KZ_2020.works(day) is works


def test_a_period_ending_on_nauryz_runs_to_the_next_working_day() -> None:
    assert KZ_2020.next_working_day(date(2020, 3, 21)) == date(2020, 3, 26)
    assert KZ_2020.next_working_day(date(2020, 6, 19)) == date(2020, 6, 19)


def test_by_default_the_2020_window_runs_to_the_end_of_monday_22_june() -> None:
    figures = load_figures("edition-2020.json")
    assert figures.calendar.period_ending_on_non_working_day is PeriodEnd.next_working_day
    calendar = build_announcement(figures, new_id()).calendar
    assert calendar.application_window_closes_at == midnight(2020, 6, 23)
    assert calendar.check_period_ends_at == midnight(2020, 7, 1)  # 20 June + 10 days


def test_an_edition_may_end_its_periods_as_stated() -> None:
    figures = load_figures("edition-2020.json")
    as_stated = figures.calendar.model_copy(
        update={"period_ending_on_non_working_day": PeriodEnd.as_stated}
    )
    command = build_announcement(figures.model_copy(update={"calendar": as_stated}), new_id())
    assert command.calendar.application_window_closes_at == midnight(2020, 6, 21)


def test_the_check_period_is_not_moved_past_the_stage_one_deadline() -> None:
    # the e2e edition moved to 2 December 2026: its check's tenth day is Saturday 2 January,
    # also its stage-I deadline's day; the calendar must stay in order
    figures = load_figures("edition-2020.json")
    shift = date(2026, 12, 2) - figures.calendar.announce_by
    moved = {
        name: value + shift
        for name, value in figures.calendar.model_dump().items()
        if isinstance(value, date)  # datetime too, as e2e's current_edition does
    }
    calendar = build_announcement(
        figures.model_copy(update={"calendar": figures.calendar.model_copy(update=moved)}),
        new_id(),
    ).calendar
    assert calendar.in_order()
    assert calendar.application_window_closes_at == midnight(2026, 12, 24)  # a Wednesday
    assert calendar.check_period_ends_at == midnight(2027, 1, 3)
