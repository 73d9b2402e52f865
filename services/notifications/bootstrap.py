"""Notifications service wiring: rules and sender (setup), HTTP API, consumers."""

from __future__ import annotations

from services.notifications import service
from services.notifications.entrypoints import consumers, http
from services.notifications.entrypoints.republic import follow_republic
from services.notifications.events import registry
from shared.runtime import ServiceContext, ServiceSpec


def setup(ctx: ServiceContext) -> None:
    """Rules, the sender and the results subscription; a region's deployment also follows the
    republic's mirrored results, to tell its winners (``entrypoints/republic.py``)."""
    service.install(ctx)
    follow_republic(ctx)


SPEC = ServiceSpec(
    name="notifications",
    registry=registry,
    setup=setup,
    routers=lambda ctx: [http.router(ctx)],
    # uzdik.results is not a "<service>.events" topic: distributed, the service subscribes to
    # it itself (adapters/results_source.py); embedded, a tailer of reporting's store feeds it.
    consumers=lambda ctx: [
        consumers.nominations(ctx),
        consumers.scoring(ctx),
        *([] if ctx.settings.distributed else [service.service_of(ctx).results]),
    ],
)
