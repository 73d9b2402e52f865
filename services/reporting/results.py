"""Publishing results for integrators: facts folded into read models become contract events
in reporting's own store (the outbox), in the same transaction; the relay puts them on
``uzdik.results``."""

from __future__ import annotations

from services.reporting.events import (
    DossierCandidate,
    DossierProtocol,
    FinalistDossier,
    FinalistReceipt,
    FinalistsPublished,
    Nominee,
    NomineesPublished,
    ProtocolPublished,
    SignatureOut,
    Winner,
    WinnersAnnounced,
)
from shared.events import SYSTEM, Envelope, Event
from shared.store.eventstore import UnitOfWork


async def _publish(uow: UnitOfWork, stream: str, event: Event, cause: Envelope) -> None:
    await uow.append(
        stream,
        None,
        [event],
        SYSTEM,
        cause.metadata.correlation_id,
        str(cause.event_id),
        cause.metadata.occurred_at,
    )


async def _name(uow: UnitOfWork, candidate_id: str) -> str:
    doc = await uow.docs.get("candidates", candidate_id) or {}
    return str(doc.get("name") or candidate_id)


async def on_stage_closed(uow: UnitOfWork, envelope: Envelope) -> None:
    p = envelope.payload
    commission = await uow.docs.get("commissions", p["commission_id"])
    if p["stage"] != "stage1_selection" or not commission or not commission.get("region"):
        return
    region = commission["region"]
    nominees = [
        Nominee(
            candidate_id=key,
            name=str(d.get("name") or key),
            district=d.get("district", ""),
            rural_district=d.get("rural_district"),
            points=d.get("stage1_points"),
            rank=d.get("stage1_rank"),
            basis=d.get("nomination_basis"),
        )
        for key, d in await uow.docs.list("candidates")
        if d.get("nominated") and d.get("region") == region
    ]
    event = NomineesPublished(
        edition_id=commission["edition_id"],
        region=region,
        commission_id=p["commission_id"],
        nominees=tuple(nominees),
    )
    await _publish(uow, f"results-nominees-{p['commission_id']}", event, envelope)


async def on_finalist(uow: UnitOfWork, envelope: Envelope) -> None:
    p = envelope.payload
    event = FinalistsPublished(
        edition_id=p["edition_id"],
        region=p["region"],
        candidate_id=p["candidate_id"],
        name=await _name(uow, p["candidate_id"]),
        regional_total=str(p["regional_total"]),
        components=tuple(  # a figure that does not exist (no survey responses) is left out
            {k: str(v) for k, v in c.items() if v is not None} for c in p["components"]
        ),
        reason=p.get("reason"),
    )
    await _publish(uow, f"results-finalists-{p['region']}", event, envelope)


async def on_winners(uow: UnitOfWork, envelope: Envelope) -> None:
    p = envelope.payload
    winners = []
    for w in p["winners"]:
        doc = await uow.docs.get("candidates", w["candidate_id"]) or {}
        winners.append(
            Winner(
                place=w["place"],
                candidate_id=w["candidate_id"],
                name=str(doc.get("name") or w["candidate_id"]),
                region=doc.get("region"),
                mean=str(w["mean"]),
                sum=w["sum"],
            )
        )
    event = WinnersAnnounced(
        commission_id=p["commission_id"],
        winners=tuple(winners),
        by_casting_vote=p["by_casting_vote"],
    )
    await _publish(uow, f"results-winners-{p['commission_id']}", event, envelope)


async def on_protocol_signed(uow: UnitOfWork, envelope: Envelope) -> None:
    p = envelope.payload
    sid = p["sitting_id"]
    event = ProtocolPublished(
        sitting_id=sid,
        commission_id=p["commission_id"],
        digest=p["digest"],
        signatures=tuple(
            SignatureOut(**{k: s[k] for k in ("role", "person_id", "public_key", "signature")})
            for s in p["signatures"]
        ),
        html=f"/v1/protocols/{sid}.html",
        pdf=f"/v1/protocols/{sid}.pdf",
    )
    await _publish(uow, f"results-protocol-{sid}", event, envelope)


COMMISSION_KEYS = ("commission_id", "edition_id", "level", "region")
SEAL_KEYS = (
    "global_position",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "payload",
    "metadata",
    "prev_hash",
    "hash",
)


async def dossiers(uow: UnitOfWork, envelope: Envelope, issuer: str) -> None:
    """A regional protocol that selects a finalist, once signed: the finalist's dossier for the
    republic (one per finalist the protocol selects)."""
    p = envelope.payload
    protocol = await uow.docs.get("protocols", p["sitting_id"]) or {}
    commission = await uow.docs.get("commissions", p["commission_id"]) or {}
    if commission.get("level") != "regional" or "opened_event" not in protocol:
        return
    records = protocol.get("records", [])
    chosen = [r["payload"] for r in records if r["event_type"] == "FinalistSelected"]
    seal = {k: v for k, v in envelope.model_dump(mode="json").items() if k in SEAL_KEYS}
    signed = DossierProtocol(
        commission={k: commission.get(k) for k in COMMISSION_KEYS},
        opened_event=protocol["opened_event"],
        records=records,
        digest=p["digest"],
        signatures=[
            SignatureOut(**{k: s[k] for k in ("role", "person_id", "public_key", "signature")})
            for s in p["signatures"]
        ],
    )
    for finalist in chosen:
        cid = finalist["candidate_id"]
        doc = await uow.docs.get("candidates", cid) or {}
        event = FinalistDossier(
            edition_id=finalist["edition_id"],
            region=finalist["region"],
            issuer=issuer,
            candidate=DossierCandidate(
                candidate_id=cid,
                name=str(doc.get("name") or cid),
                district=doc.get("district"),
                rural_district=doc.get("rural_district"),
                gender=doc.get("gender"),
            ),
            protocol=signed,
            seal=seal,
            published_at=str(p["signed_at"]),
        )
        await _publish(uow, f"results-dossier-{finalist['region']}-{cid}", event, envelope)


async def on_federation(uow: UnitOfWork, envelope: Envelope) -> None:
    """The republic's outcome for a region's finalist, for the region to see."""
    p = envelope.payload
    status = {"FinalistAdmitted": "admitted", "FinalistHeld": "held"}.get(
        envelope.event_type, "refused"
    )
    event = FinalistReceipt(
        edition_id=p["edition_id"],
        region=p["region"],
        candidate_id=p["candidate_id"],
        status=status,
        reason=p.get("reason"),
        problems=tuple(p.get("problems") or ()),
    )
    stream = f"results-receipt-{p['edition_id']}-{p['region']}"
    await _publish(uow, stream, event, envelope)


async def publish(uow: UnitOfWork, envelope: Envelope, issuer: str) -> None:
    """What a scoring event publishes on ``uzdik.results`` (nothing for most)."""
    found = PUBLISHERS.get(envelope.event_type)
    if found is not None:
        await found(uow, envelope)
    if envelope.event_type == "ProtocolSigned":
        await dossiers(uow, envelope, issuer)


PUBLISHERS = {
    "StageClosed": on_stage_closed,
    "FinalistSelected": on_finalist,
    "WinnersDecided": on_winners,
    "ProtocolSigned": on_protocol_signed,
    "FinalistAdmitted": on_federation,
    "FinalistHeld": on_federation,
    "FinalistRefused": on_federation,
}
