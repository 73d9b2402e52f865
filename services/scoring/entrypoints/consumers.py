"""The scoring service's consumer of nominations and survey events (thin: route to intake).

One consumer, ``scoring-intake``, on Kafka and on the embedded transport alike; each batch is
applied in one transaction with the record of what was applied.
"""

from __future__ import annotations

from services.scoring import federation, intake
from services.scoring.adapters.repository import Repository
from shared.consumers import Consumer
from shared.events import Envelope
from shared.follow import follow_beside_store
from shared.runtime import ServiceContext
from shared.store.eventstore import EventStore, UnitOfWork

SOURCES = ["nominations", "survey"]


def intake_consumer(store: EventStore, repo: Repository) -> Consumer:
    # lock first: registering a candidate (under the append lock) updates its intake document,
    # which the commission's formation also does under that lock (register_waiting)
    consumer = Consumer("scoring-intake", store, list(SOURCES), lock_first=True)

    @consumer.on("EditionAnnounced")
    async def edition(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.edition_announced(uow, envelope.payload)

    @consumer.on("DeadlineExtended")
    async def extended(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.deadline_extended(uow, envelope.payload)

    @consumer.on("ApplicationSubmitted")
    async def submitted(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.application_submitted(uow, envelope.payload)

    @consumer.on("ApplicationAdmitted")
    async def admitted(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.application_admitted(uow, repo, envelope.payload, intake.cause_of(envelope))

    @consumer.on("QuestionnaireScored")
    async def scored(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        await intake.questionnaire_scored(uow, p["application_id"], int(p["score"]["total"]))

    @consumer.on("QuestionnaireScoreConfirmed")
    async def confirmed(uow: UnitOfWork, envelope: Envelope) -> None:
        p, cause = envelope.payload, intake.cause_of(envelope)
        await intake.questionnaire_confirmed(uow, repo, p["application_id"], int(p["total"]), cause)

    @consumer.on("QuestionnaireScoreCorrected")
    async def corrected(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.questionnaire_corrected(uow, repo, envelope.payload, intake.cause_of(envelope))

    @consumer.on("JustifiedComplaintsRecorded")
    async def complaints(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.complaints_recorded(uow, repo, envelope.payload, intake.cause_of(envelope))

    @consumer.on("ApplicationWithdrawn")
    async def withdrawn(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.application_withdrawn(uow, envelope.payload)

    @consumer.on("SurveyOpened")
    async def survey_opened(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.survey_opened(uow, envelope.payload)

    @consumer.on("SurveyClosed")
    async def survey_closed(uow: UnitOfWork, envelope: Envelope) -> None:
        await intake.survey_closed(uow, repo, envelope.payload, intake.cause_of(envelope))

    return consumer


def federation_consumer(ctx: ServiceContext, repo: Repository) -> Consumer:
    """The republic's: each region's ``FinalistDossier`` as MirrorMaker 2 mirrored it
    (``<alias>.<prefix>.results``; the source ``reporting@<alias>`` keeps one tracking record
    per region's log)."""
    sources = [f"reporting@{alias}" for alias in ctx.settings.federated_regions]
    consumer = Consumer("scoring-federation", ctx.store, sources)

    @consumer.on(federation.DOSSIER)
    async def dossier(uow: UnitOfWork, envelope: Envelope) -> None:
        await federation.dossier_arrived(uow, envelope, repo=repo, now=ctx.now())

    return consumer


def follow_regions(ctx: ServiceContext, repo: Repository) -> None:
    """``ServiceSpec.setup``: follow every federated region's mirrored results (distributed)."""
    prefix = ctx.settings.topic_prefix
    aliases = ctx.settings.federated_regions
    if not aliases:
        return
    consumer = federation_consumer(ctx, repo)
    topics = [(f"{alias}.{prefix}.results", f"reporting@{alias}") for alias in aliases]
    follow_beside_store(ctx, consumer, topics)
