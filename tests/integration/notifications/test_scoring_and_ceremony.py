"""Who is told what from scoring's events and the organiser's ceremony (on real PostgreSQL;
the events are the nominations' and scoring's own, appended to a store and handed to the
consumers): members of a sitting called and of a deadline 48 hours ahead, once; the secretary
when a stage can be closed; nominator and candidate when nominated or not, finalist, winner;
the winners of the award ceremony's time and place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from services.nominations.domain.figures import default_edition_2020
from services.nominations.events import EditionAnnounced
from services.notifications.bootstrap import SPEC
from services.notifications.config import catalogue
from services.notifications.domain.messages import render
from services.notifications.entrypoints import consumers
from services.notifications.entrypoints.republic import republic_consumer
from services.notifications.service import service_of
from services.scoring.events import (
    CandidateNominated,
    CommissionFormed,
    FinalistAdmitted,
    FinalistSelected,
    MemberRecused,
    Person,
    ScoreRecorded,
    SittingOpened,
    StageClosed,
    StageReopened,
    Winner,
    WinnersDecided,
)
from shared.auth import issue_dev_token
from shared.events import SYSTEM, Actor, Envelope, Event
from shared.migrations import upgrade
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from shared.store.eventstore import EventStore, open_store
from tests.builders import candidate_registered

from .conftest import Clock

EDITION = "3f0c9a52-2b7e-4b1a-9c41-6d2f0e8a7b10"
MEMBERS = ("m-1", "m-2", "m-3")
C1 = "7d3f6b1e-3a0c-4c53-9f1e-2b8a4c6d0e11"
C2 = "7d3f6b1e-3a0c-4c53-9f1e-2b8a4c6d0e12"


def _submitted(application_id: str) -> Event:
    """The nominator's ApplicationSubmitted, as the nominations service records it."""
    from services.nominations.events import ApplicationSubmitted
    from tests.unit.nominations.builders import questionnaire

    form = questionnaire(rural_district_kato="111033000")
    return ApplicationSubmitted(
        application_id=application_id,
        edition_id=EDITION,
        submitted_at=datetime(2020, 6, 10, 12, tzinfo=UTC),
        region_kato="110000000",
        district_kato="111000000",
        rural_district_kato="111033000",
        questionnaire=form,
    )


@pytest.fixture
async def runtime(
    pg_url_factory: Callable[[], Awaitable[str]], monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[ServiceRuntime, Clock, EventStore]]:
    monkeypatch.setenv("UZDIK_NOTIFY_SEND_EVERY_SECONDS", "0")  # rounds run by the test
    clock = Clock(datetime(2020, 6, 1))
    rt = ServiceRuntime(SPEC, Settings(), url=await pg_url_factory(), clock=clock)
    await rt.migrate()
    upstream = open_store("scoring", await pg_url_factory())  # both services' events
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


async def test_the_secretary_is_told_once_when_every_sheet_of_the_stage_is_in(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    rt, _, upstream = runtime
    edition = default_edition_2020(EDITION)
    await feed(rt, upstream, "nominations", EditionAnnounced(**edition.model_dump()))
    chair = Person(person_id="m-1", name="Chair", position="deputy_akim")

    def sheet(member: str, cid: str, n: int = 0) -> ScoreRecorded:
        return ScoreRecorded(
            commission_id="k-11",
            sheet_id=f"sh-{member}-{cid}-{n}",
            sitting_id="st-1",
            member_id=member,
            candidate_id=cid,
            kind="project",
            scores={"a": 1},
            total=1,
        )

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
        SittingOpened(
            sitting_id="st-1",
            commission_id="k-11",
            stage="stage1_selection",
            purpose="stage I selection",
            opened_at=edition.calendar.check_period_ends_at,
        ),
        sheet("m-1", "c-1"),
        sheet("m-2", "c-1"),
    )

    async def told() -> list[dict]:
        return [
            e.payload
            for e in await rt.store.read_all(limit=1000)
            if e.event_type == "NotificationQueued" and e.payload["template"] == "stage_closable"
        ]

    assert await told() == []  # m-3's sheet is missing
    await feed(rt, upstream, "scoring", sheet("m-3", "c-1"), sheet("m-3", "c-1", 1))
    [secretary] = await told()  # once, though a later sheet came too
    assert secretary["recipient"] == "person:s-1"
    assert secretary["params"] == {"commission_id": "k-11", "stage": "stage1_selection"}

    # the interview stage: every member's essay sheet is not yet the stage's assessment (§14);
    # the secretary is told once each member's interview sheet is in (§15–§16)
    await feed(
        rt,
        upstream,
        "scoring",
        CandidateNominated(
            commission_id="k-11",
            sitting_id="st-1",
            candidate_id="c-1",
            district="111000000",
            points=Decimal("10"),
            rank=1,
            basis="points",
        ),
        SittingOpened(
            sitting_id="st-2",
            commission_id="k-11",
            stage="stage1_interview",
            purpose="stage I interview",
            opened_at=edition.calendar.check_period_ends_at + timedelta(days=20),
        ),
    )

    def interview(member: str, kind: str) -> ScoreRecorded:
        return ScoreRecorded(
            commission_id="k-11",
            sheet_id=f"sh-{member}-{kind}",
            sitting_id="st-2",
            member_id=member,
            candidate_id="c-1",
            kind=kind,
            scores={"a": 1},
            total=1,
        )

    await feed(rt, upstream, "scoring", *(interview(m, "essay") for m in MEMBERS))
    assert len(await told()) == 1  # essay sheets only: not closable yet
    await feed(rt, upstream, "scoring", *(interview(m, "interview") for m in MEMBERS[:2]))
    assert len(await told()) == 1  # m-3's interview sheet is missing
    await feed(rt, upstream, "scoring", interview("m-3", "interview"))
    interview_told = [t for t in await told() if t["params"]["stage"] == "stage1_interview"]
    assert [t["recipient"] for t in interview_told] == ["person:s-1"]


async def test_a_member_recused_from_a_candidate_is_not_reminded_of_it_nor_awaited(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    """The reading of §3, §20: a recused member gives no sheet for that candidate; nothing of theirs is missing."""
    rt, clock, upstream = runtime
    edition = default_edition_2020(EDITION)
    await feed(rt, upstream, "nominations", EditionAnnounced(**edition.model_dump()))
    chair = Person(person_id="m-1", name="Chair", position="deputy_akim")

    async def queued(template: str) -> list[dict]:
        return [
            e.payload
            for e in await rt.store.read_all(limit=1000)
            if e.event_type == "NotificationQueued" and e.payload["template"] == template
        ]

    def sheet(member: str, cid: str) -> ScoreRecorded:
        return ScoreRecorded(
            commission_id="k-11",
            sheet_id=f"sh-{member}-{cid}",
            sitting_id="st-1",
            member_id=member,
            candidate_id=cid,
            kind="project",
            scores={"a": 1},
            total=1,
        )

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
        *(sheet(m, c) for m, c in (("m-1", "c-1"), ("m-1", "c-2"), ("m-2", "c-1"))),
        *(sheet(m, c) for m, c in (("m-2", "c-2"), ("m-3", "c-1"))),
    )
    assert await queued("stage_closable") == []  # m-3's sheet of c-2 is awaited
    # m-3 declares the conflict once the others' sheets are in: that was the last one awaited
    await feed(
        rt,
        upstream,
        "scoring",
        MemberRecused(commission_id="k-11", member_id="m-3", candidate_id="c-2", reason="cousin"),
    )

    # every sheet a member may give is in (m-3 gives none for c-2): the secretary is told
    [closable] = await queued("stage_closable")
    assert closable["params"] == {"commission_id": "k-11", "stage": "stage1_selection"}
    clock.set(edition.calendar.stage_one_deadline - timedelta(hours=47))
    assert await service_of(rt.ctx).remind_due() == []  # m-3 is not reminded of c-2
    assert await queued("deadline_reminder") == []


async def test_the_republics_secretary_is_told_once_the_admitted_finalists_are_assessed(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    """The republic's deployment learns its finalists from the federation (FinalistAdmitted),
    not from a FinalistSelected of its own: they are the ones stage II awaits."""
    rt, clock, upstream = runtime
    edition = default_edition_2020(EDITION)
    await feed(rt, upstream, "nominations", EditionAnnounced(**edition.model_dump()))
    chair = Person(person_id="m-1", name="Chair", position="deputy_akim")

    def admitted(cid: str, region: str) -> FinalistAdmitted:
        return FinalistAdmitted(
            edition_id=EDITION,
            region=region,
            issuer="region-" + region,
            candidate_id=cid,
            name="Finalist " + cid,
            district=region[:4] + "00000",
            finalist={"candidate_id": cid, "region": region},
            finalist_schema_version=1,
            source_commission_id="k-" + region,
            source_sitting_id="st-" + region,
            protocol_digest="a" * 64,
            chain_position=7,
            chain_hash="b" * 64,
            published_at=datetime(2020, 8, 1, tzinfo=UTC),
        )

    def sheet(member: str, cid: str) -> ScoreRecorded:
        return ScoreRecorded(
            commission_id="k-rep",
            sheet_id=f"sh-{member}-{cid}",
            sitting_id="st-rep",
            member_id=member,
            candidate_id=cid,
            kind="stage2",
            scores={"a": 1},
            total=1,
        )

    await feed(
        rt,
        upstream,
        "scoring",
        CommissionFormed(
            commission_id="k-rep",
            edition_id=EDITION,
            level="republican",
            region=None,
            members=(chair, *(Person(person_id=m, name=m) for m in MEMBERS[1:])),
            chair_id="m-1",
            secretary=Person(person_id="s-9", name="Secretary", position="head_of_department"),
        ),
        admitted("f-1", "110000000"),
        admitted("f-2", "150000000"),
        SittingOpened(
            sitting_id="st-rep",
            commission_id="k-rep",
            stage="stage2",
            purpose="stage II defences",
            opened_at=datetime(2020, 9, 20, 10, tzinfo=UTC),
        ),
        *(sheet(m, "f-1") for m in MEMBERS),
        *(sheet(m, "f-2") for m in MEMBERS[:2]),
    )

    async def told() -> list[dict]:
        return [
            e.payload
            for e in await rt.store.read_all(limit=1000)
            if e.event_type == "NotificationQueued" and e.payload["template"] == "stage_closable"
        ]

    assert await told() == []  # m-3 has not assessed f-2
    clock.set(edition.calendar.defences_deadline - timedelta(hours=47))
    assert len(await service_of(rt.ctx).remind_due()) == 1
    [reminder] = [
        e.payload
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued" and e.payload["template"] == "deadline_reminder"
    ]
    assert (reminder["recipient"], reminder["params"]["missing"]) == ("person:m-3", 1)  # f-2
    await feed(rt, upstream, "scoring", sheet("m-3", "f-2"))
    [secretary] = await told()
    assert secretary["recipient"] == "person:s-9"
    assert secretary["params"] == {"commission_id": "k-rep", "stage": "stage2"}
    # the winners are the regions' to tell: the republic has no one behind them to write to
    await feed(
        rt,
        upstream,
        "scoring",
        WinnersDecided(
            commission_id="k-rep",
            sitting_id="st-rep",
            winners=tuple(
                Winner(candidate_id=c, place=n, mean="90.0", sum=270, sheets=3)
                for n, c in ((1, "f-2"), (2, "f-1"))
            ),
            by_casting_vote=False,
        ),
    )
    assert not [
        e
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued" and e.payload["template"] == "winner"
    ]


async def test_a_region_tells_its_own_winner_of_the_republics_decision_once(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    """Federated: the republic's WinnersAnnounced, mirrored into a region's cluster, tells the
    nominator and the candidate this region has the application of; not another region's."""
    from services.reporting.events import Winner as Announced
    from services.reporting.events import WinnersAnnounced

    rt, _, upstream = runtime
    await feed(rt, upstream, "nominations", _submitted(C1))
    announced = WinnersAnnounced(
        commission_id="k-rep",
        winners=(
            Announced(
                place=1, candidate_id="c-other", name="B", region="470000000", mean="91.0", sum=819
            ),
            Announced(place=2, candidate_id=C1, name="A", region="110000000", mean="88.5", sum=797),
        ),
        by_casting_vote=False,
    )
    [stored] = await upstream.append("winners-k-rep", None, [announced], SYSTEM)
    mirrored = Envelope.model_validate({**stored.model_dump(), "service": "reporting@republic"})
    consumer = republic_consumer(rt.ctx, "republic")
    await consumer.handle_batch([mirrored])
    await consumer.handle_batch([mirrored])  # MirrorMaker 2 carried it twice

    told = [
        e.payload
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued" and e.payload["template"] == "winner"
    ]
    assert sorted(t["recipient"] for t in told) == [f"candidate:{C1}", "user:system"]
    assert all(t["params"]["place"] == 2 for t in told)


async def test_the_winners_are_told_the_time_and_place_of_the_award_the_organiser_records(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    rt, _, upstream = runtime
    await feed(
        rt,
        upstream,
        "scoring",
        WinnersDecided(
            commission_id="k-rep",
            sitting_id="st-9",
            winners=tuple(
                Winner(candidate_id=f"c-{n}", place=n, mean="90.0", sum=810, sheets=9)
                for n in (1, 2, 3)
            ),
            by_casting_vote=False,
        ),
    )
    body = {
        "commission_id": "k-rep",
        "at": "2020-10-15T11:00:00+06:00",
        "place_kk": "Астана, Тәуелсіздік сарайы",
        "place_ru": "Астана, Дворец Независимости",
        "diploma": True,
        "gift": "ценный подарок",
    }
    transport = httpx.ASGITransport(app=rt.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifications") as client:
        organiser = {
            "Authorization": "Bearer " + issue_dev_token(rt.settings, "org-1", ["organiser"])
        }
        secretary = {
            "Authorization": "Bearer "
            + issue_dev_token(rt.settings, "s-1", ["secretary"], region="110000000")
        }
        refused = await client.post("/v1/ceremonies", json=body, headers=secretary)
        assert refused.status_code == 403 and refused.json()["code"] == "role_not_allowed"
        r = await client.post("/v1/ceremonies", json=body, headers=organiser)
        assert r.status_code == 201, r.text
    events = await rt.store.read_all(limit=1000)
    [recorded] = [e.payload for e in events if e.event_type == "AwardCeremonyRecorded"]
    assert recorded["place_ru"] == "Астана, Дворец Независимости" and recorded["diploma"] is True
    told = [
        e.payload
        for e in events
        if e.event_type == "NotificationQueued" and e.payload["template"] == "award_ceremony"
    ]
    assert {t["recipient"] for t in told} == {"candidate:c-1", "candidate:c-2", "candidate:c-3"}
    message = render(catalogue(), "award_ceremony", "ru", told[0]["params"])
    assert "Астана, Дворец Независимости" in message.body and "ценный подарок" in message.body
    assert "2020-10-15T11:00:00+06:00" in message.body
    kk = render(catalogue(), "award_ceremony", "kk", told[0]["params"])
    assert "Тәуелсіздік сарайы" in kk.body


async def test_nominator_and_candidate_are_told_nominated_or_not_finalist_and_winner(
    runtime: tuple[ServiceRuntime, Clock, EventStore],
) -> None:
    rt, _, upstream = runtime
    edition = default_edition_2020(EDITION)
    nominator = Actor(id="nominator-11", role="nominator", region="110000000")
    submitted = [
        (await upstream.append(f"application-{cid}", None, [_submitted(cid)], nominator))[0]
        for cid in (C1, C2)
    ]
    await consumers.nominations(rt.ctx).handle_batch(
        [Envelope.model_validate({**e.model_dump(), "service": "nominations"}) for e in submitted]
    )
    chair = Person(person_id="m-1", name="Chair", position="deputy_akim")
    points = Decimal("41.5")
    await feed(
        rt,
        upstream,
        "scoring",
        CommissionFormed(
            commission_id="k-11",
            edition_id=EDITION,
            level="regional",
            region="110000000",
            members=(chair,),
            chair_id="m-1",
            secretary=Person(person_id="s-1", name="Secretary", position="head_of_department"),
        ),
        candidate_registered(C1, application_id=C1, edition_id=EDITION),
        candidate_registered(C2, application_id=C2, edition_id=EDITION),
        CandidateNominated(
            commission_id="k-11",
            sitting_id="st-1",
            candidate_id=C1,
            district="111000000",
            points=points,
            rank=1,
            basis="points",
        ),
        StageClosed(
            commission_id="k-11",
            stage="stage1_selection",
            closed_at=edition.calendar.stage_one_deadline,
        ),
        FinalistSelected(
            commission_id="k-11",
            sitting_id="st-2",
            edition_id=EDITION,
            region="110000000",
            candidate_id=C1,
            regional_total=points,
            components=(),
            rank=1,
            top=(C1,),
        ),
        WinnersDecided(
            commission_id="k-rep",
            sitting_id="st-9",
            winners=(Winner(candidate_id=C1, place=2, mean=points, sum=373, sheets=9),),
            by_casting_vote=False,
        ),
    )
    await feed(  # stage I reopened and closed again: nobody is told twice
        rt,
        upstream,
        "scoring",
        StageReopened(
            commission_id="k-11",
            stage="stage1_selection",
            reason="a sheet to correct",
            reopened_at=edition.calendar.stage_one_deadline,
        ),
        StageClosed(
            commission_id="k-11",
            stage="stage1_selection",
            closed_at=edition.calendar.stage_one_deadline,
        ),
    )
    queued = [
        e for e in await rt.store.read_all(limit=1000) if e.event_type == "NotificationQueued"
    ]
    assert len([e for e in queued if e.payload["template"] == "not_nominated"]) == 2
    told = {
        (e.payload["recipient"], e.payload["template"], e.payload["params"]["application_id"])
        for e in await rt.store.read_all(limit=1000)
        if e.event_type == "NotificationQueued"
    }
    for recipient in ("user:nominator-11", f"candidate:{C1}"):
        for template in ("nominated", "finalist", "winner"):
            assert (recipient, template, C1) in told
        assert (recipient, "not_nominated", C1) not in told
        assert (recipient.replace(C1, C2), "not_nominated", C2) in told
    assert not [t for t in told if t[2] == C2 and t[1] != "not_nominated"]
