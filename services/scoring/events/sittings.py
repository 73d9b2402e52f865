"""Scoring events: sittings and sheets (§3, §20)."""

from __future__ import annotations

from pydantic import Field

from services.scoring.events.values import (
    AwareDatetime,
    Id,
    SheetKind,
    Stage,
    Text,
    registry,
)
from shared.events import Event


@registry.register
class SittingOpened(Event):
    """A sitting (заседание) of the commission opened, for one stage."""

    event_type = "SittingOpened"
    schema_version = 3  # v2: purpose_kk (the agenda in Kazakh) and place; v3: place_kk
    sitting_id: Id
    commission_id: Id
    stage: Stage
    purpose: Text = Field(description="what the sitting is for, as its Russian protocol says")
    opened_at: AwareDatetime
    purpose_kk: Text | None = Field(
        default=None, description="the agenda as the Kazakh protocol says it (None: not given)"
    )
    place: Text | None = Field(
        default=None, description="where the sitting is held, as its Russian protocol says"
    )
    place_kk: Text | None = Field(
        default=None, description="where, as the Kazakh protocol says it (None: not given)"
    )


@registry.register
class AttendanceRecorded(Event):
    """Who is present and the quorum outcome (§3: at least 2/3 of the members)."""

    event_type = "AttendanceRecorded"
    commission_id: Id
    sitting_id: Id
    present: tuple[Id, ...]
    absent: tuple[Id, ...]
    members: int
    required: int
    quorate: bool


@registry.register
class ScoreRecorded(Event):
    """One member's evaluation sheet (оценочный лист) for one candidate."""

    event_type = "ScoreRecorded"
    commission_id: Id
    sheet_id: Id
    sitting_id: Id
    member_id: Id
    candidate_id: Id
    kind: SheetKind
    scores: dict[str, int] = Field(description="criterion key -> points")
    derived: tuple[str, ...] = Field(default=(), description="criteria filled in by a rule")
    total: int = Field(ge=0)


@registry.register
class ScoreCorrected(Event):
    """A new sheet superseding a live one; both stay in the history."""

    event_type = "ScoreCorrected"
    commission_id: Id
    sheet_id: Id
    supersedes: Id
    sitting_id: Id
    member_id: Id
    candidate_id: Id
    kind: SheetKind
    scores: dict[str, int]
    derived: tuple[str, ...] = ()
    total: int = Field(ge=0)
    reason: Text
