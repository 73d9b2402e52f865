"""Deadlines falling on non-working days (DOMAIN "Eligibility", reading on non-working days).

Whether a period ending on a non-working day runs to the end of the next working day is an
edition setting; which days do not work is data (``data/non-working-days-kz-2020.json``:
weekly rest days, public holidays, days off carried or transferred, weekend days worked).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field

from .values import Frozen

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class PeriodEnd(StrEnum):
    """What a period whose last day does not work does."""

    next_working_day = "next_working_day"
    """it runs to the end of the next working day (the default reading)"""
    as_stated = "as_stated"
    """it ends on its last day all the same"""


class WorkingCalendar(Frozen):
    """Which days do not work: weekly rest days, unless worked, and the listed days off."""

    weekly_rest_days: frozenset[int] = Field(description="ISO weekdays off, Monday = 1")
    non_working_days: frozenset[date] = Field(description="holidays and days off moved to")
    working_days: frozenset[date] = Field(description="weekly rest days worked instead")

    def works(self, day: date) -> bool:
        """True when ``day`` is a working day."""
        if day in self.working_days:
            return True
        return day not in self.non_working_days and day.isoweekday() not in self.weekly_rest_days

    def next_working_day(self, day: date) -> date:
        """``day`` itself when it works, else the first working day after it."""
        while not self.works(day):
            day += timedelta(days=1)
        return day


def working_calendar(data: dict[str, Any]) -> WorkingCalendar:
    """A :class:`WorkingCalendar` from the shipped data's shape (named weekdays, dated days)."""
    return WorkingCalendar(
        weekly_rest_days=frozenset(WEEKDAYS.index(d) + 1 for d in data["weekly_rest_days"]),
        non_working_days=frozenset(date.fromisoformat(d) for d in data["non_working_days"]),
        working_days=frozenset(date.fromisoformat(d) for d in data["working_days"]),
    )


def last_day(day: date, rule: PeriodEnd, calendar: WorkingCalendar) -> date:
    """The day a period nominally ending on ``day`` really ends on, by the edition's rule."""
    return calendar.next_working_day(day) if rule is PeriodEnd.next_working_day else day
