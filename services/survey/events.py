"""Public contract of the survey service: the facts of the resident survey (DOMAIN §14.3, Annex 5).

Every class here is published on ``uzdik.survey.events`` and is versioned: a new shape is a new
``schema_version`` plus an upcaster in :data:`registry`, never an edit in place.

Choices documented for integrators:

* A resident is never identified by the IIN: ``resident`` is ``HMAC-SHA256(pepper, IIN)`` in
  lowercase hex (:func:`services.survey.domain.iin.resident_key`).
* The residents' roll is **not** carried in :class:`ResidentsRollUploaded`: a rural district may
  hold tens of thousands of residents, far over a Kafka message. The event carries the count and
  the SHA-256 of the canonical roll (the sorted resident keys, one per line, ``\\n``-terminated,
  :func:`services.survey.domain.roll.roll_digest`); the handler stores the keys themselves,
  addressed by that digest, so an auditor can verify them.
* Means are :class:`~decimal.Decimal` rounded half-up to 4 decimals from the exact fraction and
  serialised as JSON strings (``"7.2500"``): byte-identical on every replay, no float ``repr``.
  With no response the means are ``null`` (no result is not a zero score).
* Refused requests (closed survey, repeat, invalid IIN…) are answers to the caller, not events.
* Candidate and edition ids are the strings the scoring and nominations services minted
  (UUIDs in practice); the survey id is a UUID (``uuid5`` of the candidate id when the survey
  was opened by a nomination, so a redelivered nomination cannot open a second survey).
* All events of one survey — its opening, roll, responses, flags and closing — are one stream,
  ``survey-<survey_id>``, so a survey's events are ordered on the topic (one partition key).
* :class:`SurveyClosed` repeats the candidate, edition and rubric: the scoring service turns it
  into its ``SurveyResultReceived`` without having to remember the opening.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shared.events import Event, EventRegistry

registry = EventRegistry()

Kato = Annotated[str, Field(pattern=r"^\d{9}$", description="9-digit KATO code")]
ResidentKey = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="HMAC-SHA256 of the IIN, lowercase hex")
]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
FlagReason = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Channel = Literal["web", "api", "paper"]
CloseReason = Literal["deadline", "manual"]
Mean = Annotated[Decimal, Field(ge=0, decimal_places=4)]
Id = Annotated[str, Field(min_length=1, max_length=64, description="an id minted upstream")]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a UTC offset (RFC 3339)")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]


@registry.register
class SurveyOpened(Event):
    """The survey of one nominee's rural district opened for answers (§14.3)."""

    event_type = "SurveyOpened"
    schema_version = 1

    survey_id: UUID
    edition_id: Id
    candidate_id: Id
    settlement_kato: Kato = Field(description="KATO of the nominee's rural district")
    region_kato: Kato
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    rubric_id: str = Field(description="Annex 5 rubric of the edition, e.g. annex5-2020")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


@registry.register
class ResidentsRollUploaded(Event):
    """The list of residents allowed to answer was set; only its size and digest are logged."""

    event_type = "ResidentsRollUploaded"
    schema_version = 1

    survey_id: UUID
    count: int = Field(gt=0)
    sha256: Sha256Hex = Field(description="SHA-256 of the sorted resident keys, one per line")


@registry.register
class ResponseRecorded(Event):
    """One resident's answers to the Annex 5 criteria, in the rubric's order."""

    event_type = "ResponseRecorded"
    schema_version = 1

    survey_id: UUID
    response_id: UUID
    resident: ResidentKey
    channel: Channel
    answers: tuple[Annotated[int, Field(ge=0)], ...] = Field(min_length=1)
    total: int = Field(ge=0)
    flagged: bool = False
    flag_reasons: tuple[FlagReason, ...] = ()
    import_id: UUID | None = Field(default=None, description="CSV batch of a paper poll")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.total != sum(self.answers):
            raise ValueError("total must equal the sum of the answers")
        if self.flagged != bool(self.flag_reasons):
            raise ValueError("flagged must be true exactly when there are flag reasons")
        return self


@registry.register
class ResponseFlagged(Event):
    """A recorded response was flagged for review after the fact; it still counts."""

    event_type = "ResponseFlagged"
    schema_version = 1

    survey_id: UUID
    response_id: UUID
    reasons: tuple[FlagReason, ...] = Field(min_length=1)


class SurveyResult(BaseModel):
    """The result of §14.3: number of responses, mean per criterion and mean total."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    responses: int = Field(ge=0)
    flagged: int = Field(ge=0, description="responses flagged for review (still counted)")
    means: tuple[Mean, ...] | None = Field(description="per criterion, in the rubric's order")
    mean_total: Mean | None


@registry.register
class SurveyClosed(Event):
    """The survey stopped taking answers; ``result`` is final."""

    event_type = "SurveyClosed"
    schema_version = 1

    survey_id: UUID
    candidate_id: Id
    edition_id: Id
    rubric_id: str = Field(description="the Annex 5 rubric the means follow")
    closed_at: AwareDatetime
    reason: CloseReason
    result: SurveyResult
