"""What the survey service consumes: the scoring service's nominees (``uzdik.scoring.events``).

``CandidateRegistered`` says where the candidate is the akim (rural district, region) and for
which edition; ``CandidateNominated`` says the candidate is a nominee (§12), which opens the
survey of that rural district (§14.3) from the nomination's business time for the edition's
``open_days``. The two may arrive in either order; the survey opens once both are known, with
an id derived from the candidate's (:func:`~.handlers.survey_id_for`), so a redelivery cannot
open a second one.
"""

from __future__ import annotations

from services.survey import handlers
from services.survey.domain.survey import NoteCandidate
from services.survey.service import service_of
from shared.consumers import Consumer
from shared.events import SYSTEM, Envelope
from shared.handlers import Cause
from shared.runtime import ServiceContext
from shared.store.eventstore import UnitOfWork


def nominees(ctx: ServiceContext) -> Consumer:
    consumer = Consumer("survey.nominees", ctx.store, sources=["scoring"])
    rules = service_of(ctx).rules

    @consumer.on("CandidateRegistered")
    async def registered(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        facts = {
            "edition_id": str(p["edition_id"]),
            "rural_district": str(p["rural_district"]),
            "region": str(p["region"]),
            "name": str(p.get("name") or ""),  # the akim the survey rates, named on its page
        }
        command = NoteCandidate(candidate_id=str(p["candidate_id"]), facts=facts)
        cause = Cause.of_event(envelope, SYSTEM, at=ctx.now())
        await handlers.note_candidate(uow, command, cause, rules=rules)

    @consumer.on("CandidateNominated")
    async def nominated(uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        facts = {"nominated_at": envelope.metadata.occurred_at.isoformat()}
        command = NoteCandidate(candidate_id=str(p["candidate_id"]), facts=facts)
        cause = Cause.of_event(envelope, SYSTEM, at=ctx.now())
        await handlers.note_candidate(uow, command, cause, rules=rules)

    return consumer
