"""Ratings per district (stage-I nomination), region (regional final) and the republic
(winners), each entry with every component, as the scoring service computed them; per region
its finalist or the recorded "no finalist" (§16) and when its materials went to the Agency
(§18)."""

from __future__ import annotations

from services.reporting.projections import Doc, Target, on


@on("RankingComputed")
def ranking(event: Doc) -> list[Target]:
    p = event["payload"]
    level = {"nomination": "district", "regional": "region", "winners": "republic"}[p["purpose"]]
    key = f"{p['purpose']}:{p.get('scope') or 'republic'}"

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            "purpose": p["purpose"],
            "level": level,
            "scope": p.get("scope"),
            "commission_id": p["commission_id"],
            "sitting_id": p["sitting_id"],
            "entries": p["entries"],
            "seats": p["seats"],
            "seats_left": p.get("seats_left", 0),
            "selected": p["selected"],
            "tie_break_steps": p.get("tie_break_steps", []),
            "status": p["status"],
            "tied": p.get("tied", []),
            "computed_at": e["metadata"]["occurred_at"],
        }

    return [Target("ratings", key, fold)]


@on("CastingVoteRecorded")
def settled(event: Doc) -> list[Target]:
    p = event["payload"]
    key = f"{p['purpose']}:{p.get('scope') or 'republic'}"

    def fold(doc: Doc | None, e: Doc) -> Doc:
        base = doc or {"purpose": p["purpose"], "scope": p.get("scope"), "selected": []}
        chosen = [
            *base.get("selected", []),
            *[c for c in p["chosen"] if c not in base.get("selected", [])],
        ]
        return {
            **base,
            "selected": chosen,
            "status": "complete",
            "casting_vote": {"chair_id": p["chair_id"], "chosen": p["chosen"], "tied": p["tied"]},
        }

    return [Target("ratings", key, fold)]


@on("WinnersDecided")
def winners(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            "purpose": "winners",
            "level": "republic",
            "winners": p["winners"],
            "by_casting_vote": p["by_casting_vote"],
            "sitting_id": p["sitting_id"],
            "places_not_awarded": p.get("places_not_awarded", []),
            "not_awarded_reason": p.get("not_awarded_reason"),
        }

    return [Target("results", "winners", fold)]


@on("FinalistSelected")
def finalist(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            "region": p["region"],
            "candidate_id": p["candidate_id"],
            "regional_total": p["regional_total"],
            "components": p["components"],
            "rank": p["rank"],
            "reason": p.get("reason"),
            "edition_id": p["edition_id"],
        }

    return [Target("finalists", p["region"], fold)]


@on("NoFinalistRecorded")
def no_finalist(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            **(doc or {}),
            "region": p["region"],
            "candidate_id": None,
            "no_finalist": True,
            "reason": p["reason"],
            "edition_id": p["edition_id"],
        }

    return [Target("finalists", p["region"], fold)]


@on("MaterialsSentToAgency")
def materials(event: Doc) -> list[Target]:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {**(doc or {"region": p["region"]}), "materials_sent_at": p["sent_at"]}

    return [Target("finalists", p["region"], fold)]
