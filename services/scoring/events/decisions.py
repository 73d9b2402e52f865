"""Scoring events: rankings and decisions (§3, §12, §16, §21)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from services.scoring.events.values import (
    AwareDatetime,
    DefenceMode,
    Id,
    Kato,
    Points,
    Purpose,
    Text,
    Value,
    registry,
)
from shared.events import Event


class Component(Value):
    """One line of a total: ``weighted = value × weight`` (rounded).

    A line of weight 0 is shown beside the total, not added to it. ``value`` null: the figure
    does not exist (a survey with no responses is "no responses", never 0); ``count`` is the
    number of survey responses behind a survey mean (v2 of the events that carry components).
    """

    name: str
    value: Points | None
    weight: Decimal
    weighted: Points | None
    count: int | None = Field(None, ge=0, description="survey responses behind the value")


class RankEntry(Value):
    candidate_id: Id
    rank: int = Field(ge=1, description="competition ranking: equal totals share a rank")
    total: Points
    components: tuple[Component, ...]
    sheets: dict[str, int] = Field(default_factory=dict, description="live sheets per kind")
    sheet_sums: dict[str, int] = Field(default_factory=dict, description="sum of their totals")


class TieBreakStep(Value):
    """One §12 tie-break criterion applied to the candidates still tied at the cut-off."""

    criterion: str
    prefer: Literal["higher", "lower"]
    applied: bool = Field(description="false when a value is not available for all of them")
    values: dict[str, Decimal | None]
    advanced: tuple[Id, ...] = Field(description="separated by this step: take a seat")
    eliminated: tuple[Id, ...] = Field(description="separated by this step: out")
    still_tied: tuple[Id, ...]


@registry.register
class RankingComputed(Event):
    """A ranking and its cut-off; ``pending_casting_vote`` leaves ``tied`` for the chair."""

    event_type = "RankingComputed"
    schema_version = 2  # v2: Component.value may be null, Component.count
    commission_id: Id
    sitting_id: Id
    purpose: Purpose
    scope: Kato | None = Field(description="the district (nomination) or region (regional)")
    entries: tuple[RankEntry, ...]
    seats: int
    selected: tuple[Id, ...]
    tie_break_steps: tuple[TieBreakStep, ...] = ()
    status: Literal["complete", "pending_casting_vote"]
    tied: tuple[Id, ...] = ()
    seats_left: int = Field(0, description="seats not filled by ``selected``")


@registry.register
class CastingVoteRecorded(Event):
    """The chair's casting vote (§3, §4) on a tie the rules did not settle."""

    event_type = "CastingVoteRecorded"
    commission_id: Id
    sitting_id: Id
    purpose: Purpose
    scope: Kato | None
    chair_id: Id
    tied: tuple[Id, ...]
    seats_left: int
    chosen: tuple[Id, ...]


@registry.register
class CandidateNominated(Event):
    """Stage I: one of at most N akims of a district nominated (§12)."""

    event_type = "CandidateNominated"
    commission_id: Id
    sitting_id: Id
    candidate_id: Id
    district: Kato
    points: Points
    rank: int
    basis: Literal["points", "tie_break", "casting_vote"]


@registry.register
class FinalistSelected(Event):
    """The region's finalist (§16); ``reason`` is required when it departs from the ranking."""

    event_type = "FinalistSelected"
    schema_version = 2  # v2: Component.value may be null, Component.count
    commission_id: Id
    sitting_id: Id
    edition_id: Id
    region: Kato
    candidate_id: Id
    regional_total: Points
    components: tuple[Component, ...]
    rank: int
    top: tuple[Id, ...] = Field(description="the candidates ranked first")
    reason: str | None = None


@registry.register
class NoFinalistRecorded(Event):
    """§16: a region with no admitted candidate has no finalist; the commission records why,
    and its interview stage may close."""

    event_type = "NoFinalistRecorded"
    commission_id: Id
    sitting_id: Id
    edition_id: Id
    region: Kato
    reason: Text


@registry.register
class MaterialsSentToAgency(Event):
    """§18: the region's secretary sent the materials and the regional decision to the Agency
    (by 15 August 18:30 in 2020)."""

    event_type = "MaterialsSentToAgency"
    commission_id: Id
    edition_id: Id
    region: Kato
    finalist_id: Id | None = Field(description="the region's finalist; null: no finalist")
    note: str = Field("", max_length=4000)
    sent_at: AwareDatetime


@registry.register
class ProjectDefenceRegistered(Event):
    """Stage II: a finalist's personal project to defend (§19)."""

    event_type = "ProjectDefenceRegistered"
    commission_id: Id
    candidate_id: Id
    title: Text
    budget_tenge: int = Field(ge=0)
    talk_seconds: int = Field(ge=0)
    mode: DefenceMode


class Winner(Value):
    candidate_id: Id
    place: int = Field(ge=1)
    mean: Points
    sum: int
    sheets: int


@registry.register
class WinnersDecided(Event):
    """The Republican commission's decision on the winners (§21).

    v2: with fewer finalists than places, ``places_not_awarded`` names the places left empty and
    ``not_awarded_reason`` says why."""

    event_type = "WinnersDecided"
    schema_version = 2
    commission_id: Id
    sitting_id: Id
    winners: tuple[Winner, ...]
    by_casting_vote: bool
    places_not_awarded: tuple[int, ...] = ()
    not_awarded_reason: str | None = None


@registry.upcaster("WinnersDecided", 1)
def _winners_from_v1(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "places_not_awarded": [], "not_awarded_reason": None}
