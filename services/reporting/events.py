"""The integrators' contract: what reporting publishes on ``uzdik.results``.

Versioned like every event here: a new shape is a new ``schema_version`` with an upcaster; the
JSON Schema of every version is committed under ``docs/results/`` and the AsyncAPI document
under ``docs/asyncapi.json`` (``uzdik docs`` regenerates both). A message is the envelope
(event_type, schema_version, stream_id, metadata, hash …) with the event in ``payload``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Event, EventRegistry

registry = EventRegistry()


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Nominee(_Value):
    candidate_id: str
    name: str = Field(description="the rural akim's full name")
    district: str = Field(description="KATO of the district")
    rural_district: str | None = Field(None, description="KATO of the rural district")
    points: str | None = Field(None, description="stage-I points, decimal as a string")
    rank: int | None = None
    basis: str | None = Field(None, description="points, tie_break or casting_vote")


@registry.register
class NomineesPublished(Event):
    """§12–§13: the stage-I nominees of a region, published when its stage I closes."""

    event_type = "NomineesPublished"
    edition_id: str
    region: str = Field(description="KATO of the region")
    commission_id: str
    nominees: tuple[Nominee, ...]


@registry.register
class FinalistsPublished(Event):
    """§16–§17: a region's finalist (exactly one per region), with the regional total."""

    event_type = "FinalistsPublished"
    edition_id: str
    region: str
    candidate_id: str
    name: str
    regional_total: str = Field(description="decimal as a string")
    components: tuple[dict[str, str], ...] = Field(description="name, value, weight, weighted")
    reason: str | None = Field(None, description="why the pick departs from the ranking")


class Winner(_Value):
    place: int
    candidate_id: str
    name: str
    region: str | None
    mean: str = Field(description="mean of the members' Annex 7 sheet totals")
    sum: int


@registry.register
class WinnersAnnounced(Event):
    """§21: the three winners of the edition."""

    event_type = "WinnersAnnounced"
    commission_id: str
    winners: tuple[Winner, ...]
    by_casting_vote: bool


class SignatureOut(_Value):
    role: str
    person_id: str
    public_key: str = Field(description="Ed25519 public key")
    signature: str = Field(description="signature of the digest")


@registry.register
class ProtocolPublished(Event):
    """A sitting's protocol, signed by the chair and the secretary; verify the signatures
    against ``digest`` (sha256 of the canonical protocol) with the public keys."""

    event_type = "ProtocolPublished"
    sitting_id: str
    commission_id: str
    digest: str
    signatures: tuple[SignatureOut, ...]
    html: str = Field(description="path of the protocol on the reporting API, Russian")
    pdf: str = Field(description="path of the protocol's PDF")


class DossierCandidate(_Value):
    candidate_id: str
    name: str
    district: str | None = None
    rural_district: str | None = None
    gender: str | None = None


class DossierProtocol(BaseModel):
    """The signed regional protocol that selected the finalist, as its parts: rebuild the
    canonical document (format ``uzdik/protocol/v1``: the commission, the SittingOpened
    payload, every record as written; ``uzdik/protocol/v2``: and the ``names`` the dossier's
    ``seal`` keeps — the number and the names the protocol states) and its SHA-256 is
    ``digest``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    commission: dict[str, str | None] = Field(
        description="commission_id, edition_id, level, region"
    )
    opened_event: dict[str, Any] = Field(description="schema_version and payload of SittingOpened")
    records: list[dict[str, Any]] = Field(description="event_type, schema_version, payload")
    digest: str
    signatures: list[SignatureOut]


@registry.register
class FinalistDossier(Event):
    """§16–§18: a region's finalist with everything stage II needs, for the republic's
    deployment (Kafka MirrorMaker 2 carries ``uzdik.results`` to it): the candidate, the signed
    regional protocol that selected them (its ``FinalistSelected`` holds the regional total,
    its components and criterion 12's input), and ``seal``, the ``ProtocolSigned`` event as
    the region's scoring log stored it (its hash chain link: global_position, stream_id,
    stream_version, event_type, schema_version, payload, metadata, prev_hash, hash).
    ``issuer`` names the region's deployment (its tokens' issuer)."""

    event_type = "FinalistDossier"
    edition_id: str
    region: str = Field(description="KATO of the region")
    issuer: str
    candidate: DossierCandidate
    protocol: DossierProtocol
    seal: dict[str, Any]
    published_at: str = Field(description="when the protocol was signed (RFC 3339)")


@registry.register
class FinalistReceipt(Event):
    """The republic's answer to a region's finalist (its deployment publishes it; Kafka
    MirrorMaker 2 carries it back to the region): ``admitted`` to stage II, ``held`` (the
    dossier did not verify: ``problems``) or ``refused`` (it arrived after stage II opened:
    ``reason``)."""

    event_type = "FinalistReceipt"
    edition_id: str
    region: str
    candidate_id: str
    status: str = Field(description="admitted, held or refused")
    reason: str | None = None
    problems: tuple[dict[str, str], ...] = ()
