"""``uzdik serve portal``: the portal as a process of its own, over the services' URLs."""

from __future__ import annotations

import uvicorn

from services.portal.app import create_portal
from services.portal.backends import Backends
from shared.logging import get_logger
from shared.serving import CoalescingHttp
from shared.settings import Settings

log = get_logger("uzdik.portal")


async def serve_portal(settings: Settings) -> None:
    api = Backends.over_http(settings)
    app = create_portal(settings, api)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level="warning",
        access_log=False,
        log_config=None,
        lifespan="off",
        proxy_headers=False,
        http=CoalescingHttp,
    )
    signin = "oidc" if settings.oidc_issuer else "dev"
    log.info("portal.started", port=settings.http_port, signin=signin)
    try:
        await uvicorn.Server(config).serve()
    finally:
        await api.aclose()
        log.info("portal.stopped")
