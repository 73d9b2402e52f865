"""A region's view of the republic: the republic's results as Kafka MirrorMaker 2 mirrored them
into this region's cluster (``<alias>.<prefix>.results``, ``UZDIK_FEDERATION_REPUBLIC`` naming
the alias): the winners, the republic's signed protocols and its answer about this region's
finalist, kept in the ``republic`` read model (``/v1/read-models/republic``)."""

from __future__ import annotations

from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import follow_beside_store
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork

MODEL = "republic"


def republic_consumer(ctx: ServiceContext, alias: str) -> Consumer:
    consumer = Consumer("reporting-republic", ctx.store, [f"reporting@{alias}"])

    @consumer.on("WinnersAnnounced")
    async def winners(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = {"kind": "winners", **p, "announced_at": envelope.metadata.occurred_at.isoformat()}
        await uow.docs.put(MODEL, f"winners|{p['commission_id']}", doc)

    @consumer.on("FinalistReceipt")
    async def receipt(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        doc = {"kind": "receipt", **p, "answered_at": envelope.metadata.occurred_at.isoformat()}
        await uow.docs.put(MODEL, f"receipt|{p['edition_id']}|{p['region']}", doc)

    @consumer.on("ProtocolPublished")
    async def protocol(uow: UnitOfWork, envelope: Envelope) -> None:
        """The republic's signed protocols (the winners' sitting among them): digest and
        signatures, to check the republic's PDF against (``uzdik verify-protocol``)."""
        p = envelope.payload
        doc = {"kind": "protocol", **p, "published_at": envelope.metadata.occurred_at.isoformat()}
        await uow.docs.put(MODEL, f"protocol|{p['sitting_id']}", doc)

    return consumer


def follow_republic(ctx: ServiceContext) -> None:
    """``ServiceSpec.setup``: a region follows the republic's mirrored results (distributed)."""
    alias = ctx.settings.federation_republic
    if not alias:
        return
    topic = f"{alias}.{ctx.settings.topic_prefix}.results"
    follow_beside_store(ctx, republic_consumer(ctx, alias), [(topic, f"reporting@{alias}")])
