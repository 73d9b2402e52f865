"""Webhook deliveries: POST the result event, signed per Standard Webhooks."""

from __future__ import annotations

import ssl
from functools import cache

import httpx

from services.notifications.domain.signing import sign


class WebhookFailed(Exception):
    pass


@cache
def _tls() -> ssl.SSLContext:
    """The client's TLS settings, made once: httpx makes them per client otherwise (loading
    the CA bundle each time: most of a delivery's CPU)."""
    return httpx.create_ssl_context()


class WebhookPoster:
    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def post(self, url: str, msg_id: str, timestamp: int, body: bytes, secret: str) -> int:
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        }
        async with httpx.AsyncClient(timeout=self.timeout, verify=_tls()) as client:
            response = await client.post(url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise WebhookFailed(f"HTTP {response.status_code}")
        return response.status_code
