"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the receiver recomputes
``base64(HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>"))`` and compares it
with the ``v1,<signature>`` entries of ``webhook-signature``."""

from __future__ import annotations

import base64
import hashlib
import hmac


def secret_bytes(secret: str) -> bytes:
    """``whsec_<base64>`` (the convention's format) or, failing that, the text's bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, msg_id: str, timestamp: int, body: bytes, header: str) -> bool:
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, part) for part in header.split())
