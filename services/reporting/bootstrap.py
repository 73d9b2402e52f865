"""Reporting service wiring."""

from __future__ import annotations

from services.reporting.entrypoints import documents, http
from services.reporting.entrypoints.consumers import projector
from services.reporting.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="reporting",
    registry=registry,
    topic="results",
    routers=lambda ctx: [http.router(ctx), documents.router(ctx)],
    consumers=lambda ctx: [projector(ctx.store)],
)
