"""Scoring service wiring."""

from __future__ import annotations

from services.scoring.entrypoints import http
from services.scoring.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(name="scoring", registry=registry, routers=lambda ctx: [http.router(ctx)])
