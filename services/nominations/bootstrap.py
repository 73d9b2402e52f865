"""Nominations service wiring."""

from __future__ import annotations

from services.nominations.entrypoints import http
from services.nominations.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(name="nominations", registry=registry, routers=lambda ctx: [http.router(ctx)])
