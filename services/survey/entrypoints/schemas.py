"""The survey API's bodies and views: what a request carries and an answer shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from services.survey.events import SurveyResult
from shared.text import CheckedBody, ClientId

MAX_IMPORT_BYTES = 5_000_000
MAX_ROLL = 200_000
MAX_ROLL_BYTES = MAX_ROLL * 70  # a roll of resident keys: 64 hex digits, quoted, a comma


class OpenSurveyBody(CheckedBody):
    survey_id: UUID
    edition_id: ClientId
    candidate_id: ClientId
    settlement_kato: str = Field(pattern=r"^\d{9}$", description="the nominee's rural district")
    region_kato: str = Field(pattern=r"^\d{9}$")
    opens_at: datetime
    closes_at: datetime


class Appended(BaseModel):
    id: str = Field(description="the resource the command created or changed")
    event_ids: list[str] = Field(description="ids of the events the command appended")


class ResponseBody(BaseModel):
    iin: str = Field(
        max_length=32, description="the resident's 12-digit IIN; never stored, only its HMAC"
    )
    answers: list[int] = Field(
        max_length=64, description="one score per Annex 5 criterion, in the rubric's order"
    )


class Recorded(BaseModel):
    id: str = Field(description="the response's id")
    survey_id: str
    event_ids: list[str]


class RollBody(CheckedBody):
    residents: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1,
        max_length=MAX_ROLL,
        description="IINs (hashed on arrival, never stored) or resident keys (HMAC, hex)",
    )


class SurveyView(BaseModel):
    survey_id: str
    edition_id: str
    candidate_id: str
    settlement_kato: str
    region_kato: str
    opens_at: datetime
    closes_at: datetime
    rubric_id: str
    status: str
    closed_at: datetime | None
    roll: bool = Field(description="whether a residents' roll restricts who may answer")
    roll_count: int | None = Field(None, description="residents on the roll, if there is one")
    roll_sha256: str | None = Field(
        None, description="the roll's digest (SHA-256 of its sorted resident keys)"
    )


class ResultsView(BaseModel):
    survey_id: str
    status: str
    final: bool = Field(description="true once the survey is closed")
    rubric_id: str
    result: SurveyResult
