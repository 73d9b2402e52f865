"""Scoring service wiring."""

from __future__ import annotations

from shared.runtime import ServiceSpec
from services.scoring.entrypoints import http
from services.scoring.events import registry

SPEC = ServiceSpec(name="scoring", registry=registry, routers=lambda ctx: [http.router(ctx)])
