"""Entity read models: editions, commissions, surveys as their services announced them."""

from __future__ import annotations

from services.reporting.projections import Doc, Target, on


def _created(_: Doc | None, event: Doc) -> Doc:
    meta = event["metadata"]
    return {
        **event["payload"],
        "recorded_at": meta["recorded_at"],
        "recorded_by": meta["actor"],
        "stream_id": event["stream_id"],
    }


@on("EditionAnnounced")
def edition(event: Doc) -> list[Target]:
    return [Target("editions", event["payload"]["edition_id"], _created)]


@on("CommissionFormed")
def commission(event: Doc) -> list[Target]:
    return [Target("commissions", event["payload"]["commission_id"], _created)]


@on("SurveyOpened")
def survey(event: Doc) -> list[Target]:
    return [Target("surveys", event["payload"]["survey_id"], _created)]
