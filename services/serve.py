"""One service process: uvicorn for the HTTP API, plus relay and Kafka consumers."""

from __future__ import annotations

import uvicorn

from shared.logging import get_logger
from shared.runtime import ServiceRuntime, ServiceSpec
from shared.settings import Settings

log = get_logger("uzdik.serve")


async def serve(spec: ServiceSpec, settings: Settings, relay: bool, consume: bool) -> None:
    runtime = ServiceRuntime(spec, settings)
    await runtime.start_distributed(relay=relay, consume=consume)
    config = uvicorn.Config(
        runtime.app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    log.info("service.started", service=spec.name, port=settings.http_port)
    try:
        await uvicorn.Server(config).serve()
    finally:
        await runtime.stop()
        log.info("service.stopped", service=spec.name)
