"""The scoring service's consumer of nominations and survey events (thin: route to intake).

One consumer, ``scoring-intake``, on Kafka and on the embedded transport alike; each batch is
applied in one transaction with the record of what was applied.
"""

from __future__ import annotations

from services.scoring import intake
from services.scoring.adapters.repository import Repository
from shared.consumers import Consumer
from shared.events import Envelope
from shared.store.eventstore import EventStore, UnitOfWork

SOURCES = ["nominations", "survey"]


def intake_consumer(store: EventStore, repo: Repository) -> Consumer:
    consumer = Consumer("scoring-intake", store, list(SOURCES))

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
