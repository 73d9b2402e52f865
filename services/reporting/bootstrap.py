"""Reporting service wiring."""

from __future__ import annotations

from services.reporting.consumers import projector
from services.reporting.entrypoints import http
from shared.events import EventRegistry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="reporting",
    registry=EventRegistry(),
    routers=lambda ctx: [http.router(ctx)],
    consumers=lambda ctx: [projector(ctx.store)],
)
