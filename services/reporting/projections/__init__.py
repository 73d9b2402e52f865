"""Projections are pure folds: ``fold(doc | None, event) -> doc | None`` per (model, key).

The event is the envelope as plain JSON (what is on the Kafka topic). A projection never reads
the clock, the network or another read model, so replaying the log from position zero yields
the same documents, byte for byte. Folds that gather events of several streams into one
document key them by id (never by arrival order), so any interleaving of topics converges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]
Fold = Callable[[Doc | None, Doc], Doc | None]


@dataclass(frozen=True)
class Target:
    model: str
    key: str
    fold: Fold


Router = Callable[[Doc], list[Target]]
ROUTERS: dict[str, list[Router]] = {}
EVERY: list[Router] = []


def on(*event_types: str) -> Callable[[Router], Router]:
    def deco(fn: Router) -> Router:
        for event_type in event_types:
            ROUTERS.setdefault(event_type, []).append(fn)
        return fn

    return deco


def every(fn: Router) -> Router:
    EVERY.append(fn)
    return fn


def targets(event: Doc) -> list[Target]:
    found: list[Target] = []
    for router in (*ROUTERS.get(event["event_type"], ()), *EVERY):
        found.extend(router(event))
    return found


def apply_in_memory(state: dict[tuple[str, str], Doc], event: Doc) -> None:
    """Fold one event into an in-memory state (replay)."""
    for t in targets(event):
        new = t.fold(state.get((t.model, t.key)), event)
        if new is None:
            state.pop((t.model, t.key), None)
        else:
            state[(t.model, t.key)] = new


def load_all() -> None:
    """Import every projection module so their routers register."""
    from services.reporting.projections import (  # noqa: F401
        audit,
        dossier,
        entities,
        protocols,
        ratings,
        surveys,
    )
