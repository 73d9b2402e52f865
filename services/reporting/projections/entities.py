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
    def formed(doc: Doc | None, e: Doc) -> Doc:
        return {**_created(doc, e), "sittings": (doc or {}).get("sittings", [])}

    return [Target("commissions", event["payload"]["commission_id"], formed)]


@on("SittingOpened")
def sitting_of_commission(event: Doc) -> list[Target]:
    """The commission's sittings in the order they opened (a protocol's number)."""

    def opened(doc: Doc | None, e: Doc) -> Doc:
        current = doc or {}
        sittings = list(current.get("sittings", []))
        p = e["payload"]
        if all(s["sitting_id"] != p["sitting_id"] for s in sittings):
            sittings.append({"sitting_id": p["sitting_id"], "opened_at": p["opened_at"]})
        return {**current, "sittings": sittings}

    return [Target("commissions", event["payload"]["commission_id"], opened)]


@on("SurveyOpened")
def survey(event: Doc) -> list[Target]:
    return [Target("surveys", event["payload"]["survey_id"], _created)]
