"""The republic's side of the federation: a region's finalist that the republic's scoring
admitted (``FinalistAdmitted``) becomes a candidate and a finalist of the read models as a
finalist of this deployment's own regions would (names in the final protocol, the ratings), and
every region's outcome is kept for the dashboard (``federation``: admitted, held, refused)."""

from __future__ import annotations

from typing import Any

from services.reporting.projections import Doc, Target, on
from services.reporting.projections.dossier import candidate_fact
from services.reporting.projections.ratings import finalist


def _as_selected(event: Doc) -> Doc:
    """The admitted finalist as the ``FinalistSelected`` its regional commission signed."""
    p = event["payload"]
    return {
        **event,
        "event_type": "FinalistSelected",
        "schema_version": p["finalist_schema_version"],
        "payload": p["finalist"],
    }


@on("FinalistAdmitted")
def admitted(event: Doc) -> list[Target]:
    p = event["payload"]
    keys = ("candidate_id", "name", "region", "district", "rural_district", "gender")
    who: dict[str, Any] = {k: p.get(k) for k in keys}

    def registered(doc: Doc | None, e: Doc) -> Doc:
        return {**(doc or {}), **who, "stage": "stage2", "nominated": True, "from_region": True}

    selected = _as_selected(event)
    return [
        Target("candidates", p["candidate_id"], registered),
        *candidate_fact(selected),
        *finalist(selected),
        _outcome(event, "admitted"),
    ]


@on("FinalistHeld")
def held(event: Doc) -> list[Target]:
    return [_outcome(event, "held")]


@on("FinalistRefused")
def refused(event: Doc) -> list[Target]:
    return [_outcome(event, "refused")]


def _outcome(event: Doc, status: str) -> Target:
    p = event["payload"]

    def fold(doc: Doc | None, e: Doc) -> Doc:
        return {
            "edition_id": p["edition_id"],
            "region": p["region"],
            "candidate_id": p["candidate_id"],
            "status": status,
            "reason": p.get("reason"),
            "problems": p.get("problems"),
            "recorded_at": e["metadata"]["recorded_at"],
        }

    return Target("federation", f"{p['edition_id']}|{p['region']}", fold)
