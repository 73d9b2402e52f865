"""Deadline reminders to commission members (pure).

A member of a commission whose stage is open (a sitting of it was called and the stage is not
closed) is reminded once, ``reminder_hours`` (48) before the stage's deadline, when some of the
sheets expected from them in that stage are missing: one per candidate under consideration
(stage I selection: the region's registered candidates; interviews: its nominees; stage II:
the finalists). A deadline moved later (DeadlineExtended) is a new deadline: reminded again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

STEP_OF_STAGE = {
    "stage1_selection": "stage_one",
    "stage1_interview": "interviews",
    "stage2": "defences",
}
CALENDAR_FIELD = {
    "stage_one": "stage_one_deadline",
    "interviews": "interviews_deadline",
    "defences": "defences_deadline",
}


@dataclass(frozen=True)
class Reminder:
    member: str
    commission_id: str
    stage: str
    deadline: datetime
    missing: int

    @property
    def key(self) -> str:
        """What makes the reminder once-only: the stage's deadline, not the moment of asking."""
        return f"reminder|{self.commission_id}|{self.stage}|{self.deadline.isoformat()}"


def within(now: datetime, deadline: datetime, hours: int) -> bool:
    return now < deadline <= now + timedelta(hours=hours)


def due(
    now: datetime,
    hours: int,
    commission_id: str,
    stage: str,
    deadline: datetime,
    members: Iterable[str],
    expected: set[str],
    done: Mapping[str, set[str]],
) -> list[Reminder]:
    if not within(now, deadline, hours) or not expected:
        return []
    found = []
    for member in members:
        missing = len(expected - done.get(member, set()))
        if missing:
            found.append(Reminder(member, commission_id, stage, deadline, missing))
    return found
