"""Survey service wiring."""

from __future__ import annotations

from services.survey.entrypoints import http
from services.survey.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(name="survey", registry=registry, routers=lambda ctx: [http.router(ctx)])
