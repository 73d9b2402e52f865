"""The services by name, imported lazily."""

from __future__ import annotations

from importlib import import_module

from shared.runtime import ServiceSpec

SERVICES = ("nominations", "scoring", "survey", "reporting")
WRITERS = ("nominations", "scoring", "survey")
# served on their own (`uzdik serve notifications`), not yet in the embedded all-in-one
DISTRIBUTED_ONLY = ("notifications",)


def spec(name: str) -> ServiceSpec:
    if name not in SERVICES + DISTRIBUTED_ONLY:
        known = ", ".join(SERVICES + DISTRIBUTED_ONLY)
        raise KeyError(f"unknown service {name!r}; one of {known}")
    found: ServiceSpec = import_module(f"services.{name}.bootstrap").SPEC
    return found
