"""One suite, run against SQLite and PostgreSQL (the ``store_url`` fixture)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from shared.audit import verify_chain
from shared.errors import ConcurrencyError, StaleRead
from shared.migrations import upgrade
from shared.relay import single_active
from shared.store.batch import Batch
from shared.store.canonical import canonical_json
from shared.store.eventstore import EventStore, open_store
from shared.store.rendering import Rendered, Renderer, render
from shared.store.rows import lock_key
from tests.kernel_events import ACTOR, Noted, registry


@pytest.fixture
async def store(store_url: str) -> EventStore:
    s = open_store("kernel", store_url)
    await upgrade(s.engine)
    yield s  # type: ignore[misc]
    await s.close()


async def test_appended_events_read_back_in_order_with_linked_hashes(store: EventStore) -> None:
    await store.append("a-1", 0, [Noted(text="one"), Noted(text="two")], ACTOR)
    await store.append("b-1", 0, [Noted(text="три")], ACTOR)
    events = await store.read_all()
    assert [e.global_position for e in events] == [1, 2, 3]
    assert [e.stream_version for e in events] == [1, 2, 1]
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert registry.load(events[2]) == Noted(text="три")
    assert events[0].actor == ACTOR


async def test_two_concurrent_appends_at_the_same_version_one_wins(store: EventStore) -> None:
    await store.append("race-1", 0, [Noted(text="start")], ACTOR)
    results = await asyncio.gather(
        store.append("race-1", 1, [Noted(text="left"), Noted(text="left2")], ACTOR),
        store.append("race-1", 1, [Noted(text="right"), Noted(text="right2")], ACTOR),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ConcurrencyError)
    stream = await store.load("race-1")
    texts = [registry.load(e).text for e in stream]  # type: ignore[attr-defined]
    assert texts in (["start", "left", "left2"], ["start", "right", "right2"])  # never mixed
    assert (await verify_chain(store)).ok


async def test_appending_at_a_stale_version_is_refused(store: EventStore) -> None:
    await store.append("s-1", 0, [Noted(text="a")], ACTOR)
    with pytest.raises(ConcurrencyError):
        await store.append("s-1", 0, [Noted(text="b")], ACTOR)
    assert await store.head() == 1


async def test_an_altered_payload_is_named_by_the_chain_check(store: EventStore) -> None:
    for i in range(5):
        await store.append(f"x-{i}", 0, [Noted(text=f"e{i}", n=i)], ACTOR)
    victim = (await store.read_all())[2]
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE events SET payload = :p WHERE global_position = 3"),
            {"p": '{"n":2,"text":"forged"}'},
        )
    report = await verify_chain(store)
    assert not report.ok and report.discrepancy is not None
    assert report.discrepancy.global_position == 3
    assert report.discrepancy.event_id == str(victim.event_id)
    assert "altered" in report.discrepancy.reason


async def test_a_deleted_event_breaks_the_chain_at_the_gap(store: EventStore) -> None:
    for i in range(4):
        await store.append(f"y-{i}", 0, [Noted(text=f"e{i}")], ACTOR)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM events WHERE global_position = 2"))
    report = await verify_chain(store)
    assert report.discrepancy is not None and report.discrepancy.global_position == 3


async def test_many_appends_in_one_transaction_commit_together(store: EventStore) -> None:
    async with store.transaction() as uow:
        for i in range(50):
            await uow.append(f"batch-{i}", 0, [Noted(text="x", n=i)], ACTOR, "corr")
    assert await store.head() == 50
    assert (await verify_chain(store)).events == 50


async def test_the_relay_publishes_a_stored_row_exactly_as_the_record_of_its_envelope(
    store: EventStore,
) -> None:
    """The relay splices the stored payload and metadata texts into the message; that must be
    byte for byte what encoding the decoded envelope gives (and what the chain was hashed on)."""
    from shared.relay import record_of_row, to_record
    from shared.store.rows import row_to_envelope

    texts = ['quote " and \\ backslash', "Үздік ауыл әкімі 🏆", "tab\tnew\nline\x01", "", "z" * 500]
    await store.append("odd-1", 0, [Noted(text=t, n=2**62 - i) for i, t in enumerate(texts)], ACTOR)
    rows = await store.read_rows()
    assert [r.global_position for r in rows] == [1, 2, 3, 4, 5]
    for row in rows:
        assert record_of_row("kernel", row) == to_record(row_to_envelope("kernel", row))
    assert await store.read_rows(after=4, limit=10) == rows[4:]


async def test_what_a_consumer_applied_is_one_record_per_source_committed_with_the_effect(
    store: EventStore,
) -> None:
    """Positions out of order (two partitions interleaved) fold into the watermark when the
    gap closes; the record commits with the effect or not at all."""
    async with store.transaction() as uow:
        seen = await uow.applied("projection", "scoring")
        assert (seen.through, seen.above) == (0, [])
        seen.add([1, 2, 5, 6, 9])
        await uow.record_applied("projection", "scoring", seen)
        other = await uow.applied("projection", "survey")
        other.add([1])
        await uow.record_applied("projection", "survey", other)
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.docs.put("effects", "x", {"done": True})
            seen = await uow.applied("projection", "scoring")
            seen.add([3, 4])
            await uow.record_applied("projection", "scoring", seen)
            raise RuntimeError("the effect failed: neither it nor its record stays")
    async with store.transaction() as uow:
        assert await uow.docs.get("effects", "x") is None
        seen = await uow.applied("projection", "scoring")
        assert (seen.through, seen.above) == (2, [(5, 6), (9, 9)])
        assert [p for p in range(1, 11) if seen.has(p)] == [1, 2, 5, 6, 9]
        seen.add([3, 4, 8, 7])
        await uow.record_applied("projection", "scoring", seen)
    async with store.reader() as uow:
        seen = await uow.applied("projection", "scoring")
        assert (seen.through, seen.above) == (9, [])
        assert (await uow.applied("projection", "survey")).through == 1
        assert (await uow.applied("nobody", "scoring")).through == 0


async def test_the_relay_mark_never_moves_backwards(store: EventStore) -> None:
    """A relay that lost its lock unseen must not drag the mark back (a republish storm)."""
    from shared.relay import Record, Relay

    class Nowhere:
        async def publish(self, topic: str, records: list[Record]) -> int:
            return 0

    relay = Relay(store, Nowhere(), topic="t.survey.events")
    assert await relay.published_position() == 0
    await relay._mark(10)
    await relay._mark(5)
    assert await relay.published_position() == 10
    await relay._mark(12)
    assert await relay.published_position() == 12


async def test_a_pooled_connection_the_server_closed_is_replaced_not_handed_out(
    pg_url: str,
) -> None:
    """No ping round trip on checkout (it cost three statements per transaction): a pooled
    connection whose backend is gone is known to the driver and replaced."""
    import asyncpg
    from sqlalchemy.engine import make_url

    store = open_store("kernel", pg_url)
    try:
        await upgrade(store.engine)
        await store.append("a-1", 0, [Noted(text="one")], ACTOR)
        async with store.engine.connect() as conn:
            first = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
        admin = await asyncpg.connect(dsn)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.3)  # the server's goodbye reaches the pooled socket
        assert await store.head() == 1  # not "connection was closed in the middle of operation"
        async with store.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT pg_backend_pid()")) != first
    finally:
        await store.close()


async def test_what_the_lock_reads_includes_the_transaction_that_held_it_before(
    store: EventStore,
) -> None:
    """``lock(documents=…, streams=…)`` reads after the lock is granted (on PostgreSQL in the
    same round trip that takes it): a writer that waited sees the previous holder's commit."""
    from sqlalchemy.exc import IntegrityError

    await store.append("tally-1", 0, [Noted(text="opened")], ACTOR)
    async with store.transaction() as uow:
        await uow.flush(new=[("tally", "t1", '{"n":1}')])
    holding, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with store.transaction() as uow:
            locked = await uow.lock([("tally", "t1")], ["tally-1"])
            assert locked.documents == {("tally", "t1"): '{"n":1}'}
            assert locked.versions == {"tally-1": 1}
            holding.set()
            await release.wait()
            await uow.append("tally-1", 1, [Noted(text="two")], ACTOR, "c", deferred=True)
            await uow.flush(put=[("tally", "t1", '{"n":2}')])

    async def second() -> tuple[dict[tuple[str, str], str], dict[str, int], tuple[int, str]]:
        await holding.wait()
        async with store.transaction() as uow:
            locked = await uow.lock([("tally", "t1"), ("tally", "none")], ["tally-1", "new-1"])
            head = await uow._lock_head()
            await uow.append("tally-1", 2, [Noted(text="three")], ACTOR, "c", deferred=True)
            return locked.documents, locked.versions, head

    task = asyncio.create_task(second())
    holder = asyncio.create_task(first())
    await holding.wait()
    await asyncio.sleep(0.3)  # the second writer is waiting for the lock meanwhile
    assert not task.done()
    release.set()
    await holder
    documents, versions, head = await task
    assert documents == {("tally", "t1"): '{"n":2}'}
    assert versions == {"tally-1": 2, "new-1": 0}
    assert head[0] == 2
    events = await store.read_all()
    assert [e.stream_version for e in events] == [1, 2, 3]
    assert (await verify_chain(store)).ok
    with pytest.raises(IntegrityError):  # a new document that exists fails the transaction
        async with store.transaction() as uow:
            await uow.append("tally-1", None, [Noted(text="lost")], ACTOR, "c", deferred=True)
            await uow.flush(new=[("tally", "t1", "{}")])
    assert await store.head() == 3  # nothing of it was written


async def test_deferred_appends_from_many_writers_keep_one_gapless_chain(
    store: EventStore,
) -> None:
    """Twenty transactions at once, each locking, appending deferred and flushing with a
    document: positions gapless, every hash linked, every document written."""

    async def writer(i: int) -> None:
        async with store.transaction() as uow:
            locked = await uow.lock([("w", f"k{i}")], [f"w-{i}"])
            assert locked.versions == {f"w-{i}": 0} and locked.documents == {}
            for j in range(3):
                await uow.append(f"w-{i}", j, [Noted(text="x", n=j)], ACTOR, "c", deferred=True)
            await uow.flush(new=[("w", f"k{i}", "{}")], put=[("w", "count", f'{{"last":{i}}}')])

    await asyncio.gather(*(writer(i) for i in range(20)))
    report = await verify_chain(store)
    assert report.ok and report.events == 60
    async with store.reader() as uow:
        assert len(await uow.docs.list("w")) == 21


async def test_a_running_relay_stores_its_mark_when_caught_up_not_after_every_batch(
    store: EventStore,
) -> None:
    """Under a steady stream the mark (a transaction of its own) is stored at most every
    ``mark_seconds``; whenever the relay catches up it is stored at once."""
    from shared.relay import Record, Relay

    published: list[int] = []
    marks: list[int] = []

    class AckAll:
        async def publish(self, topic: str, records: list[Record]) -> int:
            published.append(len(records))
            return len(records)

    class Spy(Relay):
        async def _mark(self, position: int) -> None:
            marks.append(position)
            await super()._mark(position)

    async with store.transaction() as uow:
        for i in range(200):
            await uow.append(f"m-{i % 7}", None, [Noted(text="x", n=i)], ACTOR, "c")
    relay = Spy(store, AckAll(), topic="t.kernel.events", batch_size=50, mark_seconds=60)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    for _ in range(100):
        if marks:
            break
        await asyncio.sleep(0.05)
    await store.append("m-late", 0, [Noted(text="late")], ACTOR)
    for _ in range(100):
        if marks[-1:] == [201]:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running
    assert published == [50, 50, 50, 50, 1]
    assert marks == [200, 201]  # not 50, 100, 150: one mark per catching up
    assert await relay.published_position() == 201


async def test_reads_under_the_lock_after_a_deferred_append_keep_its_version(
    store: EventStore,
) -> None:
    async with store.transaction() as uow:
        await uow.append("v-1", 0, [Noted(text="a"), Noted(text="b")], ACTOR, "c", deferred=True)
        assert (await uow.lock(streams=["v-1"])).versions == {"v-1": 2}  # not the table's 0
        await uow.append("v-1", 2, [Noted(text="c")], ACTOR, "c", deferred=True)
    assert [e.stream_version for e in await store.load("v-1")] == [1, 2, 3]


async def test_a_connection_lost_before_the_commit_is_told_apart_from_other_failures(
    store: EventStore,
) -> None:
    """Lost before anything was committed: ``ConnectionLost`` (the transaction may be run
    again, as ``command`` and the survey's writer do); any other database error as it was."""
    from sqlalchemy.exc import DBAPIError

    from shared.errors import ConnectionLost

    def failure(invalidated: bool) -> DBAPIError:
        return DBAPIError(
            "SELECT 1", {}, ConnectionError("gone"), connection_invalidated=invalidated
        )

    with pytest.raises(ConnectionLost):
        async with store.transaction() as uow:
            await uow.append("c-1", 0, [Noted(text="lost")], ACTOR, "c", deferred=True)
            raise failure(True)
    with pytest.raises(DBAPIError):
        async with store.transaction():
            raise failure(False)
    assert await store.head() == 0  # nothing of either was written


async def test_an_event_rendered_before_the_lock_is_stored_as_rendered_and_linked(
    store: EventStore,
) -> None:
    """``render`` makes an event's metadata and texts before the append lock; the append
    only places and links it: the stored row carries that metadata, the chain holds, and the
    envelope is what reading the row back gives."""
    await store.append("r-1", 0, [Noted(text="before")], ACTOR)
    at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    rendered = render(Noted(text="рендер"), ACTOR, "corr-r", recorded_at=at)
    async with store.transaction() as uow:
        await uow.lock(streams=["r-1"])
        (envelope,) = await uow.append("r-1", 1, [rendered], ACTOR, "ignored", deferred=True)
    stored = (await store.read_all())[-1]
    assert stored == envelope
    assert stored.metadata == rendered.metadata and stored.metadata.recorded_at == at
    assert stored.metadata.correlation_id == "corr-r" and stored.stream_version == 2
    assert registry.load(stored) == Noted(text="рендер")
    assert (await verify_chain(store)).ok


def _rendered(text: str) -> Rendered:
    return render(Noted(text=text), ACTOR, "corr-w", recorded_at=datetime.now(UTC))


async def test_a_batch_is_placed_at_the_ends_of_its_streams_and_linked(
    store: EventStore,
) -> None:
    """``write`` places events after what is there (on PostgreSQL the server links them:
    the chain check recomputes every hash in Python) and writes the documents with them."""
    await store.append("w-1", 0, [Noted(text="first")], ACTOR)
    written = await store.write(
        Batch(
            events=[("w-1", _rendered("a")), ("w-2", _rendered("b")), ("w-1", _rendered("ç"))],
            new=[("note", "n-1", '{"x":1}')],
            new_at=[("listing", "w:", '{"i":0}', 0), ("listing", "w:", '{"i":2}', 2)],
            put=[("note", "n-2", '{"y":2}')],
            add=[("count", "c-1", [1, 2, 3])],
        )
    )
    envelopes = written.envelopes()
    assert written.positions == [2, 3, 4]
    assert [(e.stream_id, e.stream_version, e.global_position) for e in envelopes] == [
        ("w-1", 2, 2),
        ("w-2", 1, 3),
        ("w-1", 3, 4),
    ]
    assert await store.read_all(after=1) == envelopes
    assert (await verify_chain(store)).ok
    await store.write(Batch(add=[("count", "c-1", [10, 20, 30, 40])]))
    found = await store.documents(
        [("note", "n-1"), ("note", "n-2"), ("count", "c-1"), ("listing", "w:000000000002")]
    )
    assert found == {
        ("note", "n-1"): '{"x":1}',
        ("note", "n-2"): '{"y":2}',
        ("count", "c-1"): "[11,22,33,40]",
        ("listing", "w:000000000002"): '{"i":0}',
    }
    assert ("listing", "w:000000000004") in await store.documents([("listing", "w:000000000004")])


async def test_a_batch_whose_reads_went_stale_writes_nothing(store: EventStore) -> None:
    await store.write(Batch(new=[("doc", "d-1", '{"v":1}')]))
    before = await store.read_all()
    stale = Batch(expect=[("doc", "d-1", '{"v":0}')], events=[("s-1", _rendered("x"))])
    with pytest.raises(StaleRead):
        await store.write(stale)
    absent = Batch(expect=[("doc", "d-2", None), ("doc", "d-1", None)], put=[("doc", "d-3", "1")])
    with pytest.raises(StaleRead):
        await store.write(absent)
    exists = Batch(events=[("s-1", _rendered("y"))], new=[("doc", "d-1", '{"v":2}')])
    with pytest.raises(StaleRead):
        await store.write(exists)
    assert await store.read_all() == before
    assert await store.documents([("doc", "d-1"), ("doc", "d-3")]) == {("doc", "d-1"): '{"v":1}'}
    fine = Batch(
        expect=[("doc", "d-1", '{"v":1}'), ("doc", "d-2", None)], put=[("doc", "d-1", "2")]
    )
    await store.write(fine)
    assert await store.documents([("doc", "d-1")]) == {("doc", "d-1"): "2"}


async def test_concurrent_batches_keep_one_gapless_chain(store: EventStore) -> None:
    async def one(i: int) -> list[int]:
        batch = Batch(
            events=[(f"c-{i % 3}", _rendered(f"{i}-{j}")) for j in range(5)],
            add=[("count", "all", [1, 5])],
        )
        return (await store.write(batch)).positions

    placed = await asyncio.gather(*(one(i) for i in range(20)))
    assert sorted(p for batch in placed for p in batch) == list(range(1, 101))
    assert all(batch == list(range(batch[0], batch[0] + 5)) for batch in placed)
    report = await verify_chain(store)
    assert report.ok and report.events == 100
    assert await store.documents([("count", "all")]) == {("count", "all"): "[20,100]"}
    versions = [(e.stream_id, e.stream_version) for e in await store.read_all()]
    for stream in ("c-0", "c-1", "c-2"):
        mine = [v for s, v in versions if s == stream]
        assert mine == list(range(1, len(mine) + 1))


def test_a_renderer_makes_the_texts_render_makes() -> None:
    """The batch renderer splices each id into one metadata text: the same bytes as
    rendering each event on its own (what the chain links)."""
    at = datetime(2026, 11, 27, 6, 0, 0, 123456, tzinfo=UTC)
    renderer = Renderer(ACTOR, "corr-«ü»", recorded_at=at, causation_id="cause")
    for text in ("one", "два", 'quote " and \\\\'):
        made = renderer.render(Noted(text=text))
        alone = render(Noted(text=text), ACTOR, "corr-«ü»", recorded_at=at, causation_id="cause")
        same_id = alone.metadata.model_copy(update={"event_id": made.metadata.event_id})
        assert made.metadata == same_id
        assert made.metadata_text == canonical_json(same_id.model_dump(mode="json"))
        assert (made.payload, made.payload_text) == (alone.payload, alone.payload_text)
    ids = {renderer.render(Noted(text="x")).metadata.event_id for _ in range(5)}
    assert len(ids) == 5


async def test_the_relay_lock_holds_no_snapshot_and_is_released_when_it_stops(
    pg_url: str,
) -> None:
    """The active relay's lock session is idle, not idle in a transaction: a snapshot held
    for the relay's whole life would keep every dead row of the database from being pruned
    (a counter every batch updates grows a longer chain with each update). When the relay
    stops, the lock is free for a standby at once."""
    store = open_store("kernel", pg_url)
    await upgrade(store.engine)
    stop = asyncio.Event()
    try:
        async with single_active(store, "relay.test", stop):
            async with store.engine.connect() as conn:
                held = (
                    await conn.execute(
                        sa.text(
                            "SELECT a.state, a.backend_xmin IS NULL AS no_snapshot "
                            "FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
                            "WHERE l.locktype = 'advisory' AND l.granted "
                            "AND l.objid = :key AND a.datname = current_database()"
                        ),
                        {"key": lock_key("relay.test")},
                    )
                ).one()
            assert (held.state, held.no_snapshot) == ("idle", True)
        async with store.engine.connect() as conn:
            taken = await conn.scalar(
                sa.select(sa.func.pg_try_advisory_lock(lock_key("relay.test")))
            )
            assert taken is True
            await conn.scalar(sa.select(sa.func.pg_advisory_unlock(lock_key("relay.test"))))
    finally:
        await store.close()


@pytest.mark.parametrize("landed", [True, False])
async def test_a_write_whose_connection_died_is_told_by_what_is_stored(
    pg_url: str, landed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement commits on its own: a connection lost after sending it may have landed.
    Landed: the write returns where its events are (no error, nothing written twice). Not
    landed: ConnectionLost, which a caller may send again."""
    import asyncpg

    from shared.errors import ConnectionLost

    store = open_store("kernel", pg_url)
    await upgrade(store.engine)
    driver = store._driver
    calls = [0]

    def flaky() -> Any:
        @asynccontextmanager
        async def wrapped() -> Any:
            async with driver() as conn:
                calls[0] += 1
                if calls[0] > 1:  # the check that follows the failure is not disturbed
                    yield conn
                    return

                class Dying:
                    async def fetch(self, query: str, *args: Any) -> Any:
                        if landed:
                            await conn.fetch(query, *args)
                        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection lost")

                yield Dying()

        return wrapped()

    monkeypatch.setattr(store, "_driver", flaky)
    batch = Batch(events=[("d-1", _rendered("a")), ("d-1", _rendered("b"))])
    try:
        if landed:
            written = await store.write(batch)
            assert written.positions == [1, 2]
            monkeypatch.undo()
            assert [e.event_id for e in await store.read_all()] == [
                r.metadata.event_id for _, r in batch.events
            ]
        else:
            with pytest.raises(ConnectionLost):
                await store.write(batch)
            monkeypatch.undo()
            assert await store.read_all() == []
    finally:
        await store.close()


async def test_a_remembered_fold_takes_in_what_was_appended_after_it(store: EventStore) -> None:
    """``load_state(remember=True)`` folds only the events after the fold it kept: the state
    and the version equal a fold from the start after any appends, and a fold that saw this
    unit of work's own appends (which may roll back) is not kept."""
    from shared.handlers import load_state

    def evolve(state: tuple[str, ...] | None, event: Any) -> tuple[str, ...]:
        return (*(state or ()), event.text)

    async def fold(remember: bool) -> tuple[tuple[str, ...] | None, int]:
        async with store.reader() as uow:
            return await load_state(uow, "f-1", registry, evolve, remember)

    await store.append("f-1", 0, [Noted(text="a"), Noted(text="b")], ACTOR)
    assert await fold(True) == (("a", "b"), 2) == await fold(False)
    await store.append("f-1", 2, [Noted(text="c")], ACTOR)
    assert store.folds["f-1"][0] == 2
    assert await fold(True) == (("a", "b", "c"), 3) == await fold(False)
    assert store.folds["f-1"] == (3, ("a", "b", "c"))

    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.append("f-1", 3, [Noted(text="rolled back")], ACTOR, "c-1")
            state, version = await load_state(uow, "f-1", registry, evolve, True)
            assert (state, version) == (("a", "b", "c", "rolled back"), 4)
            raise RuntimeError("the transaction fails after its own append")
    assert store.folds["f-1"] == (3, ("a", "b", "c"))
    assert await fold(True) == (("a", "b", "c"), 3) == await fold(False)


async def test_documents_written_behind_are_inserted_updated_and_deleted_once_flushed(
    store: EventStore,
) -> None:
    from shared.store.docs import CachedDocStore

    async with store.transaction() as uow:
        await uow.docs.put("m", "kept", {"n": 1})
        await uow.docs.put("m", "gone", {"n": 1})
    async with store.transaction() as uow:
        cached = CachedDocStore(uow.conn)
        await cached.put("m", "new", {"n": 2})  # absent: inserted by the flush
        await cached.put("m", "kept", {"n": 3})  # present: replaced
        await cached.delete("m", "gone")
        assert await uow.docs.get("m", "new") is None  # nothing written before the flush
        await cached.insert_text("m", "other", '{"n":4}')  # flushes what is pending first
        await cached.flush()
    async with store.reader() as uow:
        assert await uow.docs.list("m") == [
            ("kept", {"n": 3}),
            ("new", {"n": 2}),
            ("other", {"n": 4}),
        ]


async def test_sqlite_statements_run_on_the_calling_thread(tmp_path: Any) -> None:
    """The embedded stores hand no statement to a thread of their own (one per connection in
    aiosqlite): the demo's half a million calls were mostly those hand-overs."""
    import threading

    store = open_store("kernel", f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    await upgrade(store.engine)
    try:
        before = threading.active_count()
        await store.append("inline-1", 0, [Noted(text="one")], ACTOR)
        async with store.reader() as uow:
            raw = await uow.conn.get_raw_connection()
            assert type(raw.driver_connection).__name__ == "InlineConnection"
            assert [e.stream_version for e in await uow.load("inline-1")] == [1]
        assert threading.active_count() == before
    finally:
        await store.close()


async def test_documents_are_listed_by_key_and_by_a_prefix_exactly(store: EventStore) -> None:
    keys = ["a|2", "b|1", "a|", "A|3", "a|1", "ab", "a|ж"]
    async with store.transaction() as uow:
        for key in keys:
            await uow.docs.put("m", key, {"k": key})
        await uow.docs.put("other", "a|9", {"k": "a|9"})
    async with store.reader() as uow:
        assert [k for k, _ in await uow.docs.list("m")] == sorted(keys)
        assert [k for k, _ in await uow.docs.list("m", "a|")] == ["a|", "a|1", "a|2", "a|ж"]
        assert await uow.docs.list("m", "a|ж") == [("a|ж", {"k": "a|ж"})]
        assert await uow.docs.list("m", "zz") == []


async def test_a_prefix_with_like_wildcards_matches_itself_only(store: EventStore) -> None:
    """``_`` and ``%`` in a prefix are characters, not LIKE's wildcards (PostgreSQL's path)."""
    keys = ["r_1|a", "rx1|b", "r%|c", "r%z|d", "rz|e", "r\\|f", "r\\x|g"]
    async with store.transaction() as uow:
        for key in keys:
            await uow.docs.put("m", key, {"k": key})
    async with store.reader() as uow:
        assert [k for k, _ in await uow.docs.list("m", "r_1")] == ["r_1|a"]
        assert [k for k, _ in await uow.docs.list("m", "r%")] == ["r%z|d", "r%|c"]
        assert [k for k, _ in await uow.docs.list("m", "r\\")] == ["r\\x|g", "r\\|f"]
