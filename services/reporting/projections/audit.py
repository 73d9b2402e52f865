"""The audit trail: who did what, when, through which command (correlation id)."""

from __future__ import annotations

from services.reporting.projections import Doc, Target, every


def _entry(_: Doc | None, event: Doc) -> Doc:
    meta = event["metadata"]
    return {
        "service": event["service"],
        "position": event["global_position"],
        "event_id": meta["event_id"],
        "event_type": event["event_type"],
        "stream_id": event["stream_id"],
        "stream_version": event["stream_version"],
        "occurred_at": meta["occurred_at"],
        "recorded_at": meta["recorded_at"],
        "actor": meta["actor"],
        "correlation_id": meta["correlation_id"],
        "causation_id": meta.get("causation_id"),
        "hash": event["hash"],
    }


@every
def audit_trail(event: Doc) -> list[Target]:
    key = f"{event['service']}:{event['global_position']:012d}"
    return [Target("audit", key, _entry)]
