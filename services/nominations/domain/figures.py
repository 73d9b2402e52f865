"""An edition's figures as shipped data, and the 2020 edition built from them.

``data/edition-2020.json`` holds every figure of the 2020 edition with the paragraph it comes
from (its ``sources``). :func:`build_announcement` turns such figures into an
``AnnounceEdition`` command; a later edition ships its own file and needs no code change.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

from pydantic import Field

from .calendar import EditionCalendar, end_of_day
from .edition import AnnounceEdition
from .edition_rules import EditionRules, NominationRules
from .rubric import load_rubric
from .values import ALMATY, Frozen
from .working_days import PeriodEnd, WorkingCalendar, last_day, working_calendar

_DATA = files("services.nominations") / "data"


class CalendarFigures(Frozen):
    """The DOMAIN "Timeline" as the source states it: days, periods and a wall-clock time."""

    announce_by: date = Field(description="§8, §9: the announcement's last allowed day")
    announced_on: date = Field(description="the announcement's day when none is given")
    application_window_days: int = Field(gt=0, description="§9: three weeks")
    check_period_days: int = Field(gt=0, description="§10: ten calendar days")
    stage_one_last_day: date
    interviews_last_day: date
    finalists_last_day: date
    materials_due_at: datetime = Field(description="§18: Asia/Almaty wall-clock time")
    defences_last_day: date
    period_ending_on_non_working_day: PeriodEnd = Field(
        PeriodEnd.next_working_day,
        description="DOMAIN reading: the application window whose last day does not work runs "
        "to the end of the next working day, or ends as stated",
    )
    non_working_days_file: str = Field(
        "non-working-days-kz-2020.json", description="the calendar of non-working days (data)"
    )


class EditionFigures(Frozen):
    year: int
    title: str
    sources: dict[str, str]
    calendar: CalendarFigures
    nominations: dict[str, Any]


def build_calendar(figures: CalendarFigures, announced_at: datetime) -> EditionCalendar:
    """§9, §10: the window runs three weeks from the announcement, the check ten days more.

    **Reading** (the civil-law way of counting periods): the day of the event that starts a
    period is not counted, and the period ends at the end of its last day: three weeks from
    30 May end with 20 June. **Reading** (non-working days): the application window whose
    last day does not work runs to the end of the next working day when the edition says so
    (2020: Saturday 20 June runs to the end of Monday 22 June). The check is the commission's
    own period, bound by §13's stage-I deadline: its ten days count from the window's stated
    last day and are not moved, so that they end with 30 June, as the source intends.
    """
    announced_day = announced_at.astimezone(ALMATY).date()
    window_last_day = announced_day + timedelta(days=figures.application_window_days)
    check_last_day = window_last_day + timedelta(days=figures.check_period_days)
    rule, working = (
        figures.period_ending_on_non_working_day,
        load_working_calendar(figures.non_working_days_file),
    )
    return EditionCalendar(
        announced_at=announced_at,
        announcement_deadline=end_of_day(figures.announce_by),
        application_window_opens_at=announced_at,
        application_window_closes_at=end_of_day(last_day(window_last_day, rule, working)),
        check_period_ends_at=end_of_day(check_last_day),
        stage_one_deadline=end_of_day(figures.stage_one_last_day),
        interviews_deadline=end_of_day(figures.interviews_last_day),
        finalists_deadline=end_of_day(figures.finalists_last_day),
        materials_deadline=figures.materials_due_at.replace(tzinfo=ALMATY),
        defences_deadline=end_of_day(figures.defences_last_day),
    )


def build_rules(figures: EditionFigures, **sections: dict[str, Any]) -> EditionRules:
    """The edition's rules: the nominations section from the figures, the others opaque."""
    nominations = dict(figures.nominations)
    rubric = load_rubric(nominations.pop("rubric_file"))
    return EditionRules(
        nominations=NominationRules.model_validate({**nominations, "rubric": rubric}),
        **sections,
    )


def build_announcement(
    figures: EditionFigures,
    edition_id: str,
    announced_at: datetime | None = None,
    scoring: dict[str, Any] | None = None,
    survey: dict[str, Any] | None = None,
) -> AnnounceEdition:
    """An ``AnnounceEdition`` command from ``figures``; by default announced on its last day."""
    moment = announced_at or datetime.combine(figures.calendar.announced_on, time(0), ALMATY)
    return AnnounceEdition(
        edition_id=edition_id,
        year=figures.year,
        title=figures.title,
        calendar=build_calendar(figures.calendar, moment),
        rules=build_rules(figures, scoring=scoring or {}, survey=survey or {}),
    )


@cache
def load_working_calendar(name: str) -> WorkingCalendar:
    """A calendar of non-working days shipped in ``services/nominations/data``."""
    return working_calendar(json.loads((_DATA / name).read_text(encoding="utf-8")))


@cache
def load_figures(name: str) -> EditionFigures:
    """Figures shipped in ``services/nominations/data`` (e.g. ``edition-2020.json``)."""
    return EditionFigures.model_validate(json.loads((_DATA / name).read_text(encoding="utf-8")))


def default_edition_2020(
    edition_id: str,
    announced_at: datetime | None = None,
    scoring: dict[str, Any] | None = None,
    survey: dict[str, Any] | None = None,
) -> AnnounceEdition:
    """The 2020 edition exactly as DOMAIN "Timeline" and §6, §9–§19, Annex 3 state it.

    Announced 30 May 2020 (§9); window = announcement + 21 days, to 20 June, a Saturday, so
    closing at the end of Monday 22 June; check = 20 June + 10 days, to the end of 30 June
    (§10); stage I by 30 June (§13); interviews and finalists by 30 July (§14, §16);
    materials by 15 August 18:30 (§18); defences by 20 September (§19). All times
    Asia/Almaty; figures in ``edition-2020.json``.
    """
    return build_announcement(
        load_figures("edition-2020.json"), edition_id, announced_at, scoring, survey
    )


def edition_2020_moved_to(edition_id: str, now: datetime) -> AnnounceEdition:
    """The 2020 figures moved to ``now`` (an aware instant): the year is ``now``'s, every date of
    the calendar shifts by the days from 30 May 2020 to ``now``'s date in Asia/Almaty, and it is
    announced a minute before ``now``, so its application window is open for three weeks.

    A rehearsal on the real clock (README "Running it distributed"); the rules are 2020's.
    """
    figures = load_figures("edition-2020.json")
    cal = figures.calendar
    shift = now.astimezone(ALMATY).date() - cal.announced_on
    moved = {
        name: getattr(cal, name) + shift
        for name in type(cal).model_fields
        if isinstance(getattr(cal, name), date)
    }
    figures = figures.model_copy(
        update={"year": now.astimezone(ALMATY).year, "calendar": cal.model_copy(update=moved)}
    )
    return build_announcement(figures, edition_id, announced_at=now - timedelta(minutes=1))
