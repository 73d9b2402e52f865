"""A batch written at once: events placed at the ends of their streams and documents created,
replaced or added to, provided the documents a writer read are still as it read them.

The kernel's extension point for a writer that must not hold the append lock while it decides
(the survey's group commit): it decides on documents read without the lock, then writes the
batch expecting them unchanged (:meth:`~shared.store.eventstore.EventStore.write`); each backend
does it its own way (PostgreSQL: one statement in the server, migration 0004)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.events import Envelope
from shared.store.rendering import Rendered

Doc = tuple[str, str, str]  # (model, key, text)


@dataclass(frozen=True)
class Batch:
    """What :meth:`EventStore.write` writes at once, provided the documents ``expect``-ed are
    still as they were read (``None``: absent).

    * ``events``: (stream, event) — each placed at the end of the log and of its stream;
    * ``new``: documents created (a key that exists fails the whole batch);
    * ``new_at``: (model, key prefix, text, i) — created under the key prefix followed by the
      position of ``events[i]`` (12 digits), e.g. a listing in the order of the log;
    * ``put``: documents created or replaced;
    * ``add``: counters — documents holding a JSON array of integers — added to element by
      element (created when absent); one entry per counter.
    """

    expect: Sequence[tuple[str, str, str | None]] = ()
    events: Sequence[tuple[str, Rendered]] = ()
    new: Sequence[Doc] = ()
    new_at: Sequence[tuple[str, str, str, int]] = ()
    put: Sequence[Doc] = ()
    add: Sequence[tuple[str, str, Sequence[int]]] = ()


@dataclass(frozen=True)
class Written:
    """What :meth:`EventStore.write` placed: ``rows`` (position, version, previous hash, hash)
    in the order of the batch's events; their envelopes when asked for (a hot path that
    needs none does not build them)."""

    service: str
    batch: Batch
    rows: Sequence[Any]

    @property
    def positions(self) -> list[int]:
        return [int(row["global_position"]) for row in self.rows]

    def envelopes(self) -> list[Envelope]:
        return [
            Envelope.model_construct(
                service=self.service,
                global_position=int(row["global_position"]),
                stream_id=stream,
                stream_version=int(row["stream_version"]),
                event_type=r.event.event_type,
                schema_version=r.event.schema_version,
                payload=r.payload,
                metadata=r.metadata,
                prev_hash=row["prev_hash"],
                hash=row["hash"],
            )
            for (stream, r), row in zip(self.batch.events, self.rows, strict=True)
        ]


def add_counts(counter: Sequence[int], values: Sequence[int]) -> list[int]:
    """Element by element, the shorter one taken as padded with zeros (as ``uzdik_write``)."""
    width = max(len(counter), len(values))
    left = [*counter, *[0] * (width - len(counter))]
    right = [*values, *[0] * (width - len(values))]
    return [int(a) + int(b) for a, b in zip(left, right, strict=True)]
