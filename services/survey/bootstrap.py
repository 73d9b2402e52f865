"""Survey service wiring: the service object, the HTTP API, the public page, the consumer."""

from __future__ import annotations

from services.survey import service
from services.survey.entrypoints import consumers, http, pages
from services.survey.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="survey",
    registry=registry,
    setup=service.install,
    routers=lambda ctx: [http.router(ctx), pages.router(ctx)],
    consumers=lambda ctx: [consumers.nominees(ctx)],
    fast_routes=http.fast_routes,
)
