"""Group commit of responses (services/survey/adapters/ingest.py) on an embedded store: one transaction
per batch, each response decided on its own, refusals that do not fail the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.survey import handlers
from services.survey.adapters.group_commit import GroupCommit
from services.survey.adapters.ingest import ResponseWriter
from services.survey.adapters.ingest_plan import Accepted, Submission
from services.survey.adapters.readmodels import FLAG, get_tally, page
from services.survey.domain.answers import ValidResponse
from services.survey.domain.iin import make_iin, resident_key
from services.survey.domain.roll import UploadRoll
from services.survey.domain.rubric import SurveyRules
from services.survey.domain.survey import CloseSurvey
from shared.errors import DomainError
from shared.events import SYSTEM
from shared.handlers import Cause
from shared.migrations import upgrade
from shared.store.eventstore import EventStore, open_store
from tests.unit.survey.builders import CLOSES, DURING, PEPPER, open_cmd

RULES = SurveyRules.edition_2020()
SURVEY = str(open_cmd().survey_id)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    store = open_store("survey", f"sqlite+aiosqlite:///{tmp_path / 'survey.db'}")
    await upgrade(store.engine)
    async with store.transaction() as uow:
        await handlers.open_survey(uow, open_cmd(), Cause(SYSTEM, "test", DURING), rules=RULES)
    yield store
    await store.close()


def sub(n: int, value: int = 5, **extra: object) -> Submission:
    valid = ValidResponse(resident_key(make_iin(n), PEPPER), (value,) * RULES.rubric.size)
    fields: dict[str, object] = {
        "survey_id": SURVEY,
        "response_id": uuid4(),
        "valid": valid,
        "channel": "api",
        **extra,
    }
    return Submission(**fields)  # type: ignore[arg-type]


def writer(store: EventStore, lost: list[UUID] | None = None) -> ResponseWriter:
    return ResponseWriter(
        store,
        lambda: DURING,
        on_unrecorded=lambda ids: (lost if lost is not None else []).extend(ids),
    )


async def test_a_batch_is_one_append_and_a_repeat_in_the_same_batch_is_refused(
    store: EventStore,
) -> None:
    lost: list[UUID] = []
    batch = [sub(1), sub(2, value=7), sub(1, value=9), sub(3)]
    outcomes = await writer(store, lost).write(batch)
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Accepted", "Conflict", "Accepted"]
    refused = outcomes[2]
    assert isinstance(refused, DomainError) and refused.code == "already_answered"
    assert lost == [batch[2].response_id]
    events = await store.load(f"survey-{SURVEY}")
    assert [e.event_type for e in events] == ["SurveyOpened"] + ["ResponseRecorded"] * 3
    assert len({e.metadata.correlation_id for e in events[1:]}) == 1  # one transaction
    async with store.transaction() as uow:
        tally = await get_tally(uow, SURVEY)
        version = (await uow.lock(streams=[f"survey-{SURVEY}"])).versions[f"survey-{SURVEY}"]
    assert (tally.count, tally.flagged, version) == (3, 0, 4)
    assert tally.sums == (17,) * RULES.rubric.size
    again = await writer(store).write([sub(2)])
    assert isinstance(again[0], DomainError) and again[0].code == "already_answered"


async def test_idempotency_keys_replay_the_first_answer_and_refuse_another_body(
    store: EventStore,
) -> None:
    first = sub(4, idempotency_key="k1", request_hash="h1")
    same = sub(4, idempotency_key="k1", request_hash="h1")
    other = sub(5, idempotency_key="k1", request_hash="h2")
    outcomes = await writer(store).write([first, same, other])
    a, b, c = outcomes
    assert isinstance(a, Accepted) and isinstance(b, Accepted) and b.replayed
    assert a.body == b.body
    assert isinstance(c, DomainError) and c.code == "idempotency_key_reused"
    later = await writer(store).write([sub(4, idempotency_key="k1", request_hash="h1")])
    assert isinstance(later[0], Accepted) and later[0].replayed and later[0].body == a.body


async def test_an_unknown_or_closed_survey_refuses_without_failing_the_batch(
    store: EventStore,
) -> None:
    stranger = Submission(
        survey_id=str(uuid4()),
        response_id=uuid4(),
        valid=ValidResponse("a" * 64, (1,) * 16),
        channel="api",
    )
    outcomes = await writer(store).write([stranger, sub(6)])
    assert isinstance(outcomes[0], DomainError) and outcomes[0].code == "survey_not_found"
    assert isinstance(outcomes[1], Accepted)
    late = ResponseWriter(store, lambda: CLOSES + timedelta(seconds=1))
    closed = await late.write([sub(7)])
    assert isinstance(closed[0], DomainError) and closed[0].code == "survey_closed"


async def test_a_roll_is_checked_under_the_lock(store: EventStore) -> None:
    async with store.transaction() as uow:
        await handlers.upload_roll(
            uow,
            UploadRoll(survey_id=SURVEY, residents=[make_iin(8)]),
            Cause(SYSTEM, "t", DURING),
            pepper=PEPPER,
        )
    outcomes = await writer(store).write([sub(8), sub(9)])
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], DomainError) and outcomes[1].code == "not_on_roll"


async def test_earlier_responses_of_a_burst_are_flagged_after_the_fact(store: EventStore) -> None:
    early = sub(10)
    await writer(store).write([early])
    now_flagged = sub(
        11,
        flags=("burst_from_source",),
        earlier_flags=((early.response_id, ("burst_from_source",)),),
    )
    with_earlier_in_batch = sub(12)
    third = sub(
        13,
        flags=("burst_from_source",),
        earlier_flags=((with_earlier_in_batch.response_id, ("burst_from_source",)),),
    )
    await writer(store).write([now_flagged, with_earlier_in_batch, third])
    events = await store.load(f"survey-{SURVEY}")
    types = [e.event_type for e in events]
    assert types.count("ResponseFlagged") == 1  # the one from an earlier batch
    in_place = [
        e for e in events if e.payload.get("response_id") == str(with_earlier_in_batch.response_id)
    ]
    assert in_place[0].payload["flagged"] is True  # same batch: flagged in its own event
    async with store.transaction() as uow:
        flags = await page(uow, FLAG, f"{SURVEY}:", None, 100)
        tally = await get_tally(uow, SURVEY)
    assert len(flags) == 4 and tally.flagged == 4


async def test_a_response_refused_in_flight_is_never_flagged_after_the_fact(
    store: EventStore,
) -> None:
    """A burst verdict taken while an earlier response was still being written names it; if
    that response is then refused (its resident had answered), no flag may point at it."""
    await writer(store).write([sub(20)])
    w = writer(store)
    repeat = sub(20, value=9)  # refused in its batch: resident 20 answered already
    outcomes = await w.write([repeat])
    assert isinstance(outcomes[0], DomainError) and outcomes[0].code == "already_answered"
    later = sub(
        21,
        flags=("burst_from_source",),
        earlier_flags=((repeat.response_id, ("burst_from_source",)),),
    )
    assert isinstance((await w.write([later]))[0], Accepted)
    events = await store.load(f"survey-{SURVEY}")
    assert "ResponseFlagged" not in [e.event_type for e in events]
    async with store.transaction() as uow:
        tally = await get_tally(uow, SURVEY)
    assert tally.flagged == 1  # the later response's own flag only


async def test_a_burst_flag_naming_a_response_of_the_same_batch_follows_its_fate(
    store: EventStore,
) -> None:
    """Refused earlier in the batch (its resident had answered): never flagged. Later in the
    batch and recorded: flagged in its own event."""
    await writer(store).write([sub(30)])
    repeat = sub(30, value=9)
    later_in_batch = sub(32)
    naming = sub(
        31,
        flags=("burst_from_source",),
        earlier_flags=(
            (repeat.response_id, ("burst_from_source",)),
            (later_in_batch.response_id, ("burst_from_source",)),
        ),
    )
    outcomes = await writer(store).write([repeat, naming, later_in_batch])
    assert isinstance(outcomes[0], DomainError) and outcomes[0].code == "already_answered"
    assert isinstance(outcomes[1], Accepted) and isinstance(outcomes[2], Accepted)
    events = await store.load(f"survey-{SURVEY}")
    assert "ResponseFlagged" not in [e.event_type for e in events]
    recorded = {
        e.payload["response_id"]: e.payload["flagged"]
        for e in events
        if e.event_type == "ResponseRecorded"
    }
    assert str(repeat.response_id) not in recorded
    assert recorded[str(naming.response_id)] is True
    assert recorded[str(later_in_batch.response_id)] is True
    assert sum(recorded.values()) == 2
    async with store.transaction() as uow:
        tally = await get_tally(uow, SURVEY)
        flags = await page(uow, FLAG, f"{SURVEY}:", None, 100)
    assert tally.flagged == 2 and len(flags) == 2


@pytest.mark.parametrize("fate", ["refused", "recorded"])
async def test_a_burst_flag_naming_a_response_of_a_batch_in_flight_waits_for_its_fate(
    store: EventStore, fate: str
) -> None:
    """Batches are written concurrently. A verdict naming a response of a batch still in
    flight waits for that batch: a refused response is never flagged; a recorded one is
    flagged after it, in the log's order."""
    await writer(store).write([sub(40)])
    w = writer(store)
    named = sub(40, value=9) if fate == "refused" else sub(41)
    gate = asyncio.Event()
    documents = store.documents

    async def slow(wanted: Any) -> Any:
        wanted = list(wanted)
        if any(named.valid.resident in key for _, key in wanted):
            await gate.wait()  # the first batch reads only once the second has started
        return await documents(wanted)

    store.documents = slow  # type: ignore[method-assign]
    naming = sub(42, flags=("burst_from_source",), earlier_flags=((named.response_id, ("b",)),))
    first = asyncio.create_task(w.write([named]))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(w.write([naming]))
    await asyncio.sleep(0.05)
    assert not second.done()  # waiting for the batch its verdict names
    gate.set()
    (a,), (b,) = await first, await second
    assert isinstance(b, Accepted)
    events = await store.load(f"survey-{SURVEY}")
    flagged = [e.payload["response_id"] for e in events if e.event_type == "ResponseFlagged"]
    if fate == "refused":
        assert isinstance(a, DomainError) and a.code == "already_answered"
        assert flagged == []
    else:
        assert isinstance(a, Accepted) and flagged == [str(named.response_id)]
        order = [e.payload["response_id"] for e in events if e.event_type != "SurveyOpened"]
        assert order.index(str(named.response_id)) < len(order) - 1  # recorded, then flagged
        assert events[-1].event_type == "ResponseFlagged"


async def test_group_commit_writes_up_to_in_flight_batches_at_once() -> None:
    started: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> list[int | Exception]:
        started.append(items)
        await release.wait()
        return list(items)

    commit: GroupCommit[int, int] = GroupCommit(write, max_items=2, linger=0, in_flight=2)
    pending = [asyncio.create_task(commit.submit(i)) for i in range(6)]
    await asyncio.sleep(0.02)
    assert started == [[0, 1], [2, 3]]  # two batches in flight, the third waits for a slot
    release.set()
    assert await asyncio.gather(*pending) == list(range(6))
    assert started == [[0, 1], [2, 3], [4, 5]]
    await commit.close()


async def test_a_batch_after_the_first_writes_without_reading_and_the_write_checks_it(
    store: EventStore,
) -> None:
    """Once the survey was seen (without a roll), a batch is decided without a read: the write
    expects the survey unchanged and refuses an answered resident's second document — then
    the batch is decided again on what it reads, and the repeat is refused as always."""
    reads: list[int] = []
    documents = store.documents

    async def counted(wanted: Any) -> Any:
        reads.append(1)
        return await documents(wanted)

    store.documents = counted  # type: ignore[method-assign]
    w = writer(store)
    assert isinstance((await w.write([sub(50)]))[0], Accepted)
    assert len(reads) == 1  # the first batch reads: the survey was not seen yet
    assert all(isinstance(o, Accepted) for o in await w.write([sub(51), sub(52)]))
    assert len(reads) == 1  # read nothing
    repeat, fresh = sub(50, value=9), sub(53)
    outcomes = await w.write([repeat, fresh])
    assert isinstance(outcomes[0], DomainError) and outcomes[0].code == "already_answered"
    assert isinstance(outcomes[1], Accepted)
    assert len(reads) == 2  # the write refused the repeat's document: decided again on a read
    async with store.transaction() as uow:
        await handlers.close_survey(
            uow, CloseSurvey(survey_id=SURVEY, reason="manual"), Cause(SYSTEM, "t", DURING)
        )
    closed = await w.write([sub(54)])  # the survey as seen is open: the write expects it so
    assert isinstance(closed[0], DomainError) and closed[0].code == "survey_closed"
    events = await store.load(f"survey-{SURVEY}")
    assert [e.event_type for e in events].count("ResponseRecorded") == 4


async def test_a_keyed_retry_is_replayed_even_when_the_batch_would_skip_its_read(
    store: EventStore,
) -> None:
    """A request sent again with its Idempotency-Key gets its stored answer, also when the
    survey closed meanwhile and the writer, having seen the survey, would decide unread."""
    clock = [DURING]
    w = ResponseWriter(store, lambda: clock[0])
    first = sub(60, idempotency_key="k-60", request_hash="h")
    (answer,) = await w.write([first])
    assert isinstance(answer, Accepted)
    clock[0] = CLOSES + timedelta(seconds=1)
    (again,) = await w.write([sub(60, idempotency_key="k-60", request_hash="h")])
    assert isinstance(again, Accepted) and again.replayed and again.body == answer.body


async def test_group_commit_batches_concurrent_submissions_and_keeps_their_order() -> None:
    seen: list[list[int]] = []

    async def write(items: list[int]) -> list[int | Exception]:
        seen.append(items)
        await asyncio.sleep(0.01)
        return [i * 10 if i % 3 else ValueError(str(i)) for i in items]

    commit: GroupCommit[int, int] = GroupCommit(write, max_items=4, linger=0.001)
    results = await asyncio.gather(
        *(commit.submit(i) for i in range(1, 10)), return_exceptions=True
    )
    assert [r if isinstance(r, int) else str(r) for r in results] == [
        10,
        20,
        "3",
        40,
        50,
        "6",
        70,
        80,
        "9",
    ]
    assert [len(b) for b in seen] == [4, 4, 1] and [i for b in seen for i in b] == list(
        range(1, 10)
    )
    assert commit.batches == 3 and commit.items == 9


async def test_an_idle_collector_writes_once_submissions_stop_coming() -> None:
    """The batch starts when no submission came for ``quiet`` seconds, not after ``linger``;
    one arriving after the pause is the next batch."""
    loop = asyncio.get_running_loop()
    seen: list[tuple[list[int], float]] = []

    async def write(items: list[int]) -> list[int | Exception]:
        seen.append((items, loop.time()))
        return list(items)

    commit: GroupCommit[int, int] = GroupCommit(write, max_items=100, linger=5.0, quiet=0.05)
    start = loop.time()

    async def later(item: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return await commit.submit(item)

    results = await asyncio.gather(later(0, 0), later(1, 0.01), later(2, 0.02), later(3, 0.6))
    assert results == [0, 1, 2, 3]
    assert [items for items, _ in seen] == [[0, 1, 2], [3]]
    assert seen[0][1] - start < 0.5 and seen[1][1] - start < 1.5  # neither waited 5 s


async def test_a_failed_transaction_fails_its_batch_only() -> None:
    calls = 0

    async def write(items: list[int]) -> Sequence[int | Exception]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        return list(items)

    commit: GroupCommit[int, int] = GroupCommit(write, max_items=2, linger=0)
    results = await asyncio.gather(*(commit.submit(i) for i in range(4)), return_exceptions=True)
    assert isinstance(results[0], ConnectionError) and isinstance(results[1], ConnectionError)
    assert results[2:] == [2, 3]


async def test_a_batch_whose_connection_died_unseen_is_written_on_another(
    store: EventStore,
) -> None:
    """The pool hands out a connection whose server went away without the driver seeing it
    (no ping on checkout): its first statement fails before anything is written, and the
    batch is tried again; a failure while committing is not (it may have committed)."""
    from contextlib import asynccontextmanager

    from sqlalchemy.exc import DBAPIError

    dead = DBAPIError(
        "SELECT uzdik_lock(…)", {}, ConnectionError("gone"), connection_invalidated=True
    )
    original = store.transaction
    failures = {"before": 1, "commit": 0}

    class Abort(Exception):
        pass

    @asynccontextmanager
    async def flaky():  # type: ignore[no-untyped-def]
        try:
            async with original() as uow:
                if failures["before"]:  # the first statement meets the dead connection
                    failures["before"] -= 1
                    raise dead
                yield uow
                if failures["commit"]:  # rolled back here, then fails as a commit would
                    failures["commit"] -= 1
                    raise Abort
        except Abort:
            raise dead from None

    store.transaction = flaky  # type: ignore[method-assign]
    outcomes = await writer(store).write([sub(40)])
    assert isinstance(outcomes[0], Accepted)
    failures["commit"] = 1
    with pytest.raises(DBAPIError):
        await writer(store).write([sub(41)])
    store.transaction = original  # type: ignore[method-assign]
    events = await store.load(f"survey-{SURVEY}")
    recorded = [e for e in events if e.event_type == "ResponseRecorded"]
    assert len(recorded) == 1  # 40 once; 41's transaction was rolled back
