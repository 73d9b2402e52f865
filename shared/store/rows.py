"""Event rows as stored, and an event placed in the log: its row and its envelope."""

from __future__ import annotations

import json
import zlib
from typing import Any, NamedTuple

from shared.events import Envelope, Metadata
from shared.store.canonical import event_hash
from shared.store.rendering import Rendered


class StoredRow(NamedTuple):
    """An event row as stored (see :meth:`EventStore.read_rows`)."""

    global_position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    event_id: str
    payload: str
    metadata: str
    prev_hash: str
    hash: str


def lock_key(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def row_to_envelope(service: str, row: Any) -> Envelope:
    return Envelope(
        service=service,
        global_position=row.global_position,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_type=row.event_type,
        schema_version=row.schema_version,
        payload=json.loads(row.payload),
        metadata=Metadata.model_validate(json.loads(row.metadata)),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def placed(
    service: str, rendered: Rendered, position: int, stream_id: str, version: int, prev: str
) -> tuple[dict[str, Any], Envelope]:
    """The row and the envelope of ``rendered`` placed at ``position`` (version ``version`` of
    ``stream_id``), linked to the event before it by ``prev``."""
    place: dict[str, Any] = {
        "global_position": position,
        "stream_id": stream_id,
        "stream_version": version,
        "event_type": rendered.event.event_type,
        "schema_version": rendered.event.schema_version,
    }
    digest = event_hash(
        prev,
        place,
        payload_text=rendered.payload_text,
        metadata_text=rendered.metadata_text,
    )
    row = {
        **place,
        "event_id": str(rendered.metadata.event_id),
        "payload": rendered.payload_text,
        "metadata": rendered.metadata_text,
        "prev_hash": prev,
        "hash": digest,
    }
    envelope = Envelope.model_construct(  # its parts are validated already
        service=service,
        **place,
        payload=rendered.payload,
        metadata=rendered.metadata,
        prev_hash=prev,
        hash=digest,
    )
    return row, envelope
