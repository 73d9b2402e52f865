"""The live projector: every event of every topic, folded into reporting's read models."""

from __future__ import annotations

from services.reporting.projections import load_all, targets
from services.reporting.results import PUBLISHERS
from shared.consumers import Consumer
from shared.events import Envelope
from shared.store.eventstore import EventStore, UnitOfWork

SOURCES = ["nominations", "scoring", "survey"]


async def project(uow: UnitOfWork, envelope: Envelope) -> None:
    """Fold into the read models, then publish what integrators subscribe to (same tx)."""
    event = envelope.model_dump(mode="json")
    for t in targets(event):
        new = t.fold(await uow.docs.get(t.model, t.key), event)
        if new is None:
            await uow.docs.delete(t.model, t.key)
        else:
            await uow.docs.put(t.model, t.key, new)
    publish = PUBLISHERS.get(envelope.event_type)
    if publish is not None and envelope.service == "scoring":
        await publish(uow, envelope)


def projector(store: EventStore) -> Consumer:
    load_all()
    consumer = Consumer("reporting", store, SOURCES, cache_docs=True)
    consumer.on("*")(project)
    return consumer
