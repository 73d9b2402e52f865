"""Small value types shared by the nominations contract (API.md "Values")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

ALMATY = ZoneInfo("Asia/Almaty")
"""Every deadline is defined and compared in Asia/Almaty (API.md, DOMAIN "Timeline")."""


def _uuid_str(value: str) -> str:
    return str(UUID(value))


Id = Annotated[str, AfterValidator(_uuid_str)]
"""A UUID as its canonical lower-case string."""

Kato = Annotated[str, StringConstraints(pattern=r"^\d{9}$")]
"""A territorial unit by its 9-digit KATO code."""

Tenge = Annotated[int, Field(ge=0)]
"""Money: whole tenge."""

Count = Annotated[int, Field(ge=0)]

EditionYear = Annotated[int, Field(ge=2000, le=2100)]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class Frozen(BaseModel):
    """Base of every value in the contract: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Names(Frozen):
    """A human name of a rule or a thing in Russian and English."""

    ru: str = Field(description="in Russian")
    en: str = Field(description="in English")


def almaty_text(moment: datetime) -> str:
    """``moment`` as Almaty wall-clock text for error messages, e.g. ``2020-06-21 00:00``."""
    return moment.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M")


def almaty_seconds(moment: datetime) -> str:
    """``moment`` as Almaty wall-clock text to the second, e.g. ``2020-06-23 00:00:00``."""
    return moment.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M:%S")


def almaty_iso(moment: datetime) -> str:
    """``moment`` as RFC 3339 with the Almaty offset of that date."""
    return moment.astimezone(ALMATY).isoformat()
