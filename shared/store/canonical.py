"""Canonical bytes of an event and the hash chain: hash = sha256(prev_hash || bytes)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_bytes(
    *,
    global_position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload: dict[str, Any],
    metadata: dict[str, Any],
) -> bytes:
    body = {
        "global_position": global_position,
        "stream_id": stream_id,
        "stream_version": stream_version,
        "event_type": event_type,
        "schema_version": schema_version,
        "payload": payload,
        "metadata": metadata,
    }
    return canonical_json(body).encode("utf-8")


def chain(prev_hash: str, data: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + data).hexdigest()
