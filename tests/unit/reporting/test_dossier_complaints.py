"""The applications read model shows the secretary's justified complaints (§12 tie-break 4)."""

from __future__ import annotations

from typing import Any

from services.reporting.projections import Doc, targets
from services.reporting.projections import dossier as _dossier  # noqa: F401 - registers folds

APPLICATION = "0b6b1e8e-58d5-4a8b-9d55-7f3b0b1a0001"


def recorded(position: int, count: int, source: str) -> dict[str, Any]:
    return {
        "service": "nominations",
        "global_position": position,
        "event_type": "JustifiedComplaintsRecorded",
        "schema_version": 1,
        "metadata": {"occurred_at": "2020-06-25T10:00:00+06:00", "actor": {"id": "s"}},
        "payload": {
            "application_id": APPLICATION,
            "edition_id": "0b6b1e8e-58d5-4a8b-9d55-7f3b0b1a0002",
            "count": count,
            "source": source,
        },
    }


def test_the_latest_record_of_justified_complaints_is_shown_on_the_application() -> None:
    doc: Doc | None = {"application_id": APPLICATION, "history": []}
    for event in (recorded(7, 2, "register"), recorded(9, 0, "prosecutor")):
        [target] = targets(event)
        assert (target.model, target.key) == ("applications", APPLICATION)
        doc = target.fold(doc, event)
    assert doc is not None
    assert doc["justified_complaints"] == {"count": 0, "source": "prosecutor"}
    assert [h[2] for h in doc["history"]] == ["JustifiedComplaintsRecorded"] * 2
