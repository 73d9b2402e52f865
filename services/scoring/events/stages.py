"""Scoring events: stages and protocols."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.scoring.events.values import (
    AwareDatetime,
    Id,
    Role,
    Stage,
    Text,
    Value,
    registry,
)
from shared.events import Event


@registry.register
class StageClosed(Event):
    """Nothing in the stage changes afterwards, short of a StageReopened."""

    event_type = "StageClosed"
    commission_id: Id
    stage: Stage
    closed_at: AwareDatetime


@registry.register
class StageReopened(Event):
    event_type = "StageReopened"
    commission_id: Id
    stage: Stage
    reason: Text
    reopened_at: AwareDatetime


class Signature(Value):
    """An Ed25519 signature over the protocol digest; key and signature are base64 or hex."""

    role: Role
    person_id: Id
    public_key: str
    signature: str


@registry.register
class ProtocolSigned(Event):
    """The chair and the secretary signed the sitting's protocol (§3, §4); it is sealed.

    v2: ``format`` and ``names``. A ``uzdik/protocol/v2`` document states, beside the facts
    of the sitting, what its text names — the protocol's number, the region, the commission's
    people and the candidates by name: ``names``, as the signers read it, so that the signed
    document is rebuilt from the log alone however the register changes later. A v1 event
    signed a ``uzdik/protocol/v1`` document (the facts only; its names were not signed)."""

    event_type = "ProtocolSigned"
    schema_version = 2
    commission_id: Id
    sitting_id: Id
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the canonical protocol")
    signatures: tuple[Signature, ...]
    signed_at: AwareDatetime
    format: str = Field(
        default="uzdik/protocol/v1", description="the shape of the document that was signed"
    )
    names: dict[str, Any] | None = Field(
        default=None, description="v2: the number and the names the signed document states"
    )
