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


_ROUTES: dict[str, tuple[Router, ...]] = {}  # per event type: its routers, then EVERY's


def on(*event_types: str) -> Callable[[Router], Router]:
    def deco(fn: Router) -> Router:
        for event_type in event_types:
            ROUTERS.setdefault(event_type, []).append(fn)
        _ROUTES.clear()
        return fn

    return deco


def every(fn: Router) -> Router:
    EVERY.append(fn)
    _ROUTES.clear()
    return fn


def routes(event_type: str) -> tuple[Router, ...]:
    found = _ROUTES.get(event_type)
    if found is None:
        found = _ROUTES[event_type] = (*ROUTERS.get(event_type, ()), *EVERY)
    return found


def targets(event: Doc) -> list[Target]:
    found: list[Target] = []
    for router in routes(event["event_type"]):
        found.extend(router(event))
    return found


def apply_in_memory(state: dict[tuple[str, str], Doc], event: Doc) -> None:
    """Fold one event into an in-memory state (replay)."""
    for router in routes(event["event_type"]):
        for t in router(event):
            k = (t.model, t.key)
            new = t.fold(state.get(k), event)
            if new is None:
                state.pop(k, None)
            else:
                state[k] = new


def load_all() -> None:
    """Import every projection module so their routers register."""
    from services.reporting.projections import (  # noqa: F401
        audit,
        dossier,
        entities,
        federation,
        protocols,
        ratings,
        surveys,
    )
