"""A member is reminded of a deadline once, 48 hours ahead, when their sheets are missing;
commission members are told of a sitting called (on real PostgreSQL; the events are the
nominations' and scoring's own, appended to their stores and handed to the consumers)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from services.nominations.domain.figures import default_edition_2020
from services.nominations.events import EditionAnnounced
from services.notifications import consumers
from services.notifications.bootstrap import SPEC
from services.notifications.service import service_of
from services.scoring.events import CommissionFormed, Person, ScoreRecorded, SittingOpened
from shared.events import SYSTEM, Envelope, Event
from shared.migrations import upgrade
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store.eventstore import EventStore
from tests.builders import candidate_registered

from .conftest import Clock

EDITION = "3f0c9a52-2b7e-4b1a-9c41-6d2f0e8a7b10"
MEMBERS = ("m-1", "m-2", "m-3")


@pytest.fixture
async def runtime(
    pg_url_factory: Callable[[], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceRuntime, Clock, EventStore]]:
    monkeypatch.setenv("UZDIK_NOTIFY_SEND_EVERY_SECONDS", "0")  # rounds run by the test
    clock = Clock(datetime(2020, 6, 1))
    rt = ServiceRuntime(SPEC, Settings(), url=await pg_url_factory(), clock=clock)
    await rt.migrate()
    upstream = EventStore("scoring", await pg_url_factory())  # both services' events
    await upgrade(upstream.engine)
    yield rt, clock, upstream
    await upstream.close()
    await rt.stop()


async def feed(rt: ServiceRuntime, upstream: EventStore, service: str, *events: Event) -> None:
    appended = [
        (await upstream.append(f"s-{i}-{e.event_type}", None, [e], SYSTEM))[0]
        for i, e in enumerate(events)
    ]
    found = [Envelope.model_validate({**a.model_dump(), "service": service}) for a in appended]
    consumer = (
        consumers.nominations(rt.ctx) if service == "nominations" else consumers.scoring(rt.ctx)
    )
    await consumer.handle_batch(found)


async def test_a_member_with_missing_sheets_is_reminded_of_the_deadline_once(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    rt, clock, upstream = runtime
    edition = default_edition_2020(EDITION)
    await feed(rt, upstream, "nominations", EditionAnnounced(**edition.model_dump()))
    chair = Person(person_id="m-1", name="Chair", position="deputy_akim")
    await feed(
        rt,
        upstream,
        "scoring",
        CommissionFormed(
            commission_id="k-11",
            edition_id=EDITION,
            level="regional",
            region="110000000",
            members=(chair, *(Person(person_id=m, name=m) for m in MEMBERS[1:])),
            chair_id="m-1",
            secretary=Person(person_id="s-1", name="Secretary", position="head_of_department"),
        ),
        candidate_registered("c-1", application_id="c-1", edition_id=EDITION),
        candidate_registered("c-2", application_id="c-2", edition_id=EDITION),
        SittingOpened(
            sitting_id="st-1",
            commission_id="k-11",
            stage="stage1_selection",
            purpose="stage I selection",
            opened_at=datetime(2020, 6, 26, 10, tzinfo=edition.calendar.announced_at.tzinfo),
        ),
        *(
            ScoreRecorded(
                commission_id="k-11",
                sheet_id=f"sh-{member}-{cid}",
                sitting_id="st-1",
                member_id=member,
                candidate_id=cid,
                kind="project",
                scores={"a": 1},
                total=1,
            )
            for member, cid in (("m-1", "c-1"), ("m-1", "c-2"), ("m-2", "c-1"))
        ),
    )
    service = service_of(rt.ctx)
    deadline = edition.calendar.stage_one_deadline
    called = [
        e.payload
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued"
    ]
    assert {q["recipient"] for q in called if q["template"] == "sitting_called"} == {
        f"person:{m}" for m in MEMBERS
    }

    clock.set(deadline - timedelta(hours=49))
    assert await service.remind_due() == []  # not yet
    clock.set(deadline - timedelta(hours=47))
    first = await service.remind_due()
    clock.set(deadline - timedelta(hours=2))
    assert await service.remind_due() == []  # once
    reminders = [
        e.payload
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued" and e.payload["template"] == "deadline_reminder"
    ]
    assert len(first) == len(reminders) == 2
    assert {(r["recipient"], r["params"]["missing"]) for r in reminders} == {
        ("person:m-2", 1),
        ("person:m-3", 2),
    }  # m-1 filled both sheets: not reminded
    assert all(r["params"]["deadline"] == deadline.isoformat() for r in reminders)
