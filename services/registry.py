"""The services by name, imported lazily."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import import_module

from shared.events import EventRegistry
from shared.runtime import ServiceSpec

SERVICES = ("nominations", "scoring", "survey", "reporting", "notifications")
WRITERS = ("nominations", "scoring", "survey")
"""The services whose events reporting folds (ratings, protocols, the audit trail)."""
CHAINED = (*WRITERS, "notifications")
"""Every hash-chained log an auditor verifies: the writers' and the notifications' (who was
told what and when)."""


def spec(name: str) -> ServiceSpec:
    if name not in SERVICES:
        known = ", ".join(SERVICES)
        raise KeyError(f"unknown service {name!r}; one of {known}")
    found: ServiceSpec = import_module(f"services.{name}.bootstrap").SPEC
    return replace(found, reads=readers())


@cache
def readers() -> dict[str, EventRegistry]:
    """Every service's event registry by name: what a reader of another service's events
    upcasts them through (the composition root wires it; no service imports another)."""
    return {name: import_module(f"services.{name}.events").registry for name in SERVICES}
