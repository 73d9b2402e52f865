"""Scoring events: versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.scoring.events.values import (
    registry,
)
from shared.events import Event


def _unchanged(payload: dict[str, Any]) -> dict[str, Any]:
    """A v1 payload is a valid v2 one: the new fields have their defaults."""
    return payload


for _type in (
    "CommissionFormed",
    "MemberReplaced",
    "RankingComputed",
    "FinalistSelected",
    "SittingOpened",
    "ProtocolSigned",
):
    registry.upcaster(_type, 1)(_unchanged)
for _type in ("CommissionFormed", "MemberReplaced", "SittingOpened"):
    registry.upcaster(_type, 2)(_unchanged)


Downcaster = Callable[[dict[str, Any]], dict[str, Any] | None]


def _components_v1(entries: list[dict[str, Any]]) -> bool:
    """Every component of ``entries`` says nothing v1 could not (a value, no count)."""
    lines = [c for e in entries for c in e.get("components", [])]
    return all(c.get("value") is not None and c.get("count") is None for c in lines)


def _without_count(entry: dict[str, Any]) -> dict[str, Any]:
    components = [{k: v for k, v in c.items() if k != "count"} for c in entry["components"]]
    return {**entry, "components": components}


def _ranking_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if not _components_v1(payload["entries"]):
        return None
    return {**payload, "entries": [_without_count(e) for e in payload["entries"]]}


def _finalist_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if not _components_v1([payload]):
        return None
    return _without_count(payload)


def _winners_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("places_not_awarded") or payload.get("not_awarded_reason") is not None:
        return None
    return {
        k: v for k, v in payload.items() if k not in ("places_not_awarded", "not_awarded_reason")
    }


def _sitting_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("purpose_kk") is not None or payload.get("place") is not None:
        return None
    return {k: v for k, v in payload.items() if k not in ("purpose_kk", "place")}


def _signed_v1(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("names") is not None or payload.get("format", _V1) != _V1:
        return None
    return {k: v for k, v in payload.items() if k not in ("format", "names")}


_V1 = "uzdik/protocol/v1"


def _sitting_v2(payload: dict[str, Any]) -> dict[str, Any] | None:
    if payload.get("place_kk") is not None:
        return None
    return {k: v for k, v in payload.items() if k != "place_kk"}


DOWNCASTS: dict[str, Downcaster] = {
    "ProtocolSigned": _signed_v1,
    "SittingOpened": _sitting_v1,
    "RankingComputed": _ranking_v1,
    "FinalistSelected": _finalist_v1,
    "WinnersDecided": _winners_v1,
}
"""v2 → v1 for the events a protocol records (see :func:`as_written`), registered on the
registry so that another reader (reporting, an auditor's tool) writes a protocol the same way."""
for _type, _down in DOWNCASTS.items():
    registry.downcaster(_type, 2)(_down)
registry.downcaster("SittingOpened", 3)(_sitting_v2)


def as_written(event: Event) -> tuple[int, dict[str, Any]]:
    """The oldest version that says all ``event`` says, and its payload.

    A protocol's digest covers its records as written; a record v1 could express is written
    as v1, so a protocol signed before v2 existed (its v1 events upcast on replay) keeps its
    digest byte for byte, and one signed since is written by the same rule."""
    return registry.as_written(event.event_type, event.schema_version, event.to_payload())
