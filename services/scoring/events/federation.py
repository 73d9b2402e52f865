"""Scoring events of the republic's side of the federation: what it trusts of each region and
what it made of each region's finalist (admitted to stage II, held, or refused as late).

A region's deployment publishes its finalist's dossier on its own ``uzdik.results``; Kafka
MirrorMaker 2 carries it into the republic's cluster as ``<region alias>.uzdik.results``. The
republic's scoring examines it (``services.scoring.federation``) and records one of these
events on the stream ``federation-<edition_id>``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.scoring.events.values import AwareDatetime, Id, Kato, Role, Text, Value, registry
from shared.events import Event


class TrustedKey(Value):
    """A signer of the region's commission: the public key registered when it was formed."""

    role: Role
    person_id: Id
    public_key: str = Field(
        min_length=43, max_length=64, description="Ed25519 public key: base64 or 64 hex digits"
    )


@registry.register
class RegionTrusted(Event):
    """Edition data: the republic's organiser registers a region's deployment — the issuer its
    events name and the protocol signing keys of its commission (those registered at the
    commission's formation). A later one for the same region replaces the earlier."""

    event_type = "RegionTrusted"
    edition_id: Id
    region: Kato
    issuer: Text
    commission_id: Id
    keys: tuple[TrustedKey, ...] = Field(min_length=1)


class Problem(Value):
    code: str
    detail: str


@registry.register
class FinalistAdmitted(Event):
    """A region's finalist admitted to stage II: its dossier verified (the signed regional
    protocol's digest recomputed, the chair's and the secretary's signatures checked against
    the keys the republic trusts, the chain link that sealed it recomputed). ``finalist`` is
    the region's ``FinalistSelected`` payload as signed; the republican commission folds it as
    it folds a finalist of its own deployment."""

    event_type = "FinalistAdmitted"
    edition_id: Id
    region: Kato
    issuer: Text
    candidate_id: Id
    name: Text
    district: str | None = None
    rural_district: str | None = None
    gender: str | None = None
    finalist: dict[str, Any] = Field(description="FinalistSelected payload (schema_version below)")
    finalist_schema_version: int = Field(ge=1)
    source_commission_id: Id
    source_sitting_id: Id
    protocol_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    chain_position: int = Field(ge=1, description="the region's scoring log: ProtocolSigned")
    chain_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    published_at: AwareDatetime


@registry.register
class FinalistHeld(Event):
    """A region's finalist not admitted because its dossier did not verify; ``problems`` names
    each failure. Held, not refused: a dossier that verifies later (the region's keys
    registered, a corrected dossier) is admitted then."""

    event_type = "FinalistHeld"
    edition_id: Id
    region: Kato
    candidate_id: Id
    problems: tuple[Problem, ...] = Field(min_length=1)


@registry.register
class FinalistRefused(Event):
    """A region's finalist that arrived after stage II opened (§18: the materials' deadline):
    refused, with the reason both sides see."""

    event_type = "FinalistRefused"
    edition_id: Id
    region: Kato
    candidate_id: Id
    reason: Text
    deadline: AwareDatetime
    arrived_at: AwareDatetime
