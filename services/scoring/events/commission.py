"""Scoring events: commission (§3, §4, §5)."""

from __future__ import annotations

from pydantic import Field

from services.scoring.events.values import (
    Id,
    Kato,
    Level,
    Person,
    Text,
    registry,
)
from shared.events import Event


@registry.register
class CommissionFormed(Event):
    """A Regional (§3) or the Republican (§4) commission: its voting members, chair, secretary."""

    event_type = "CommissionFormed"
    schema_version = 3  # v2: Person.position (§3/§4 qualifications); v3: Person.gender
    commission_id: Id
    edition_id: Id
    level: Level
    region: Kato | None = Field(description="the region (KATO) of a regional commission")
    members: tuple[Person, ...] = Field(description="voting members; the chair is one of them")
    chair_id: Id
    secretary: Person = Field(description="not a voting member (§5)")


@registry.register
class MemberReplaced(Event):
    """A voting member left and another took the seat; ``chair_id`` is the chair afterwards."""

    event_type = "MemberReplaced"
    schema_version = 3  # v2: Person.position; v3: Person.gender; older reads with none
    commission_id: Id
    outgoing_id: Id
    incoming: Person
    reason: Text
    chair_id: Id


@registry.register
class MemberRecused(Event):
    """A member declared a conflict of interest and gives no sheet for that candidate."""

    event_type = "MemberRecused"
    commission_id: Id
    member_id: Id
    candidate_id: Id
    reason: Text
