"""Survey service wiring."""

from __future__ import annotations

from shared.runtime import ServiceSpec
from services.survey.entrypoints import http
from services.survey.events import registry

SPEC = ServiceSpec(name="survey", registry=registry, routers=lambda ctx: [http.router(ctx)])
