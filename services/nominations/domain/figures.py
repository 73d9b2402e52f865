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

from .calendar import EditionCalendar, end_of_day, end_of_period
from .edition import AnnounceEdition
from .rubric import load_rubric
from .rules import EditionRules, NominationRules
from .values import ALMATY, Frozen

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


class EditionFigures(Frozen):
    year: int
    title: str
    sources: dict[str, str]
    calendar: CalendarFigures
    nominations: dict[str, Any]


def build_calendar(figures: CalendarFigures, announced_at: datetime) -> EditionCalendar:
    """§9, §10: the window runs three weeks from the announcement, the check ten days more."""
    announced_day = announced_at.astimezone(ALMATY).date()
    window_last_day = announced_day + timedelta(days=figures.application_window_days)
    return EditionCalendar(
        announced_at=announced_at,
        announcement_deadline=end_of_day(figures.announce_by),
        application_window_opens_at=announced_at,
        application_window_closes_at=end_of_day(window_last_day),
        check_period_ends_at=end_of_period(window_last_day, figures.check_period_days),
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

    Announced 30 May 2020 (§9); window = announcement + 21 days, closing at the end of 20 June;
    check = window close + 10 days, to the end of 30 June (§10); stage I by 30 June (§13);
    interviews and finalists by 30 July (§14, §16); materials by 15 August 18:30 (§18);
    defences by 20 September (§19). All times Asia/Almaty; figures in ``edition-2020.json``.
    """
    return build_announcement(
        load_figures("edition-2020.json"), edition_id, announced_at, scoring, survey
    )
