"""§6: at least one year in the post of akim, computed to the day (DOMAIN "Eligibility").

The term runs from the appointment date to the day the application was submitted, both
taken as Asia/Almaty calendar days: appointed 1 June 2019, an application of 31 May 2020 is
a day short and one of 1 June 2020 is on time.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime

from .values import ALMATY


def years_after(day: date, years: int) -> date:
    """The same calendar day ``years`` later; 29 February falls on 1 March in other years."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def months_before(day: date, months: int) -> date:
    """The same calendar day ``months`` earlier, clamped to the end of a shorter month."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def almaty_day(moment: datetime) -> date:
    """The Asia/Almaty calendar day of ``moment``."""
    return moment.astimezone(ALMATY).date()


def served_full_term(appointed_on: date, submitted_at: datetime, min_years: int) -> bool:
    """True when on the day of submission (Almaty) the akim has held the post ``min_years``."""
    return almaty_day(submitted_at) >= years_after(appointed_on, min_years)
