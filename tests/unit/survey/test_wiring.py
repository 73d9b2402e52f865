"""The survey service's wiring that needs no server: deployment settings, the resident's
address behind a proxy, the roll's forms, the consumer of nominations, the deadline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from services.scoring.events import CandidateNominated, CandidateRegistered
from services.survey import handlers
from services.survey.adapters.readmodels import get_survey
from services.survey.config import SurveyConfig
from services.survey.domain.abuse import BURST_FROM_SOURCE, BurstDetector
from services.survey.domain.iin import make_iin, resident_key
from services.survey.domain.roll import roll_keys
from services.survey.domain.rubric import BurstRule, SurveyRules
from services.survey.domain.survey import NoteCandidate
from services.survey.service import close_due
from shared.events import SYSTEM, Actor, Event
from shared.handlers import Cause
from shared.migrations import upgrade
from shared.settings import Settings
from shared.store.eventstore import EventStore, open_store
from tests.builders import candidate_registered
from tests.unit.survey.builders import CLOSES, DURING, PEPPER, open_cmd

RULES = SurveyRules.edition_2020()


def test_limits_can_be_raised_per_deployment_and_the_rest_is_edition_data() -> None:
    raised = {"per_survey": {"capacity": 99, "refill_per_minute": 60}}
    config = SurveyConfig.from_settings(Settings(survey_limits=json.dumps(raised)))
    assert config.rules.per_survey.capacity == 99
    assert config.rules.per_ip == RULES.per_ip and config.rules.rubric == RULES.rubric
    with pytest.raises(ValueError, match="unknown"):
        SurveyConfig.from_settings(Settings(survey_limits='{"rubric": {}}'))


def test_the_source_is_the_peer_unless_the_peer_is_a_trusted_proxy() -> None:
    plain = SurveyConfig.from_settings(Settings(survey_trusted_proxies=""))
    assert plain.source_of("203.0.113.9", "10.0.0.1") == "203.0.113.9"  # not trusted: ignored
    proxied = SurveyConfig.from_settings(
        Settings(survey_trusted_proxies="127.0.0.1/32, 10.1.0.0/16")
    )
    assert proxied.source_of("127.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert proxied.source_of("127.0.0.1", "198.51.100.7, 10.1.2.3") == "198.51.100.7"
    assert proxied.source_of("127.0.0.1", None) == "127.0.0.1"
    assert proxied.source_of("192.0.2.1", "198.51.100.7") == "192.0.2.1"


def test_a_roll_takes_iins_or_keys_already_computed() -> None:
    key = resident_key(make_iin(2), PEPPER)
    assert roll_keys([make_iin(1), key], PEPPER) == {resident_key(make_iin(1), PEPPER), key}


def test_forgotten_sends_still_count_but_are_never_flagged_after_the_fact() -> None:
    detector = BurstDetector(BurstRule(window_seconds=60, max_per_source=2, max_identical=99))
    ids = [uuid4() for _ in range(3)]
    for n, rid in enumerate(ids[:2]):
        detector.observe(survey_id="s", source="ip", response_id=rid, answers=[n], now=1.0)
    detector.forget([ids[0]], now=1.0)
    verdict = detector.observe(survey_id="s", source="ip", response_id=ids[2], answers=[9], now=2)
    assert verdict.reasons == (BURST_FROM_SOURCE,)
    assert [rid for rid, _ in verdict.earlier] == [ids[1]]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    store = open_store("survey", f"sqlite+aiosqlite:///{tmp_path / 'survey.db'}")
    await upgrade(store.engine)
    yield store
    await store.close()


async def consume(store: EventStore, events: Sequence[Event], now: datetime) -> list[str]:
    """Feed scoring's events to the consumer's handler (as Kafka or a tailer would)."""
    scratch = open_store("scoring", "sqlite+aiosqlite:///:memory:")
    await upgrade(scratch.engine)
    opened: list[str] = []
    for event in events:
        async with scratch.transaction() as uow:
            [envelope] = await uow.append(
                "commission-1",
                None,
                [event],
                Actor(id="s", role="secretary"),
                "c",
                occurred_at=now,
            )
        p = envelope.payload
        facts = (
            {
                "edition_id": p["edition_id"],
                "rural_district": p["rural_district"],
                "region": p["region"],
            }
            if envelope.event_type == "CandidateRegistered"
            else {"nominated_at": envelope.metadata.occurred_at.isoformat()}
        )
        async with store.transaction() as uow:
            command = NoteCandidate(candidate_id=p["candidate_id"], facts=facts)
            cause = Cause.of_event(envelope, SYSTEM, at=now)
            done = await handlers.note_candidate(uow, command, cause, rules=RULES)
        opened += [e.event_type for e in done]
    await scratch.close()
    return opened


def registration(candidate: str) -> CandidateRegistered:
    return candidate_registered(candidate)


def nomination(candidate: str) -> CandidateNominated:
    return CandidateNominated(
        commission_id="commission-1",
        sitting_id="sitting-1",
        candidate_id=candidate,
        district="111000000",
        points="80.0",
        rank=1,
        basis="points",
    )


@pytest.mark.parametrize("nominated_first", [True, False])
async def test_a_nomination_opens_one_survey_whatever_the_order_and_redelivery(
    store: EventStore, nominated_first: bool
) -> None:
    now = datetime(2020, 7, 1, 5, tzinfo=UTC)
    pair: list[Event] = [nomination("c-7"), registration("c-7")]
    if not nominated_first:
        pair.reverse()
    opened = await consume(store, [*pair, nomination("c-7")], now)
    assert opened == ["SurveyOpened"]
    async with store.transaction() as uow:
        doc = await get_survey(uow, handlers.survey_id_for("c-7"))
    assert doc is not None
    assert doc.opened.candidate_id == "c-7" and doc.opened.settlement_kato == "111033000"
    assert doc.opened.closes_at - doc.opened.opens_at == timedelta(days=RULES.open_days)


async def test_close_due_closes_at_the_deadline_of_business_time(store: EventStore) -> None:
    async with store.transaction() as uow:
        await handlers.open_survey(uow, open_cmd(), Cause(SYSTEM, "t", DURING), rules=RULES)
    assert await close_due(store, CLOSES - timedelta(seconds=1)) == []
    [closed] = await close_due(store, CLOSES + timedelta(hours=1))
    assert closed.reason == "deadline" and closed.closed_at == CLOSES
    assert closed.candidate_id == str(open_cmd().candidate_id)
    assert closed.result.responses == 0 and closed.result.mean_total is None
    assert await close_due(store, CLOSES + timedelta(days=1)) == []


def test_the_fast_route_serves_exactly_the_documented_responses_path() -> None:
    """The residents' responses are answered by a pure-ASGI route ahead of FastAPI; its FastAPI
    twin documents it. The two must name the same path, or the lane would silently be skipped."""
    from services.survey.bootstrap import SPEC
    from services.survey.entrypoints.http import RESPONSES_PATH
    from shared.runtime import ServiceRuntime
    from shared.settings import Settings

    runtime = ServiceRuntime(SPEC, Settings(), url="sqlite+aiosqlite:///:memory:")
    documented = [p for p in runtime.app.openapi()["paths"] if p.endswith("/responses")]
    assert documented == ["/v1/surveys/{survey_id}/responses"]
    survey_id = str(uuid4())
    assert RESPONSES_PATH.fullmatch(documented[0].replace("{survey_id}", survey_id))
    assert [(r.method, r.path) for r in SPEC.fast_routes(runtime.ctx)] == [("POST", RESPONSES_PATH)]
    assert not RESPONSES_PATH.fullmatch(f"/v1/surveys/{survey_id}/responses/x")
