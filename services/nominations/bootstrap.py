"""Nominations service wiring."""

from __future__ import annotations

from shared.runtime import ServiceSpec
from services.nominations.entrypoints import http
from services.nominations.events import registry

SPEC = ServiceSpec(name="nominations", registry=registry, routers=lambda ctx: [http.router(ctx)])
