"""The republic's side of the federation: what it trusts of each region, and each region's
finalist as it arrives over Kafka MirrorMaker 2 (``<alias>.uzdik.results``).

Documents (this service's own):

* ``scoring.trust`` ``<edition>|<region>``: the region's ``RegionTrusted`` payload;
* ``scoring.federation`` ``<edition>|<region>``: what became of the region's finalist —
  ``status`` admitted, held or refused, the candidate, the reason or problems, when it arrived,
  and for a held one its dossier, examined again when the region's keys are registered.

Idempotent: a dossier for a region whose finalist was admitted or refused appends nothing (a
redelivery, MirrorMaker 2 replaying after a crash); a held one is examined again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.scoring.adapters import lookups
from services.scoring.adapters.repository import Repository
from services.scoring.domain.federation import examine
from services.scoring.events import (
    FinalistAdmitted,
    FinalistHeld,
    FinalistRefused,
    RegionTrusted,
    TrustedKey,
)
from shared.events import Actor, Envelope, Event
from shared.handlers import Cause, append
from shared.logging import get_logger
from shared.store.canonical import event_hash
from shared.store.eventstore import UnitOfWork

TRUST = "scoring.trust"
FEDERATION = "scoring.federation"
ACTOR = Actor(id="scoring-federation", role="system")
DOSSIER = "FinalistDossier"
log = get_logger("uzdik.scoring.federation")

Doc = dict[str, Any]


SHOWN = ("status", "candidate_id", "name", "reason", "problems", "arrived_at", "protocol_digest")


def stream_of(edition_id: str) -> str:
    return f"federation-{edition_id}"


def key(edition_id: str, region: str) -> str:
    return f"{edition_id}|{region}"


@dataclass(frozen=True)
class TrustRegion:
    """The republic's organiser registers a region's deployment for an edition."""

    edition_id: str
    region: str
    issuer: str
    commission_id: str
    keys: tuple[TrustedKey, ...]


async def trust_region(
    uow: UnitOfWork, command: TrustRegion, cause: Cause, *, repo: Repository
) -> list[Envelope]:
    """``RegionTrusted``; a finalist of the region held until now is examined again (at the
    time it arrived)."""
    trusted = RegionTrusted(
        edition_id=command.edition_id,
        region=command.region,
        issuer=command.issuer,
        commission_id=command.commission_id,
        keys=command.keys,
    )
    out = await append(uow, stream_of(command.edition_id), None, [trusted], cause)
    await uow.docs.put(TRUST, key(command.edition_id, command.region), trusted.to_payload())
    held = await uow.docs.get(FEDERATION, key(command.edition_id, command.region))
    if held and held.get("status") == "held" and held.get("dossier"):
        arrived = datetime.fromisoformat(held["arrived_at"])
        out += await _examine(uow, held["dossier"], cause, arrived, repo=repo)
    return out


async def dossier_arrived(
    uow: UnitOfWork, envelope: Envelope, *, repo: Repository, now: datetime
) -> list[Envelope]:
    """A region's ``FinalistDossier`` as MirrorMaker 2 delivered it."""
    dossier = envelope.payload
    edition, region = str(dossier.get("edition_id")), str(dossier.get("region"))
    known = await uow.docs.get(FEDERATION, key(edition, region))
    if known and (
        known.get("status") in ("admitted", "refused")
        or _seal_hash(known.get("dossier")) == _seal_hash(dossier)
    ):
        log.info("federation.already", edition=edition, region=region, status=known["status"])
        return []
    cause = Cause.of_event(envelope, ACTOR, at=now)
    return await _examine(uow, dossier, cause, now, repo=repo)


async def _examine(
    uow: UnitOfWork, dossier: Doc, cause: Cause, arrived_at: datetime, *, repo: Repository
) -> list[Envelope]:
    edition, region = str(dossier.get("edition_id")), str(dossier.get("region"))
    stored = await uow.docs.get(TRUST, key(edition, region))
    trust = RegionTrusted.model_validate(stored) if stored else None
    deadline = (await repo.deadlines(uow, edition)).get("materials")
    event = examine(
        dossier, trust, deadline=deadline, arrived_at=arrived_at, seal_problem=seal_problem(dossier)
    )
    out = await append(uow, stream_of(edition), None, [event], cause)
    await uow.docs.put(FEDERATION, key(edition, region), _status(event, dossier, arrived_at))
    if isinstance(event, FinalistAdmitted):  # the Republican commission's routes find them
        where = {"edition_id": edition, "region": region, "district": event.district}
        home = {"commission_id": event.source_commission_id, **where, "from_region": True}
        await lookups.put_candidate(uow.docs, event.candidate_id, home)
    log.info("federation.examined", edition=edition, region=region, outcome=event.event_type)
    return out


def _seal_hash(dossier: Doc | None) -> object:
    """The dossier's identity: the region's chain link that sealed its protocol."""
    return ((dossier or {}).get("seal") or {}).get("hash", object())


def seal_problem(dossier: Doc) -> str | None:
    """The sealing ``ProtocolSigned`` as the region stored it: its chain link recomputed."""
    seal = dossier.get("seal")
    if not isinstance(seal, dict):
        return "the dossier carries no sealing event"
    try:
        fields = {k: seal[k] for k in ("global_position", "stream_id", "stream_version")}
        fields |= {"event_type": seal["event_type"], "schema_version": seal["schema_version"]}
        fields |= {"payload": seal["payload"], "metadata": seal["metadata"]}
        recomputed = event_hash(str(seal["prev_hash"]), fields)
    except (KeyError, TypeError, ValueError) as error:
        return f"the sealing event is incomplete: {error!s}"
    if seal.get("event_type") != "ProtocolSigned":
        return f"the sealing event is a {seal.get('event_type')}, not a ProtocolSigned"
    if recomputed != seal.get("hash"):
        return "the sealing event's content does not give its hash in the region's chain"
    return None


def _status(event: Event, dossier: Doc, arrived_at: datetime) -> Doc:
    base: Doc = {"arrived_at": arrived_at.isoformat(), "issuer": dossier.get("issuer")}
    if isinstance(event, FinalistAdmitted):
        return base | {
            "status": "admitted",
            "candidate_id": event.candidate_id,
            "name": event.name,
            "protocol_digest": event.protocol_digest,
        }
    if isinstance(event, FinalistRefused):
        return base | {
            "status": "refused",
            "candidate_id": event.candidate_id,
            "reason": event.reason,
        }
    assert isinstance(event, FinalistHeld)
    problems = [p.model_dump() for p in event.problems]
    return base | {
        "status": "held",
        "candidate_id": event.candidate_id,
        "problems": problems,
        "dossier": dossier,
    }


async def overview(uow: UnitOfWork, edition_id: str) -> list[Doc]:
    """Per region: trusted or not, and what became of its finalist (``missing``: none yet)."""
    regions: dict[str, Doc] = {}
    prefix = f"{edition_id}|"
    for k, doc in await uow.docs.list(TRUST, prefix):
        region = k.removeprefix(prefix)
        regions[region] = {
            "region": region,
            "trusted": True,
            "issuer": doc.get("issuer"),
            "status": "missing",
        }
    for k, doc in await uow.docs.list(FEDERATION, prefix):
        region = k.removeprefix(prefix)
        entry = regions.setdefault(region, {"region": region, "trusted": False})
        entry |= {x: doc.get(x) for x in SHOWN}
    return [regions[r] for r in sorted(regions)]
