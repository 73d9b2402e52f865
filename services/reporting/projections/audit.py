"""The audit trail: who did what, when, through which command (correlation id).

One row per event of every log, in a table of its own (``audit_trail``, migration 0002) rather
than one JSON document per event: a row is final when its event is read, so the live projector
inserts it (a batch per consumed batch) and the replay streams it into a fresh table (COPY).

A row's canonical bytes are its line in PostgreSQL's COPY text format (columns of ``COLUMNS``
separated by tabs, ``\\N`` for NULL, backslash escapes): what ``COPY ... TO STDOUT`` prints for
the live table, and what :func:`line_of` builds from an event. The read model's digest is
order independent — the row count and the sum of the rows' sha256 modulo 2**256 — so the replay
computes it while folding, whatever order the topics' partitions interleave in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from services.reporting.projections import Doc

COLUMNS = (
    "service",
    "position",
    "event_id",
    "event_type",
    "stream_id",
    "stream_version",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "actor_role",
    "actor_region",
    "correlation_id",
    "causation_id",
    "hash",
)
Row = tuple[Any, ...]
MODEL = "audit"  # its name among the read models (digests, the HTTP API)
MOD = 1 << 256

# What COPY's text format escapes (PostgreSQL's CopyAttributeOutText): backslash, \b \f \n \r
# \t \v; other characters, control or not, go out as they are.
_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPES["\v"] = "\\v"
_TABLE = str.maketrans(_ESCAPES)
_CONTROL = re.compile(r"[\b\f\n\r\v]")  # tabs and backslashes are counted instead
_LAST = len(COLUMNS) - 1
_NULL = "\\N"


def row_of(event: Doc) -> Row:
    meta = event["metadata"]
    actor = meta["actor"]
    return (
        event["service"],
        event["global_position"],
        meta["event_id"],
        event["event_type"],
        event["stream_id"],
        event["stream_version"],
        meta["occurred_at"],
        meta["recorded_at"],
        actor["id"],
        actor["role"],
        actor.get("region"),
        meta["correlation_id"],
        meta.get("causation_id"),
        event["hash"],
    )


def _field(value: Any) -> str:
    if value is None:
        return "\\N"
    if type(value) is int:
        return str(value)
    return str(value).translate(_TABLE)


def line_of(row: Sequence[Any]) -> str:
    """The row as COPY's text format prints it (no trailing newline)."""
    fast = "\t".join([v if type(v) is str else ("\\N" if v is None else str(v)) for v in row])
    if (
        fast.count("\t") == len(row) - 1
        and fast.count("\\") == row.count(None)  # only the NULLs' backslashes
        and not _CONTROL.search(fast)
    ):
        return fast
    return "\t".join([_field(v) for v in row])


def line_of_event(event: Doc) -> str:
    """``line_of(row_of(event))``, without the row (the replay's hot path)."""
    meta = event["metadata"]
    actor = meta["actor"]
    region, cause = actor.get("region"), meta.get("causation_id")
    position, version = event["global_position"], event["stream_version"]
    if type(position) is int and type(version) is int:
        nulls = (region is None) + (cause is None)
        region = _NULL if region is None else region
        cause = _NULL if cause is None else cause
        fast = (
            f"{event['service']}\t{position}\t{meta['event_id']}\t{event['event_type']}\t"
            f"{event['stream_id']}\t{version}\t{meta['occurred_at']}\t{meta['recorded_at']}\t"
            f"{actor['id']}\t{actor['role']}\t{region}\t"
            f"{meta['correlation_id']}\t{cause}\t{event['hash']}"
        )
        if fast.count("\t") == _LAST and fast.count("\\") == nulls and not _CONTROL.search(fast):
            return fast
    return line_of(row_of(event))


def item_of(row: Sequence[Any]) -> Doc:
    """The row as the read API serves it (the shape of the former audit documents)."""
    return {
        "service": row[0],
        "position": row[1],
        "event_id": row[2],
        "event_type": row[3],
        "stream_id": row[4],
        "stream_version": row[5],
        "occurred_at": row[6],
        "recorded_at": row[7],
        "actor": {"id": row[8], "role": row[9], "region": row[10]},
        "correlation_id": row[11],
        "causation_id": row[12],
        "hash": row[13],
    }


def cursor_of(row: Sequence[Any]) -> str:
    """The pagination cursor of a row (the former document key)."""
    return f"{row[0]}:{row[1]:012d}"


def parse_cursor(cursor: str) -> tuple[str, int]:
    service, _, position = cursor.rpartition(":")
    valid = position.isascii() and position.isdigit() and len(position) < 19  # a BIGINT
    return service, int(position) if valid else -1


class Digest:
    """Order-independent digest of a set of rows: count and sum of sha256(line) mod 2**256."""

    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0

    def add_line(self, line: bytes) -> None:
        self.count += 1
        self.total += int.from_bytes(hashlib.sha256(line).digest(), "big")

    def add_lines(self, lines: list[bytes]) -> None:
        sha, frm = hashlib.sha256, int.from_bytes
        self.total += sum([frm(sha(x).digest(), "big") for x in lines])
        self.count += len(lines)

    def hexdigest(self) -> str:
        return f"{self.count}:{self.total % MOD:064x}"
