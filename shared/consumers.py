"""Idempotent consumers and the embedded transport.

A :class:`Consumer` applies each event at most once *in effect*: the effect and the record of
what was applied commit in one transaction, and delivery (Kafka or a tailer) acknowledges only
after that commit. The same consumers run on Kafka (shared.kafka) and on the embedded transport
(:class:`Tailer`, which tails another service's event store in process).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from shared.errors import RunAgain
from shared.events import Envelope, Readers, upcast
from shared.logging import get_logger
from shared.metrics import CONSUMER_APPLIED, CONSUMER_DUPLICATES, CONSUMER_LAG, DEAD_LETTERS
from shared.store.docs import CachedDocStore
from shared.store.eventstore import EventStore, UnitOfWork

Handler = Callable[[UnitOfWork, Envelope], Awaitable[None]]
log = get_logger("uzdik.consumer")


@dataclass
class Consumer:
    """A named consumer in a service: handlers by event type, and the services it reads."""

    name: str
    store: EventStore
    sources: list[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    cache_docs: bool = False  # write-behind read models for the span of a batch
    max_attempts: int = 5  # then an event that keeps failing becomes a dead letter
    # take the service's append lock before anything else in a batch's transaction: for a
    # consumer whose handlers write documents a command also writes under that lock and then
    # append (two orders of the same two locks are a deadlock)
    lock_first: bool = False
    run_again: int = 3  # a transaction the database rolled back is run again this many times
    readers: Readers = field(default_factory=dict)  # the sources' registries: old events upcast
    _failures: dict[str, int] = field(default_factory=dict, repr=False)

    def on(self, *event_types: str) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for event_type in event_types:
                self.handlers[event_type] = fn
            return fn

        return deco

    def wants(self, envelope: Envelope) -> bool:
        return envelope.service in self.sources and (
            envelope.event_type in self.handlers or "*" in self.handlers
        )

    async def handle_batch(self, envelopes: list[Envelope]) -> int:
        """Apply a batch in ONE transaction; skip what was applied before.

        If the batch fails, its events are applied one by one, so one poison event cannot
        hold the others back: it fails (and is redelivered) up to ``max_attempts`` times,
        then it is set aside as a dead letter — recorded, logged, counted — and the log moves
        on. A transaction the database could not complete (:class:`RunAgain`, run again
        already) is no event's failure: it is raised for the batch to be redelivered.
        Returns how many were applied."""
        try:
            return await self._apply_again(envelopes)
        except RunAgain:
            raise  # the database's trouble, not an event's: the batch is redelivered whole
        except Exception:
            if len(envelopes) == 1:
                return await self._apply_or_bury(envelopes[0])
        applied = 0
        for envelope in envelopes:
            applied += await self._apply_or_bury(envelope)
        return applied

    async def _apply_or_bury(self, envelope: Envelope) -> int:
        event_id = str(envelope.event_id)
        try:
            applied = await self._apply_again([envelope])
        except RunAgain:
            raise  # never a step towards a dead letter: the event was not at fault
        except Exception as exc:
            self._failures[event_id] = self._failures.get(event_id, 0) + 1
            if self._failures[event_id] < self.max_attempts:
                raise
            await self._bury(envelope, exc)
            return 0
        self._failures.pop(event_id, None)
        return applied

    async def _bury(self, envelope: Envelope, exc: Exception) -> None:
        event_id = str(envelope.event_id)
        log.error(
            "consumer.dead_letter",
            consumer=self.name,
            event_id=event_id,
            event_type=envelope.event_type,
            error=repr(exc),
        )
        DEAD_LETTERS.labels(self.name).inc()
        async with self.store.transaction() as uow:
            await uow.docs.put(
                "dead_letters",
                f"{self.name}:{event_id}",
                {
                    "consumer": self.name,
                    "event_id": event_id,
                    "service": envelope.service,
                    "global_position": envelope.global_position,
                    "event_type": envelope.event_type,
                    "error": repr(exc)[:2000],
                },
            )
            applied = await uow.applied(self.name, envelope.service)
            applied.add([envelope.global_position])
            await uow.record_applied(self.name, envelope.service, applied)
        self._failures.pop(event_id, None)

    async def _apply_again(self, envelopes: list[Envelope]) -> int:
        """:meth:`_apply_batch`, run again when the database rolled it back for a reason that
        is not the events' (a deadlock it broke, a lost connection): not a failure of theirs."""
        for attempt in range(self.run_again):
            try:
                return await self._apply_batch(envelopes)
            except RunAgain as exc:
                if attempt == self.run_again - 1:
                    raise
                log.info("consumer.run_again", consumer=self.name, error=str(exc)[:200])
        raise AssertionError("unreachable")

    async def _apply_batch(self, envelopes: list[Envelope]) -> int:
        """Apply the batch's events this consumer has not applied yet, and record every
        position of its sources it saw (wanted or not: the record's watermark moves over
        them), all in one transaction."""
        ours = [e for e in envelopes if e.service in self.sources]
        if not ours:
            return 0
        async with self.store.transaction() as uow:
            if self.lock_first:
                await uow.lock()
            if self.cache_docs:
                uow.docs = CachedDocStore(uow.conn, raw=uow.docs.raw)
            applied = {
                s: await uow.applied(self.name, s) for s in sorted({e.service for e in ours})
            }
            fresh: list[Envelope] = []
            for envelope in ours:
                seen = applied[envelope.service]
                if seen.has(envelope.global_position):
                    if self.wants(envelope):
                        CONSUMER_DUPLICATES.labels(self.name).inc()
                    continue
                seen.add([envelope.global_position])
                if self.wants(envelope):
                    handler = self.handlers.get(envelope.event_type) or self.handlers["*"]
                    await handler(uow, upcast(self.readers, envelope))
                    fresh.append(envelope)
            if isinstance(uow.docs, CachedDocStore):
                await uow.docs.flush()
            for source, seen in applied.items():
                await uow.record_applied(self.name, source, seen)
        CONSUMER_APPLIED.labels(self.name).inc(len(fresh))
        return len(fresh)


class Recent:
    """The events of one store lately read, decoded once for all the tailers reading it: each
    service's log is followed by several consumers, which read the same rows at about the same
    time (the demo decoded every row four times over). Envelopes are frozen; the store is
    append-only, so a position read once holds the same event for good."""

    def __init__(self, source: EventStore, keep: int = 5_000) -> None:
        self.source, self.keep = source, keep
        self._by_position: OrderedDict[int, Envelope] = OrderedDict()

    async def read_all(self, after: int, limit: int) -> list[Envelope]:
        """:meth:`EventStore.read_all`, from what was decoded already as far as it goes."""
        found: list[Envelope] = []
        position = after + 1
        while len(found) < limit and position in self._by_position:
            found.append(self._by_position[position])
            position += 1
        if len(found) < limit:  # what is newer (or older than kept) from the store
            more = await self.source.read_all(after=position - 1, limit=limit - len(found))
            for envelope in more:
                self._by_position[envelope.global_position] = envelope
            found += more
            while len(self._by_position) > self.keep:  # the first read go first
                self._by_position.popitem(last=False)
        return found


class Tailer:
    """Embedded transport: feed a consumer from another service's event store (through the
    ``recent`` reads shared by every tailer of that store, when given)."""

    def __init__(
        self, consumer: Consumer, source: EventStore, batch: int = 500, recent: Recent | None = None
    ) -> None:
        self.consumer, self.source, self.batch = consumer, source, batch
        self.recent = recent or Recent(source)

    async def step(self) -> int:
        """Feed the consumer the source's next events after what it applied; its record of
        them is written with their effect (:meth:`Consumer.handle_batch`)."""
        async with self.consumer.store.reader() as uow:
            position = (await uow.applied(self.consumer.name, self.source.service)).through
        events = await self.recent.read_all(after=position, limit=self.batch)
        if events:
            await self.consumer.handle_batch(events)
            lag = await self.source.head() - events[-1].global_position
            CONSUMER_LAG.labels(self.consumer.name, self.source.service).set(lag)
        return len(events)


class EmbeddedBus:
    """All tailers of an embedded deployment; ``drain`` runs them until nothing moves."""

    def __init__(self, tailers: Iterable[Tailer] = ()) -> None:
        self.tailers = list(tailers)
        self._recent: dict[str, Recent] = {}  # by source service: decoded once for all

    def connect(self, consumer: Consumer, stores: dict[str, EventStore]) -> None:
        for source in consumer.sources:
            recent = self._recent.setdefault(source, Recent(stores[source]))
            self.tailers.append(Tailer(consumer, stores[source], recent=recent))

    async def drain(self) -> int:
        total = 0
        while True:
            moved = 0
            for tailer in self.tailers:
                moved += await tailer.step()
            total += moved
            if moved == 0:
                return total

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.05) -> None:
        while not stop.is_set():
            try:
                moved = await self.drain()
            except Exception as exc:  # keep tailing; the failed event is retried next step
                log.error("embedded.consume_failed", error=str(exc))
                moved = 0
            if moved == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
                except TimeoutError:
                    pass
