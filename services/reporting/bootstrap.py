"""Reporting service wiring."""

from __future__ import annotations

from services.reporting.entrypoints import documents, http, public
from services.reporting.entrypoints.consumers import projector
from services.reporting.entrypoints.republic import follow_republic
from services.reporting.events import registry
from shared.runtime import ServiceSpec

SPEC = ServiceSpec(
    name="reporting",
    registry=registry,
    topic="results",
    compress=True,  # a finalist's dossier carries the signed regional protocol (FinalistDossier)
    setup=follow_republic,
    routers=lambda ctx: [http.router(ctx), documents.router(ctx), public.router(ctx)],
    consumers=lambda ctx: [projector(ctx.store, ctx.settings.jwt_issuer)],
)
