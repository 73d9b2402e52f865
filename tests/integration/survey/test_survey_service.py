"""The survey service as deployed: ``uzdik serve survey`` on real PostgreSQL and Kafka, driven
over HTTP. The last test greps the whole store, topic and log for every IIN used here."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.scoring.events import CandidateNominated, SurveyResultReceived
from services.survey.domain.iin import make_iin, resident_key
from services.survey.handlers import survey_id_for
from shared.http import fingerprint
from shared.relay import topic_for
from shared.store.eventstore import open_store
from tests.builders import candidate_registered
from tests.integration.survey.service import (
    PEPPER,
    SurveyProcess,
    create_database,
    drop_database,
    dump_database,
    form_answers,
    publish_events,
    raw_topic,
    read_topic,
    republish,
)

pytestmark = pytest.mark.integration

REGION = "110000000"
RURAL = "111033000"
USED: list[str] = []  # every raw IIN sent in this module (the last test greps for them)


def iin(n: int) -> str:
    value = make_iin(500_000 + n)
    USED.append(value)
    return value


@pytest.fixture(scope="module")
async def service(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SurveyProcess]:
    url = await create_database(pg_admin_url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    log = tmp_path_factory.mktemp("survey") / "service.log"
    process = SurveyProcess(url, kafka_bootstrap, prefix, log)
    try:
        await process.start()
        yield process
    finally:
        process.stop()
        await drop_database(pg_admin_url, url)


@pytest.fixture
async def client(service: SurveyProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=20.0) as c:
        yield c


async def open_survey(
    client: httpx.AsyncClient, service: SurveyProcess, closes_in: timedelta = timedelta(days=7)
) -> str:
    now = datetime.now(UTC)
    survey_id = str(uuid.uuid4())
    body = {
        "survey_id": survey_id,
        "edition_id": str(uuid.uuid4()),
        "candidate_id": str(uuid.uuid4()),
        "settlement_kato": RURAL,
        "region_kato": REGION,
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + closes_in).isoformat(),
    }
    r = await client.post("/v1/surveys", json=body, headers=service.token("org", ["organiser"]))
    assert r.status_code == 201, r.text
    return survey_id


def source(n: int) -> dict[str, str]:
    """A resident's own address (the service trusts the test as its proxy)."""
    return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


async def answer(
    client: httpx.AsyncClient, survey_id: str, iin_: str, answers: list[int], n: int = 1
) -> httpx.Response:
    return await client.post(
        f"/v1/surveys/{survey_id}/responses",
        json={"iin": iin_, "answers": answers},
        headers=source(n),
    )


async def test_a_valid_iin_is_accepted_and_a_wrong_checksum_is_refused(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    ok = await answer(client, survey_id, iin(1), [7] * 16, n=1)
    assert ok.status_code == 201, ok.text
    assert set(ok.json()) == {"id", "survey_id", "event_ids"}
    for n, bad in enumerate(["860101300127", "850303400012", "8601013001", "86010130012a"]):
        USED.append(bad)
        r = await answer(client, survey_id, bad, [7] * 16, n=100 + n)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "invalid_iin"
        assert r.json()["errors"][0]["field"] == "iin"
        assert bad not in r.text
    USED.append("850303400013")  # the check digit from the second pass of the weights
    assert (await answer(client, survey_id, "850303400013", [7] * 16, n=9)).status_code == 201


async def test_a_second_response_is_refused_and_reveals_nothing_of_the_first(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    resident = iin(2)
    first = await answer(client, survey_id, resident, [3] * 16, n=2)
    assert first.status_code == 201
    again = await answer(client, survey_id, resident, [9] * 16, n=3)
    assert again.status_code == 409
    problem = again.json()
    assert problem["code"] == "already_answered"
    assert set(problem) == {"type", "title", "status", "code", "detail"}
    for secret in (first.json()["id"], first.json()["event_ids"][0], "3", resident):
        assert secret not in problem["detail"]

    # the same request again with its Idempotency-Key: the first answer, nothing appended
    key = {"Idempotency-Key": str(uuid.uuid4()), **source(4)}
    body = {"iin": iin(3), "answers": [5] * 16}
    once = await client.post(f"/v1/surveys/{survey_id}/responses", json=body, headers=key)
    twice = await client.post(f"/v1/surveys/{survey_id}/responses", json=body, headers=key)
    assert (once.status_code, twice.status_code) == (201, 201)
    assert twice.json() == once.json() and twice.headers["idempotent-replayed"] == "true"
    results = await client.get(
        f"/v1/surveys/{survey_id}/results", headers=service.token("org", ["organiser"])
    )
    assert results.json()["result"]["responses"] == 2


async def test_answers_out_of_range_are_refused_naming_each_criterion(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    answers = [5] * 16
    answers[4], answers[9] = 11, -1
    r = await answer(client, survey_id, iin(4), answers, n=5)
    assert r.status_code == 422
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {"answers[4]", "answers[9]"}
    assert errors["answers[4]"]["code"] == "answer_out_of_range"
    assert "criterion 5" in errors["answers[4]"]["detail"]
    assert "criterion 10" in errors["answers[9]"]["detail"]
    short = await answer(client, survey_id, iin(5), [5] * 15, n=6)
    assert short.status_code == 422 and short.json()["code"] == "wrong_answer_count"


async def test_a_closed_survey_refuses_and_its_result_is_final(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    organiser = service.token("org", ["organiser"])
    assert (await answer(client, survey_id, iin(6), [10] * 16, n=7)).status_code == 201
    assert (await answer(client, survey_id, iin(7), [6] * 16, n=8)).status_code == 201
    resident = service.token("someone", ["member"], region=REGION)
    assert (
        await client.post(f"/v1/surveys/{survey_id}/closure", headers=resident)
    ).status_code == 403
    closed = await client.post(f"/v1/surveys/{survey_id}/closure", headers=organiser)
    assert closed.status_code == 201, closed.text
    result = closed.json()["result"]
    assert result["responses"] == 2 and result["mean_total"] == "128.0000"
    assert result["means"] == ["8.0000"] * 16
    late = await answer(client, survey_id, iin(8), [5] * 16, n=9)
    assert late.status_code == 409 and late.json()["code"] == "survey_closed"
    final = await client.get(f"/v1/surveys/{survey_id}/results", headers=organiser)
    assert final.json()["final"] is True and final.json()["result"] == result


async def test_a_survey_closes_by_itself_at_its_deadline(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service, closes_in=timedelta(seconds=2))
    assert (await answer(client, survey_id, iin(9), [4] * 16, n=10)).status_code == 201
    organiser = service.token("org", ["organiser"])
    for _ in range(100):
        r = await client.get(f"/v1/surveys/{survey_id}/results", headers=organiser)
        if r.json()["final"]:
            break
        await asyncio.sleep(0.1)
    assert r.json()["final"] is True and r.json()["result"]["responses"] == 1
    late = await answer(client, survey_id, iin(10), [4] * 16, n=11)
    assert late.status_code == 409 and late.json()["code"] == "survey_closed"


def paper(rows: list[str]) -> bytes:
    header = "iin;" + ";".join(f"a{i}" for i in range(1, 17))
    return ("\ufeff" + "\n".join([header, *rows]) + "\n").encode()


async def test_a_paper_import_reports_each_line_and_never_half_imports(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    operator = service.token("op", ["operator"], region=REGION)
    online = iin(11)
    assert (await answer(client, survey_id, online, [2] * 16, n=12)).status_code == 201
    good = [iin(12), iin(13)]
    bad_checksum = "860101300127"
    USED.append(bad_checksum)
    rows = [
        good[0] + ";" + ";".join(["8"] * 16),
        bad_checksum + ";" + ";".join(["8"] * 16),
        good[1] + ";" + ";".join(["8"] * 15 + ["12"]),
        online + ";" + ";".join(["8"] * 16),
        good[0] + ";" + ";".join(["1"] * 16),
    ]
    url = f"/v1/surveys/{survey_id}/paper-imports"
    headers = {**operator, "Content-Type": "text/csv"}
    refused = await client.post(url, content=paper(rows), headers=headers)
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "import_refused"
    assert (problem["accepted"], problem["refused"]) == (1, 4)
    report = {line["line"]: line for line in problem["lines"]}
    assert report[2]["status"] == "accepted"
    assert [e["code"] for e in report[3]["errors"]] == ["invalid_iin"]
    assert [e["code"] for e in report[4]["errors"]] == ["answer_out_of_range"]
    assert "criterion 16" in report[4]["errors"][0]["detail"]
    assert [e["code"] for e in report[5]["errors"]] == ["already_answered"]
    assert [e["code"] for e in report[6]["errors"]] == ["duplicate_in_file"]
    for value in (bad_checksum, *good, online):
        assert value not in refused.text
    organiser = service.token("org", ["organiser"])
    before = await client.get(f"/v1/surveys/{survey_id}/results", headers=organiser)
    assert before.json()["result"]["responses"] == 1  # nothing of the file was imported

    not_operator = await client.post(
        url, content=paper(rows[:1]), headers={**organiser, "Content-Type": "text/csv"}
    )
    assert not_operator.status_code == 403
    fixed = [rows[0], good[1] + ";" + ";".join(["8"] * 16)]
    done = await client.post(url, content=paper(fixed), headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["accepted"] == 2 and len(done.json()["event_ids"]) == 2
    assert [line["status"] for line in done.json()["lines"]] == ["accepted", "accepted"]
    after = await client.get(f"/v1/surveys/{survey_id}/results", headers=organiser)
    assert after.json()["result"]["responses"] == 3
    again = await answer(client, survey_id, good[0], [5] * 16, n=13)
    assert again.status_code == 409  # a paper answer counts as the resident's one answer


async def test_a_roll_restricts_who_may_answer(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    organiser = service.token("org", ["organiser"], region=REGION)
    allowed, precomputed = iin(14), iin(15)
    roll = [allowed, resident_key(precomputed, PEPPER.encode())]
    r = await client.put(
        f"/v1/surveys/{survey_id}/roll", json={"residents": roll}, headers=organiser
    )
    assert r.status_code == 200, r.text
    assert (await answer(client, survey_id, allowed, [5] * 16, n=14)).status_code == 201
    assert (await answer(client, survey_id, precomputed, [5] * 16, n=15)).status_code == 201
    stranger = await answer(client, survey_id, iin(16), [5] * 16, n=16)
    assert stranger.status_code == 403 and stranger.json()["code"] == "not_on_roll"


async def test_rate_limits_answer_429_with_retry_after_and_bursts_are_flagged(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    survey_id = await open_survey(client, service)
    statuses = [
        (await answer(client, survey_id, iin(100 + k), [k % 11] * 16, n=777)).status_code
        for k in range(22)
    ]
    assert statuses[:20] == [201] * 20  # the per-IP bucket of the edition: 20 at once
    limited = await answer(client, survey_id, iin(130), [1] * 16, n=777)
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    organiser = service.token("org", ["organiser"])
    flags = await client.get(f"/v1/surveys/{survey_id}/flags", headers=organiser)
    assert flags.status_code == 200
    body = flags.json()
    assert body["flagged"] == 20 and len(body["items"]) == 20  # flagged, not dropped
    assert {tuple(item["reasons"]) for item in body["items"]} == {("burst_from_source",)}
    results = await client.get(f"/v1/surveys/{survey_id}/results", headers=organiser)
    assert results.json()["result"]["responses"] == 20
    assert results.json()["result"]["flagged"] == 20


async def test_a_nomination_opens_the_survey_and_its_result_reaches_the_topic(
    client: httpx.AsyncClient, service: SurveyProcess, tmp_path: Path
) -> None:
    candidate, edition = str(uuid.uuid4()), str(uuid.uuid4())
    commission = f"commission-{uuid.uuid4().hex[:6]}"
    registered = candidate_registered(
        candidate,
        application_id=str(uuid.uuid4()),
        edition_id=edition,
        rural_district=RURAL,
        region=REGION,
    )
    nominated = CandidateNominated(
        commission_id=commission,
        sitting_id="sitting-1",
        candidate_id=candidate,
        district="111000000",
        points="80.5",
        rank=1,
        basis="points",
    )
    stream = f"commission-{commission}"
    now = datetime.now(UTC)
    # the nomination first: the survey waits for the registration (which says where)
    first = await publish_events(
        service.bootstrap, service.prefix, "scoring", [(stream, nominated)], tmp_path, now
    )
    await publish_events(
        service.bootstrap, service.prefix, "scoring", [(stream, registered)], tmp_path, now
    )
    survey_id = str(survey_id_for(candidate))
    for _ in range(300):
        opened = await client.get(f"/v1/surveys/{survey_id}")
        if opened.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert opened.status_code == 200, opened.text
    view = opened.json()
    assert (view["candidate_id"], view["edition_id"], view["settlement_kato"]) == (
        candidate,
        edition,
        RURAL,
    )
    assert datetime.fromisoformat(view["closes_at"]) - datetime.fromisoformat(
        view["opens_at"]
    ) == timedelta(days=14)
    # the same nomination delivered again, and a second nomination of the candidate: nothing
    await republish(service.bootstrap, service.prefix, "scoring", first)
    await publish_events(
        service.bootstrap, service.prefix, "scoring", [(stream, nominated)], tmp_path, now
    )
    assert (await answer(client, survey_id, iin(17), [6] * 16, n=17)).status_code == 201
    assert (await answer(client, survey_id, iin(18), [9] * 16, n=18)).status_code == 201
    closed = await client.post(
        f"/v1/surveys/{survey_id}/closure", headers=service.token("org", ["organiser"])
    )
    assert closed.status_code == 201, closed.text

    def done(events: list[Any]) -> bool:
        return any(
            e.event_type == "SurveyClosed" and e.stream_id == f"survey-{survey_id}" for e in events
        )

    events = await read_topic(service.bootstrap, service.topic, until=done)
    mine = [e for e in events if e.stream_id == f"survey-{survey_id}"]
    assert [e.event_type for e in mine] == [
        "SurveyOpened",
        "ResponseRecorded",
        "ResponseRecorded",
        "SurveyClosed",
    ]
    assert [e.stream_version for e in mine] == [1, 2, 3, 4]
    assert mine[0].metadata.causation_id is not None  # caused by the consumed nomination
    closed_payload = mine[-1].payload
    # what scoring needs to record the result (its SurveyResultReceived) is all in the event
    result = SurveyResultReceived(
        candidate_id=closed_payload["candidate_id"],
        survey_id=closed_payload["survey_id"],
        rubric_id=closed_payload["rubric_id"],
        responses=closed_payload["result"]["responses"],
        mean_per_criterion=closed_payload["result"]["means"],
        mean_total=closed_payload["result"]["mean_total"],
    )
    assert result.candidate_id == candidate and result.responses == 2
    assert str(result.mean_total) == "120.0000"


async def test_two_replicas_answered_at_once_by_the_same_residents_record_each_once(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    """Each resident sends the same answers to two processes of the service at the same
    moment (two replicas behind one Service): one 201 and one 409 per resident, one event
    per resident, whichever replica's batch commits first."""
    replica = SurveyProcess(
        service.database_url, service.bootstrap, service.prefix, service.log_path
    )
    await replica.start()
    try:
        survey_id = await open_survey(client, service)
        residents = [iin(300 + n) for n in range(40)]
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=20.0) as other:
            answers = await asyncio.gather(
                *(
                    answer(c, survey_id, resident, [n % 11] * 16, n=1000 + 2 * n + k)
                    for n, resident in enumerate(residents)
                    for k, c in enumerate((client, other))
                )
            )
        pairs = [sorted(r.status_code for r in answers[i : i + 2]) for i in range(0, 80, 2)]
        assert pairs == [[201, 409]] * 40, [r.text for r in answers if r.status_code >= 500]
        refused = [r.json()["code"] for r in answers if r.status_code == 409]
        assert set(refused) == {"already_answered"}
        results = await client.get(
            f"/v1/surveys/{survey_id}/results", headers=service.token("org", ["organiser"])
        )
        assert results.json()["result"]["responses"] == 40
        store = open_store("survey", service.database_url)
        try:
            stream = await store.load(f"survey-{survey_id}")
        finally:
            await store.close()
        stored = [e.payload["resident"] for e in stream if e.event_type == "ResponseRecorded"]
        assert sorted(stored) == sorted(resident_key(r, PEPPER.encode()) for r in residents)

        def recorded(events: list[Any]) -> list[Any]:
            return [
                e
                for e in events
                if e.event_type == "ResponseRecorded" and e.stream_id == f"survey-{survey_id}"
            ]

        topic = await read_topic(
            service.bootstrap, service.topic, until=lambda events: len(recorded(events)) >= 40
        )
        assert sorted(e.payload["resident"] for e in recorded(topic)) == sorted(stored)
    finally:
        replica.stop()


async def test_the_relay_in_a_process_of_its_own_publishes_what_the_api_recorded(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """``uzdik serve survey --no-relay`` records; ``uzdik relay survey`` (no API, its own
    health and metrics) publishes; neither does the other's work."""
    url = await create_database(pg_admin_url)
    prefix = f"t{uuid.uuid4().hex[:10]}"
    api = SurveyProcess(
        url,
        kafka_bootstrap,
        prefix,
        tmp_path / "api.log",
        command=("serve", "survey", "--no-relay"),
    )
    relay = SurveyProcess(
        url, kafka_bootstrap, prefix, tmp_path / "relay.log", command=("relay", "survey")
    )
    try:
        await api.start()
        async with httpx.AsyncClient(base_url=api.base_url, timeout=20.0) as client:
            survey_id = await open_survey(client, api)
            resident = iin(400)
            assert (await answer(client, survey_id, resident, [4] * 16)).status_code == 201
            await asyncio.sleep(0.5)
            assert await raw_topic(kafka_bootstrap, api.topic, timeout=2.0) == []  # no relay yet
        await relay.start()  # ready: migrated, Kafka reachable
        async with httpx.AsyncClient(base_url=relay.base_url, timeout=5.0) as probe:
            assert (await probe.get("/healthz")).json()["service"] == "survey"
            assert (await probe.get(f"/v1/surveys/{survey_id}")).status_code == 404  # no API
            sent = await answer(probe, survey_id, iin(401), [4] * 16)
            assert sent.status_code == 404  # not even the fast route
            assert "uzdik_relay" in (await probe.get("/metrics")).text

        def recorded(events: list[Any]) -> bool:
            return any(e.event_type == "ResponseRecorded" for e in events)

        events = await read_topic(kafka_bootstrap, api.topic, until=recorded)
        assert [e.event_type for e in events] == ["SurveyOpened", "ResponseRecorded"]
        assert events[1].payload["resident"] == resident_key(resident, PEPPER.encode())
    finally:
        api.stop()
        relay.stop()
        await drop_database(pg_admin_url, url)


async def test_what_postgresql_or_the_page_failed_on_is_refused_at_the_edge(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    """Issue 13, items 4 and 5: each of these was a 500 on PostgreSQL (or accepted though
    wrong); each is now a problem with its code, before anything is stored."""
    now = datetime.now(UTC)
    organiser = service.token("org", ["organiser"])
    good = {
        "survey_id": str(uuid.uuid4()),
        "edition_id": str(uuid.uuid4()),
        "candidate_id": str(uuid.uuid4()),
        "settlement_kato": RURAL,
        "region_kato": REGION,
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }

    async def opened(**changes: str) -> httpx.Response:
        raw = json.dumps({**good, **changes}).encode()
        headers = {**organiser, "Content-Type": "application/json"}
        return await client.post("/v1/surveys", content=raw, headers=headers)

    nul = await opened(candidate_id="c-1\u0000")
    assert (nul.status_code, nul.json()["code"]) == (400, "invalid_text"), nul.text
    escaping = await opened(candidate_id="../../x")
    assert escaping.status_code == 400
    assert [e["code"] for e in escaping.json()["errors"]] == ["invalid_id"]
    unknown = await opened(settlement_kato="999999999")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_settlement")
    elsewhere = await opened(region_kato="190000000")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (422, "settlement_not_in_region")
    ages = await opened(opens_at="0001-01-01T00:00:00+05:00", closes_at="9999-12-31T23:59:00-05:00")
    assert (ages.status_code, ages.json()["code"]) == (422, "invalid_window")
    assert (await opened()).status_code == 201  # the same body, without the fault

    survey_id = good["survey_id"]
    flags = await client.get(f"/v1/surveys/{survey_id}/flags?after=%00", headers=organiser)
    assert (flags.status_code, flags.json()["code"]) == (400, "invalid_text")
    odd = await client.get(f"/v1/surveys/{survey_id}/flags?after=é", headers=organiser)
    assert odd.status_code == 200 and odd.json()["items"] == []
    page = await client.get(f"/surveys/{survey_id}?lang=%00")
    assert page.status_code == 400
    assert (await client.get(f"/surveys/{survey_id}?lang=ru")).status_code == 200


async def test_a_huge_body_without_a_token_is_refused_at_once_and_healthz_stays_responsive(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    """Issue 13, item 3: the body of a command is read only once its token is good, and never
    past the limit (UZDIK_MAX_BODY_BYTES, 1 MiB by default)."""

    async def megabytes(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b" " * (1 << 20)

    async def health() -> float:
        slowest = 0.0
        for _ in range(10):
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0.05)
        return slowest

    probes = asyncio.create_task(health())
    started = time.perf_counter()
    refused = await client.post(
        "/v1/surveys", content=megabytes(100), headers={"Content-Type": "application/json"}
    )
    assert refused.status_code == 401 and refused.json()["code"] == "token_missing"
    assert time.perf_counter() - started < 10.0  # (the client sends it all: loopback speed)
    assert await probes < 2.0  # the event loop never parsed it
    organiser = service.token("org", ["organiser"])
    for body in (megabytes(2), b" " * ((1 << 20) + 1)):
        big = await client.post(
            "/v1/surveys", content=body, headers={**organiser, "Content-Type": "application/json"}
        )
        assert big.status_code == 413 and big.json()["code"] == "body_too_large"
    assert (await client.get("/healthz")).status_code == 200


async def test_no_digest_of_a_body_or_an_iin_without_the_pepper_is_stored_or_logged(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    """A plain SHA-256 of a short body gives its IIN back by brute force: what idempotency
    records keep is the body's HMAC under the pepper (issue 13, item 1)."""
    pepper = PEPPER.encode()
    survey_id = await open_survey(client, service)
    api_iin, web_iin, roll_iins = iin(30), iin(31), [iin(32), iin(33)]
    body = json.dumps({"iin": api_iin, "answers": [6] * 16}).encode()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "plain-1", **source(30)}
    url = f"/v1/surveys/{survey_id}/responses"
    first = await client.post(url, content=body, headers=headers)
    again = await client.post(url, content=body, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    form = {"iin": web_iin, "lang": "kk", "idempotency_key": "web-1", **form_answers([5] * 16)}
    posted = await client.post(f"/surveys/{survey_id}", data=form, headers=source(31))
    assert posted.status_code == 201
    fields = sorted((k, v) for k, v in form.items() if k not in ("lang", "idempotency_key"))
    form_digest = hashlib.sha256(repr(fields).encode()).hexdigest()

    other = await open_survey(client, service)
    organiser = {**service.token("org", ["organiser"], REGION), "Idempotency-Key": "roll-1"}
    roll = json.dumps({"residents": roll_iins}).encode()
    put = await client.put(
        f"/v1/surveys/{other}/roll",
        content=roll,
        headers={**organiser, "Content-Type": "application/json"},
    )
    assert put.status_code == 200, put.text
    csv = paper([roll_iins[0] + ";" + ";".join(["4"] * 16)])
    operator = {**service.token("op", ["operator"], REGION), "Idempotency-Key": "paper-1"}
    imported = await client.post(
        f"/v1/surveys/{other}/paper-imports",
        content=csv,
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    assert "sha256" not in imported.json()
    assert imported.json()["fingerprint"] == fingerprint(pepper, csv)

    store, log = await dump_database(service.database_url), service.log()
    plain = {hashlib.sha256(b).hexdigest() for b in (body, roll, csv)} | {form_digest}
    plain |= {hashlib.sha256(i.encode()).hexdigest() for i in (api_iin, web_iin, *roll_iins)}
    for where, text in {"table": store, "log": log}.items():
        assert not [d for d in plain if d in text], f"a plain digest in the {where}"
    assert fingerprint(pepper, body) in store  # what is kept instead
    assert fingerprint(pepper, roll) in store


async def test_no_iin_is_in_any_table_event_topic_or_log_line(
    client: httpx.AsyncClient, service: SurveyProcess
) -> None:
    # every channel once more, including refusals, so this test stands on its own
    survey_id = await open_survey(client, service)
    web = iin(19)
    page = await client.get(f"/surveys/{survey_id}?lang=ru")
    assert page.status_code == 200
    form = {
        "iin": web,
        "lang": "ru",
        "idempotency_key": str(uuid.uuid4()),
        **form_answers([7] * 16),
    }
    assert (
        await client.post(f"/surveys/{survey_id}", data=form, headers=source(19))
    ).status_code == 201
    assert (
        await client.post(
            f"/surveys/{survey_id}", data={**form, "idempotency_key": "other"}, headers=source(19)
        )
    ).status_code == 409
    api = iin(20)
    assert (await answer(client, survey_id, api, [1] * 16, n=20)).status_code == 201
    assert (await answer(client, survey_id, api, [2] * 16, n=20)).status_code == 409
    assert (await answer(client, survey_id, iin(21), [99] * 16, n=21)).status_code == 422
    operator = service.token("op", ["operator"], REGION)
    rows = [iin(22) + "," + ",".join(["3"] * 16)]
    csv = (
        "iin," + ",".join(f"a{i}" for i in range(1, 17)) + "\n" + "\n".join(rows) + "\n"
    ).encode()
    imported = await client.post(
        f"/v1/surveys/{survey_id}/paper-imports",
        content=csv,
        headers={**operator, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text

    await asyncio.sleep(1.0)  # let the relay publish everything
    events = await read_topic(service.bootstrap, service.topic)
    assert events, "nothing on the topic"
    records = await raw_topic(service.bootstrap, service.topic)
    store = await dump_database(service.database_url)
    log = service.log()
    assert "ResponseRecorded" in store and len(log) > 0
    haystacks = {
        "table": store,
        "topic": b"\n".join(records).decode("utf-8", errors="replace"),
        "events": json.dumps([e.model_dump(mode="json") for e in events]),
        "log": log,
    }
    for where, text in haystacks.items():
        leaked = sorted({value for value in USED if value in text})
        assert not leaked, f"IIN(s) found in the {where}: {len(leaked)}"
    # the residents are there, as keys
    assert resident_key(web, PEPPER.encode()) in store
    assert topic_for("survey", service.prefix) == service.topic
