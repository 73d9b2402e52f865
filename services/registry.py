"""The four services by name, imported lazily."""

from __future__ import annotations

from importlib import import_module

from shared.runtime import ServiceSpec

SERVICES = ("nominations", "scoring", "survey", "reporting")
WRITERS = ("nominations", "scoring", "survey")


def spec(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise KeyError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
    found: ServiceSpec = import_module(f"services.{name}.bootstrap").SPEC
    return found
