"""The value types and the registry every scoring event is built from."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shared.events import EventRegistry

registry = EventRegistry()

Id = Annotated[str, Field(min_length=1, max_length=64)]
Kato = Annotated[str, Field(pattern=r"^\d{9}$", description="9-digit KATO code")]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Points = Annotated[Decimal, Field(ge=0, description="rounded half-up to ScoringRules.decimals")]
Level = Literal["regional", "republican"]
Stage = Literal["stage1_selection", "stage1_interview", "stage2"]
SheetKind = Literal["project", "essay", "interview", "stage2"]
Purpose = Literal["nomination", "regional", "winners"]
Role = Literal["chair", "secretary"]
DefenceMode = Literal["in_person", "video"]
Gender = Literal["female", "male"]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a UTC offset (RFC 3339)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


class Value(BaseModel):
    """Base of the nested values of the contract: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Position = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="the person's post, one of ScoringRules.positions (e.g. agency_employee)",
    ),
]


class Person(Value):
    person_id: Id
    name: Text
    position: Position | None = Field(
        None, description="§3/§4: required for the chair and the secretary at formation"
    )
    gender: Gender | None = Field(
        None, description="as the person states it: the protocol's Russian agrees with it"
    )
