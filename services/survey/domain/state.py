"""The state of one survey, folded from its events (§14.3): ``evolve`` and ``replay``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal
from uuid import UUID

from services.survey.domain.results import Tally
from services.survey.events import (
    ResidentsRollUploaded,
    ResponseFlagged,
    ResponseRecorded,
    SurveyClosed,
    SurveyOpened,
)
from shared.errors import NotFound
from shared.events import Event

Status = Literal["open", "closed"]


@dataclass(frozen=True)
class SurveyState:
    """What the decisions need to know about one survey."""

    opened: SurveyOpened
    status: Status
    tally: Tally
    answered: frozenset[str] = frozenset()
    responses: frozenset[UUID] = frozenset()
    roll_count: int | None = None
    roll_sha256: str | None = None

    @property
    def survey_id(self) -> UUID:
        return self.opened.survey_id


def evolve(state: SurveyState | None, event: Event) -> SurveyState | None:
    """The state after one event; pure and total over the survey's event types."""
    if isinstance(event, SurveyOpened):
        return SurveyState(opened=event, status="open", tally=Tally.empty())
    current = require(state)
    if isinstance(event, ResponseRecorded):
        tally = current.tally.add(event.answers)
        if event.flagged:
            tally = tally.flag(event.response_id)
        return replace(
            current,
            tally=tally,
            answered=current.answered | {event.resident},
            responses=current.responses | {event.response_id},
        )
    if isinstance(event, ResponseFlagged):
        return replace(current, tally=current.tally.flag(event.response_id))
    if isinstance(event, ResidentsRollUploaded):
        return replace(current, roll_count=event.count, roll_sha256=event.sha256)
    if isinstance(event, SurveyClosed):
        return replace(current, status="closed")
    return current


def replay(events: Iterable[Event], state: SurveyState | None = None) -> SurveyState | None:
    """``evolve`` folded over ``events``, in linear time: the resident and response sets grow
    in place between other events instead of being copied at every response."""
    answered: set[str] = set(state.answered) if state else set()
    responses: set[UUID] = set(state.responses) if state else set()
    for event in events:
        if isinstance(event, ResponseRecorded) and state is not None:
            tally = state.tally.add(event.answers)
            if event.flagged:
                tally = tally.flag(event.response_id)
            state = replace(state, tally=tally)
            answered.add(event.resident)
            responses.add(event.response_id)
            continue
        if state is not None:
            state = replace(state, answered=frozenset(answered), responses=frozenset(responses))
        state = evolve(state, event)
    if state is None:
        return None
    return replace(state, answered=frozenset(answered), responses=frozenset(responses))


def require(state: SurveyState | None) -> SurveyState:
    """The state of an opened survey; 404 ``survey_not_found`` otherwise."""
    if state is None:
        raise NotFound("survey_not_found", "no such survey")
    return state
