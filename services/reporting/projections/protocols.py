"""The protocol of every sitting (протокол заседания): date, attendance and quorum, each
member's sheets per candidate with corrections, rankings with tie-break steps, casting votes,
decisions and signatures. Names are joined at render time from the commissions and candidates
read models, so every fold here touches only its own document."""

from __future__ import annotations

from typing import Any

from services.reporting.projections import Doc, Target, every, on


def _sitting(doc: Doc | None) -> Doc:
    return doc or {
        "sheets": {},
        "rankings": [],
        "casting_votes": [],
        "decisions": [],
        "signatures": None,
        "attendance": None,
        "records": [],
    }


def _fold(change: Any) -> Any:
    def fold(doc: Doc | None, event: Doc) -> Doc:
        current = _sitting(doc)
        updated: Doc = change(current, event["payload"], event)
        return updated

    return fold


@on("SittingOpened")
def opened(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        return {
            **doc,
            "sitting_id": p["sitting_id"],
            "commission_id": p["commission_id"],
            "stage": p["stage"],
            "purpose": p["purpose"],
            "purpose_kk": p.get("purpose_kk"),
            "place": p.get("place"),
            "place_kk": p.get("place_kk"),
            "opened_at": p["opened_at"],
            "opened_by": e["metadata"]["actor"],
            "opened_event": {"schema_version": e["schema_version"], "payload": p},
        }

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("AttendanceRecorded")
def attendance(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        keys = ("present", "absent", "members", "required", "quorate")
        return {**doc, "attendance": {k: p[k] for k in keys}}

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("ScoreRecorded", "ScoreCorrected")
def sheet(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        entry = {
            "sheet_id": p["sheet_id"],
            "member_id": p["member_id"],
            "candidate_id": p["candidate_id"],
            "kind": p["kind"],
            "scores": p["scores"],
            "derived": list(p.get("derived", [])),
            "total": p["total"],
            "recorded_at": e["metadata"]["occurred_at"],
            "supersedes": p.get("supersedes"),
            "reason": p.get("reason"),
            "superseded_by": None,
        }
        sheets = dict(doc["sheets"])
        sheets[p["sheet_id"]] = entry
        if p.get("supersedes") in sheets:
            sheets[p["supersedes"]] = {**sheets[p["supersedes"]], "superseded_by": p["sheet_id"]}
        return {**doc, "sheets": sheets}

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("RankingComputed")
def ranking(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        keys = (
            "purpose",
            "scope",
            "entries",
            "seats",
            "selected",
            "tie_break_steps",
            "status",
            "tied",
            "seats_left",
        )
        return {**doc, "rankings": [*doc["rankings"], {k: p.get(k) for k in keys}]}

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("CastingVoteRecorded")
def casting(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        keys = ("purpose", "scope", "chair_id", "tied", "seats_left", "chosen")
        return {**doc, "casting_votes": [*doc["casting_votes"], {k: p.get(k) for k in keys}]}

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("CandidateNominated", "FinalistSelected", "NoFinalistRecorded", "WinnersDecided")
def decision(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        entry = {
            "decision": e["event_type"],
            **{k: v for k, v in p.items() if k not in ("commission_id", "sitting_id")},
        }
        return {**doc, "decisions": [*doc["decisions"], entry]}

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


@on("ProtocolSigned")
def signed(event: Doc) -> list[Target]:
    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        return {
            **doc,
            "signatures": {
                "digest": p["digest"],
                "signed_at": p["signed_at"],
                "signatures": p["signatures"],
                "format": p.get("format") or "uzdik/protocol/v1",
                "names": p.get("names"),
            },
        }

    return [Target("protocols", event["payload"]["sitting_id"], _fold(change))]


NOT_RECORDS = frozenset({"SittingOpened", "ProtocolSigned"})


@every
def record(event: Doc) -> list[Target]:
    """Every scoring event that names a sitting is one of its protocol's records, in log order
    — the records of the document the chair and the secretary sign (documents.signed)."""
    if event.get("service") != "scoring" or event["event_type"] in NOT_RECORDS:
        return []
    sitting_id = event["payload"].get("sitting_id")
    if not isinstance(sitting_id, str):
        return []

    def change(doc: Doc, p: Doc, e: Doc) -> Doc:
        written = {"event_type": e["event_type"], "schema_version": e["schema_version"]}
        return {**doc, "records": [*doc.get("records", []), {**written, "payload": p}]}

    return [Target("protocols", sitting_id, _fold(change))]
