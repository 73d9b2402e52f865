"""Scoring events: stages and protocols."""

from __future__ import annotations

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
    """The chair and the secretary signed the sitting's protocol (§3, §4); it is sealed."""

    event_type = "ProtocolSigned"
    commission_id: Id
    sitting_id: Id
    digest: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the canonical protocol")
    signatures: tuple[Signature, ...]
    signed_at: AwareDatetime
