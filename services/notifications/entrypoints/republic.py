"""A region's deployment told of the republic's decision: the republic's ``WinnersAnnounced``
as Kafka MirrorMaker 2 mirrored it into this region's cluster (``<alias>.<prefix>.results``,
``UZDIK_FEDERATION_REPUBLIC`` naming the alias).

The republic decides the winners (§21) but knows none of the people behind a region's
applications: the nominator and the candidate are this region's (their applications, their
contacts). So the region tells them: each winner this deployment has the application of, the
nominator and the candidate, once (the notification's id is derived from the republic's event
and the recipient: a redelivery queues nothing twice). A winner of another region is that
region's to tell.
"""

from __future__ import annotations

from services.notifications.adapters.known import APPLICATIONS
from services.notifications.entrypoints.consumers import notify_both_of, rules_of
from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import follow_beside_store
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork


def republic_consumer(ctx: ServiceContext, alias: str) -> Consumer:
    consumer = Consumer("notifications-republic", ctx.store, [f"reporting@{alias}"])
    rules = rules_of(ctx)

    @consumer.on("WinnersAnnounced")
    async def winners(uow: UnitOfWork, envelope: Envelope) -> None:
        for winner in envelope.payload["winners"]:
            cid = str(winner["candidate_id"])
            if await uow.docs.get(APPLICATIONS, cid) is None:
                continue  # another region's winner: its own deployment tells them
            await notify_both_of(uow, rules, envelope, cid, "winner", {"place": winner["place"]})

    return consumer


def follow_republic(ctx: ServiceContext) -> None:
    """A region follows the republic's mirrored results (distributed, federated)."""
    alias = ctx.settings.federation_republic
    if not alias:
        return
    topic = f"{alias}.{ctx.settings.topic_prefix}.results"
    follow_beside_store(ctx, republic_consumer(ctx, alias), [(topic, f"reporting@{alias}")])
