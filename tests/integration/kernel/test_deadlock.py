"""Two transactions taking the same two locks in opposite orders (a document row, then the append
lock; the append lock, then that row) deadlock on PostgreSQL, which breaks it by rolling one of
them back. That one is :class:`~shared.errors.TransactionConflict` (nothing committed), run
again by a command and by a consumer; a consumer whose handlers write such documents takes the
append lock first and never deadlocks at all.

Seen in CI: scoring's intake consumer updated a candidate's intake document and then wanted the
lock to register another, while the commission's formation held the lock and updated that same
document; the formation was rolled back and its secretary got a 500."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.consumers import Consumer
from shared.errors import ConnectionLost, TransactionConflict
from shared.events import Envelope
from shared.migrations import upgrade
from shared.store.eventstore import EventStore, UnitOfWork, open_store
from tests.kernel_events import ACTOR, Noted


@pytest.fixture
async def store(pg_url: str) -> Any:
    s = open_store("kernel", pg_url)
    await upgrade(s.engine)
    yield s
    await s.close()


async def _row_then_lock(store: EventStore, row_taken: asyncio.Event, go: asyncio.Event) -> None:
    async with store.transaction() as uow:
        await uow.docs.put("intake", "a", {"by": "consumer"})
        row_taken.set()
        await go.wait()
        await uow.lock()
        await uow.append("s-1", None, [Noted(text="registered")], ACTOR, "c", deferred=True)


async def _lock_then_row(store: EventStore, lock_taken: asyncio.Event) -> None:
    async with store.transaction() as uow:
        await uow.lock()
        lock_taken.set()
        await uow.docs.put("intake", "a", {"by": "formation"})


async def _opposite_orders(store: EventStore) -> list[BaseException | None]:
    async with store.transaction() as uow:
        await uow.docs.put("intake", "a", {"by": "nobody"})
    row_taken, lock_taken = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(_row_then_lock(store, row_taken, lock_taken))
    await row_taken.wait()
    second = asyncio.create_task(_lock_then_row(store, lock_taken))
    results = await asyncio.wait_for(
        asyncio.gather(first, second, return_exceptions=True), timeout=30
    )
    return list(results)


async def test_a_deadlock_the_database_breaks_is_a_transaction_conflict(store: EventStore) -> None:
    results = await _opposite_orders(store)
    failed = [r for r in results if r is not None]
    assert len(failed) == 1 and isinstance(failed[0], TransactionConflict), results
    assert "deadlock" in str(failed[0])
    async with store.reader() as uow:  # the one rolled back left nothing behind
        doc = await uow.docs.get("intake", "a")
    assert doc is not None
    survivor = "formation" if isinstance(results[0], TransactionConflict) else "consumer"
    assert doc["by"] == survivor
    assert len(await store.load("s-1")) == (1 if survivor == "consumer" else 0)


def _consumer(
    store: EventStore, lock_first: bool, entered: asyncio.Event, go: asyncio.Event, runs: list[int]
) -> Consumer:
    consumer = Consumer("intake", store, ["nominations"], lock_first=lock_first)

    @consumer.on("Noted")
    async def noted(uow: UnitOfWork, envelope: Envelope) -> None:
        runs.append(envelope.global_position)
        await uow.docs.put("intake", "a", {"by": "consumer"})
        entered.set()
        await go.wait()
        await uow.lock()
        await uow.append("s-1", None, [Noted(text="registered")], ACTOR, "c", deferred=True)

    return consumer


async def _delivered(store: EventStore) -> Envelope:
    """An event of another service's log (here in the same database: another stream)."""
    source = open_store("nominations", store.engine.url.render_as_string(hide_password=False))
    try:
        await upgrade(source.engine)
        [envelope] = await source.append("n-1", None, [Noted(text="admitted")], ACTOR)
    finally:
        await source.close()
    return envelope


@pytest.mark.parametrize("lock_first", [False, True])
async def test_a_consumer_applies_its_batch_beside_a_command_taking_the_locks_the_other_way(
    store: EventStore, lock_first: bool
) -> None:
    """Without ``lock_first`` the two deadlock and whichever was rolled back runs again; with
    it, the command waits for the consumer's lock and no deadlock happens. Either way both
    effects are there once, and the consumer recorded the event as applied."""
    async with store.transaction() as uow:
        await uow.docs.put("intake", "a", {"by": "nobody"})
    envelope = await _delivered(store)
    entered, lock_taken = asyncio.Event(), asyncio.Event()
    runs: list[int] = []
    consumer = _consumer(store, lock_first, entered, lock_taken, runs)
    applying = asyncio.create_task(consumer.handle_batch([envelope]))
    await entered.wait()
    command_failures: list[Exception] = []

    async def command() -> None:  # as shared.http.command runs one: again when rolled back
        for _ in range(3):
            try:
                await _lock_then_row(store, lock_taken)
                return
            except TransactionConflict as exc:
                command_failures.append(exc)
        raise AssertionError("the command never committed")

    if lock_first:  # the consumer holds the lock: the command can only wait behind it
        lock_taken.set()
    await asyncio.wait_for(asyncio.gather(applying, command()), timeout=60)
    assert applying.result() == 1
    rolled_back = len(command_failures) + len(runs) - 1
    assert rolled_back == (0 if lock_first else 1)  # the deadlock, broken once; or none
    registered = [e for e in await store.read_all() if e.stream_id == "s-1"]
    assert len(registered) == 1  # the consumer's effect, once
    async with store.reader() as uow:
        assert (await uow.applied("intake", "nominations")).has(envelope.global_position)
        assert await uow.docs.get("intake", "a") is not None


async def test_a_batch_the_database_cannot_take_is_redelivered_never_buried(
    store: EventStore,
) -> None:
    """A transaction lost every time it is run again (the database restarting) is raised for
    the batch to be redelivered: not applied one by one, not a step towards a dead letter."""
    envelope = await _delivered(store)
    consumer = Consumer("intake", store, ["nominations"], max_attempts=1)
    runs: list[int] = []

    @consumer.on("Noted")
    async def noted(uow: UnitOfWork, envelope: Envelope) -> None:
        runs.append(envelope.global_position)
        raise ConnectionLost("the server closed the connection")

    for _ in range(3):  # three redeliveries, each run again by the consumer itself
        with pytest.raises(ConnectionLost):
            await consumer.handle_batch([envelope])
    assert len(runs) == 3 * consumer.run_again
    async with store.reader() as uow:
        assert await uow.docs.list("dead_letters") == []
        assert not (await uow.applied("intake", "nominations")).has(envelope.global_position)
