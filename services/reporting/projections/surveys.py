"""Survey read models: live counts per survey (no resident identity, ever) and results."""

from __future__ import annotations

from services.reporting.projections import Doc, Target, on


@on("ResponseRecorded")
def response(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        base = doc or {"survey_id": p["survey_id"], "responses": 0, "flagged": 0, "by_channel": {}}
        channels = dict(base["by_channel"])
        channels[p["channel"]] = channels.get(p["channel"], 0) + 1
        return {
            **base,
            "responses": base["responses"] + 1,
            "flagged": base["flagged"] + (1 if p.get("flagged") else 0),
            "by_channel": channels,
        }

    return [Target("survey_counts", p["survey_id"], fold)]


@on("SurveyClosed")
def closed(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            "survey_id": p["survey_id"],
            "closed_at": p["closed_at"],
            "reason": p["reason"],
            "result": p["result"],
        }

    return [Target("survey_results", p["survey_id"], fold)]
