"""The Edition aggregate: one competition year, its calendar and its rules (§8, "Timeline").

``announce`` and ``extend_deadline`` decide; ``evolve`` folds the edition's events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pydantic import AwareDatetime, Field

from shared.errors import Conflict, NotFound, RuleViolation
from shared.events import Actor, Event

from ..events import DeadlineExtended, EditionAnnounced
from .calendar import CalendarStep, EditionCalendar
from .edition_rules import EditionRules, NominationRules
from .roles import ORGANISER, require_role
from .values import (
    ALMATY,
    EditionYear,
    Frozen,
    Id,
    Text,
    almaty_iso,
    almaty_seconds,
    almaty_text,
)


class AnnounceEdition(Frozen):
    """Command: announce an edition with its calendar and rules (§8)."""

    edition_id: Id = Field(description="the edition's id (UUID), chosen by the organiser")
    year: EditionYear = Field(description="the competition year")
    title: Text = Field(description="the edition's official title")
    calendar: EditionCalendar = Field(description="every deadline, Asia/Almaty (DOMAIN Timeline)")
    rules: EditionRules = Field(description="every figure of the edition, as data")


class ExtendDeadline(Frozen):
    """Command: move one step's deadline later, for a stated reason."""

    edition_id: Id
    step: CalendarStep
    new_deadline: AwareDatetime
    reason: str


@dataclass(frozen=True)
class EditionState:
    edition_id: str
    year: int
    title: str
    calendar: EditionCalendar
    rules: EditionRules
    extensions: tuple[DeadlineExtended, ...] = ()

    @property
    def nomination_rules(self) -> NominationRules:
        return self.rules.nominations


def announce(state: EditionState | None, command: AnnounceEdition, actor: Actor) -> list[Event]:
    """§8: the organiser announces an edition once; its calendar must run forwards."""
    require_role(actor, ORGANISER, "announce an edition")
    if state is not None:
        raise Conflict(
            "edition_already_announced",
            f"edition {state.edition_id} was already announced",
            edition_id=state.edition_id,
        )
    calendar = command.calendar
    require_expressible(
        [calendar.announced_at, calendar.announcement_deadline]
        + [calendar.application_window_opens_at]
        + [calendar.deadline(step) for step in CalendarStep]
    )
    require_announced_in_time(command)
    if not command.calendar.in_order():
        raise RuleViolation("calendar_out_of_order", "a step of the calendar ends before the last")
    return [EditionAnnounced(**command.model_dump())]


def require_expressible(moments: Iterable[datetime]) -> None:
    """422 ``calendar_out_of_range`` for a moment that has no Almaty (or UTC) date of the
    calendar: 9999-12-31T23:59-12:00 is one in no earlier-offset zone, and every later
    message, view or comparison in Almaty would fail on it."""
    for moment in moments:
        try:
            moment.astimezone(ALMATY), moment.astimezone(UTC)
        except OverflowError:
            raise RuleViolation(
                "calendar_out_of_range",
                f"{moment.isoformat()} has no date in Asia/Almaty (years 1 to 9999)",
            ) from None


def require_announced_in_time(command: AnnounceEdition) -> None:
    """§8: the announcement is published before the calendar's ``announcement_deadline``
    (the end of the edition's ``announce_by`` day, 30 May 2020).

    The moment judged is the calendar's ``announced_at`` (the publication the event records),
    not the moment the organiser enters it.
    """
    announced, deadline = command.calendar.announced_at, command.calendar.announcement_deadline
    if announced < deadline:
        return
    raise RuleViolation(
        "announcement_late",
        f"the edition is announced at {almaty_seconds(announced)} Asia/Almaty; §8 requires "
        f"the announcement before {almaty_seconds(deadline)}",
        announced_at=almaty_iso(announced),
        deadline=almaty_iso(deadline),
    )


def extend_deadline(
    state: EditionState | None, command: ExtendDeadline, actor: Actor
) -> list[Event]:
    """Move a deadline later, with a reason; the calendar must stay in order."""
    require_role(actor, ORGANISER, "extend a deadline")
    edition = require_edition(state, command.edition_id)
    if not command.reason.strip():
        raise RuleViolation("reason_required", "an extension needs a reason")
    require_expressible([command.new_deadline])
    current = edition.calendar.deadline(command.step)
    if command.new_deadline <= current:
        raise RuleViolation(
            "extension_not_later",
            f"the new deadline must be later than {almaty_text(current)} (Asia/Almaty)",
            current_deadline=almaty_iso(current),
        )
    if not edition.calendar.with_deadline(command.step, command.new_deadline).in_order():
        raise RuleViolation(
            "calendar_out_of_order",
            f"extending {command.step} past a later step; extend the later step first",
        )
    return [_extended(command, current)]


def _extended(command: ExtendDeadline, current: datetime) -> DeadlineExtended:
    return DeadlineExtended(
        edition_id=command.edition_id,
        step=command.step,
        previous_deadline=current,
        new_deadline=command.new_deadline,
        reason=command.reason.strip(),
    )


def require_edition(state: EditionState | None, edition_id: str) -> EditionState:
    """The edition, or 404 ``edition_not_found``."""
    if state is None:
        raise NotFound("edition_not_found", f"edition {edition_id} was not announced")
    return state


def evolve(state: EditionState | None, event: Event) -> EditionState:
    """Fold one event of an edition's stream."""
    if isinstance(event, EditionAnnounced):
        return EditionState(
            edition_id=event.edition_id,
            year=event.year,
            title=event.title,
            calendar=event.calendar,
            rules=event.rules,
        )
    assert state is not None, f"{event.event_type} before EditionAnnounced"
    if isinstance(event, DeadlineExtended):
        calendar = state.calendar.with_deadline(event.step, event.new_deadline)
        return replace(state, calendar=calendar, extensions=(*state.extensions, event))
    return state


def fold(events: Iterable[Event]) -> EditionState | None:
    """The edition after ``events`` (None for an empty stream)."""
    state: EditionState | None = None
    for event in events:
        state = evolve(state, event)
    return state
