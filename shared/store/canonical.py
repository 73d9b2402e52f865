"""Canonical bytes of an event and the hash chain: hash = sha256(prev_hash || bytes)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import orjson

GENESIS = "0" * 64


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text as is (``json.dumps`` with those options; one
    encoder for all calls rather than a new one per call)."""
    return _CANONICAL.encode(value)


def _orjson_same(value: Any) -> bool:
    """True when orjson writes ``value`` exactly as ``canonical_json`` does: plain dicts with str
    keys, lists, str, int, bool, None, and only floats whose ``repr`` has no exponent (orjson
    writes ``1e16`` where ``json`` writes ``1e+16``; ``NaN`` becomes ``null``). Scalars inside a
    dict or a list are looked at where they are, not stacked (most of a document is strings)."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        items: Any
        if t is dict:
            for k in v:
                if type(k) is not str:
                    return False
            items = v.values()
        elif t is list:
            items = v
        elif t is str or t is int or t is bool or v is None or _plain_float(v, t):
            continue
        else:
            return False
        for x in items:
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None:
                continue
            if tx is dict or tx is list:
                stack.append(x)
            elif not _plain_float(x, tx):
                return False
    return True


def _plain_float(v: Any, t: type) -> bool:
    """A float orjson and json write alike (anything else that is not a container or a plain
    scalar — tuples, subclasses, Decimals — is left to json)."""
    return t is float and math.isfinite(v) and "e" not in repr(v)


def canonical_json_fast(value: Any) -> str:
    """The same text as :func:`canonical_json`, through orjson when that is provably the same
    (see ``_orjson_same``; integers beyond 64 bits and lone surrogates make orjson raise), else
    through json."""
    if _orjson_same(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
        except (TypeError, orjson.JSONEncodeError):
            pass
    return canonical_json(value)


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


def event_bytes_of_text(
    *,
    global_position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    payload_text: str,
    metadata_text: str,
) -> bytes:
    """:func:`event_bytes` from the canonical texts of the payload and the metadata (as the
    store keeps them): the very same bytes — keys in sorted order, the two texts spliced in —
    without encoding the payload and the metadata a second time."""
    return (
        f'{{"event_type":{json_string(event_type)},"global_position":{int(global_position)},'
        f'"metadata":{metadata_text},"payload":{payload_text},'
        f'"schema_version":{int(schema_version)},"stream_id":{json_string(stream_id)},'
        f'"stream_version":{int(stream_version)}}}'
    ).encode()


# A JSON string literal as ``json.dumps(value, ensure_ascii=False)`` writes it (json's own C
# function, called directly: it is on the relay's and the audit's per-row paths).
json_string: Callable[[str], str] = json.encoder.encode_basestring


def chain(prev_hash: str, data: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + data).hexdigest()


def event_hash(
    prev_hash: str,
    fields: Mapping[str, Any],
    *,
    payload_text: str | None = None,
    metadata_text: str | None = None,
) -> str:
    """The chain link of one event, from the fields of its row or envelope (the one place the
    store, the auditor's chain check and the topic check compute it). The store, which has
    just written the canonical texts of the payload and the metadata, passes them rather than
    have them encoded again; others pass ``payload`` and ``metadata`` in ``fields``."""
    return chain(
        prev_hash,
        event_bytes_of_text(
            global_position=fields["global_position"],
            stream_id=fields["stream_id"],
            stream_version=fields["stream_version"],
            event_type=fields["event_type"],
            schema_version=fields["schema_version"],
            payload_text=canonical_json(fields["payload"])
            if payload_text is None
            else payload_text,
            metadata_text=(
                canonical_json(fields["metadata"]) if metadata_text is None else metadata_text
            ),
        ),
    )
