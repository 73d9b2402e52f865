"""Notifications service wiring: rules and sender (setup), HTTP API, consumers."""

from __future__ import annotations

from services.notifications import consumers, service
from services.notifications.entrypoints import http
from services.notifications.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="notifications",
    registry=registry,
    setup=service.install,
    routers=lambda ctx: [http.router(ctx)],
    consumers=lambda ctx: [consumers.nominations(ctx), consumers.scoring(ctx)],
)
