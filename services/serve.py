"""One service process: uvicorn for the HTTP API, plus relay and Kafka consumers."""

from __future__ import annotations

import gc
import signal
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from shared.clock import business_clock
from shared.logging import get_logger
from shared.runtime import ServiceRuntime, ServiceSpec
from shared.serving import CoalescingHttp
from shared.settings import Settings

log = get_logger("uzdik.serve")


class Server(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGTERM/SIGINT stop the server and return, so that ``runtime.stop()`` runs and the
        process exits 0. (uvicorn's own re-raises the signal after its shutdown, which kills
        the process before the relay, the consumers and the database pool are closed.)"""
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


async def serve(spec: ServiceSpec, settings: Settings, relay: bool, consume: bool) -> None:
    runtime = ServiceRuntime(spec, settings, clock=business_clock(settings).now)
    await runtime.start_distributed(relay=relay, consume=consume)
    # Long-lived start-up objects (app, registries, KATO, rubrics) leave the collector's view,
    # and young collections run less often: fewer pauses in the request path (p99).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 50)
    config = uvicorn.Config(
        runtime.app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn's records go to the root handler: JSON like ours
        lifespan="off",
        # X-Forwarded-For is the services' own business (the survey trusts its configured
        # proxies only, per request): uvicorn must not rewrite the peer before them.
        proxy_headers=False,
        http=CoalescingHttp,  # an answer's head and body in one write
    )
    log.info("service.started", service=spec.name, port=settings.http_port)
    try:
        await Server(config).serve()
    finally:
        await runtime.stop()
        log.info("service.stopped", service=spec.name)
