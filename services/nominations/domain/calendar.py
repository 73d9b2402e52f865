"""An edition's calendar: the steps of the DOMAIN "Timeline" table as instants (§8–§19).

**Deadlines are exclusive instants**: an action is on time when it happens strictly before
its step's deadline. "By 30 June" is therefore ``1 July 00:00`` Asia/Almaty and "by 15 August
18:30" (§18) is ``15 August 18:30``. A deadline moves only by ``DeadlineExtended``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise

from pydantic import AwareDatetime, Field

from .values import ALMATY, Frozen, Names


class CalendarStep(StrEnum):
    """The steps with a deadline, in calendar order."""

    application_window = "application_window"
    check_period = "check_period"
    stage_one = "stage_one"
    interviews = "interviews"
    finalists = "finalists"
    materials = "materials"
    defences = "defences"


STEP_NAMES = {
    CalendarStep.application_window: Names(ru="Приём документов", en="Application window (§9)"),
    CalendarStep.check_period: Names(ru="Проверка документов", en="Completeness check (§10)"),
    CalendarStep.stage_one: Names(ru="Отбор I этапа", en="Stage I selection (§13)"),
    CalendarStep.interviews: Names(ru="Собеседования", en="Interviews (§14)"),
    CalendarStep.finalists: Names(ru="Определение финалистов", en="Finalists chosen (§16)"),
    CalendarStep.materials: Names(ru="Материалы в Агентство", en="Materials to the Agency (§18)"),
    CalendarStep.defences: Names(ru="Защита проектов", en="Republican defences (§19)"),
}


class EditionCalendar(Frozen):
    """When each step ends. All values are timezone-aware; compare them as instants."""

    announced_at: AwareDatetime = Field(description="§8: the announcement is published")
    announcement_deadline: AwareDatetime = Field(
        description="§8: the announcement is published before this (exclusive)"
    )
    application_window_opens_at: AwareDatetime = Field(description="§9: applications accepted")
    application_window_closes_at: AwareDatetime = Field(description="§9, §11.2 (exclusive)")
    check_period_ends_at: AwareDatetime = Field(description="§10 (exclusive)")
    stage_one_deadline: AwareDatetime = Field(description="§12, §13 (exclusive)")
    interviews_deadline: AwareDatetime = Field(description="§14 (exclusive)")
    finalists_deadline: AwareDatetime = Field(description="§16, §17 (exclusive)")
    materials_deadline: AwareDatetime = Field(description="§18 (exclusive)")
    defences_deadline: AwareDatetime = Field(description="§19 (exclusive)")

    def deadline(self, step: CalendarStep) -> datetime:
        value: datetime = getattr(self, _FIELDS[step])
        return value

    def with_deadline(self, step: CalendarStep, moment: datetime) -> EditionCalendar:
        return self.model_copy(update={_FIELDS[step]: moment})

    def is_over(self, step: CalendarStep, at: datetime) -> bool:
        """True when ``at`` is at or after the step's (exclusive) deadline."""
        return at >= self.deadline(step)

    def in_order(self) -> bool:
        """Opening, closing and every later deadline never go backwards in time."""
        moments = [self.announced_at, self.application_window_opens_at]
        moments += [self.deadline(step) for step in CalendarStep]
        return all(a <= b for a, b in pairwise(moments))


_FIELDS = {
    CalendarStep.application_window: "application_window_closes_at",
    CalendarStep.check_period: "check_period_ends_at",
    CalendarStep.stage_one: "stage_one_deadline",
    CalendarStep.interviews: "interviews_deadline",
    CalendarStep.finalists: "finalists_deadline",
    CalendarStep.materials: "materials_deadline",
    CalendarStep.defences: "defences_deadline",
}


def end_of_day(day: date) -> datetime:
    """The exclusive deadline for "by ``day``": the next midnight in Asia/Almaty."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ALMATY)
