"""Exactly once through faults: residents' survey responses and commission members' sheets under
steady load while the survey and the scoring processes are SIGKILLed and started again and the
Kafka broker is stopped and started; clients retry with the same Idempotency-Key until answered.

So that every run walks the paths that matter, not just the lucky ones: each SIGKILL follows a
burst of requests (some are cut off around their commit); a few impatient clients stop reading
their answer after 1 ms (the work done, the answer lost: their retry must be answered by the
stored answer, and the test fails when no answer was ever replayed); and after the broker's
restart some messages of both topics are sent a second time, as a relay that dies between
Kafka's acknowledgement and its own mark does.

Afterwards every acknowledged (2xx) response and sheet must be, exactly once:

* **in the service's store** — one ``ResponseRecorded`` per resident of a survey (matched by the
  HMAC of the IIN), carrying the response id and event id the client was given; one
  ``ScoreRecorded`` per sheet id and per member, candidate and kind;
* **on the service's topic** (read from offset zero) — "exactly once" means: the set of distinct
  event ids on the topic is the set of the store's event ids (nothing lost, nothing that the
  store does not have, so no item under two event ids). Delivery is at-least-once, so one event
  id may sit on the topic in several messages (a relay killed between Kafka's acknowledgement and
  its own mark publishes the batch again); that is allowed because consumers dedupe by event id,
  which the next point proves;
* **in reporting's read models** — its consumer recorded every position of each source applied
  (one record per source, written with the effect: a redelivered event is known by its position),
  the audit trail has one row per event id, the per-survey response counter (a fold that a second
  application of an event would inflate) equals the responses in the store, and the sitting's
  protocol holds exactly the acknowledged sheets.

The broker is the test's own (``fault_tools.PrivateBroker``): the shared one is never touched.
Scoring needs admitted candidates, and the admission check runs only once the application window
has closed (§10), so the edition is announced with a window that closes a few seconds after the
announcement; the survey load runs meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import httpx

from demo.nominations import files as demo_files
from demo.scoring.api import PURPOSE, Board, candidates, rubric_keys
from services.registry import SERVICES
from services.survey.domain.iin import keyed, make_iin
from shared.auth import issue_dev_token
from shared.settings import Settings
from shared.territory import Level, load_territory
from tests.e2e.fault_load import Item, Load
from tests.e2e.fault_tools import (
    Fleet,
    PrivateBroker,
    Stored,
    TopicCopies,
    applied_of,
    eventually_true,
    fetch,
    read_topic,
    republish,
    stored_events,
)
from tests.e2e.test_processes import (
    UZDIK,
    Deployment,
    admin,
    current_edition,
    process_env,
    run_cli,
)
from tests.unit.nominations.builders import questionnaire

REGION = "190000000"  # Алматинская область
CANDIDATES = 8  # admitted akims the commission scores: 9 members x 8 = 72 sheets
MEMBERS = 9
SURVEYS = 2
WINDOW = 20.0  # seconds from the announcement to the close of the application window
LOAD_BUDGET = 200.0  # seconds from the start of the load until retrying stops
IMPATIENCE = 0.001  # seconds an impatient client waits for its answer (then it retries)
KILL_AFTER = 0.1  # seconds from a burst of requests to the SIGKILL: some are mid-commit
CATCH_UP = 90.0  # seconds for reporting to apply every stored event
REPUBLISHED = {"survey": 60, "scoring": 30}  # messages sent to the topics a second time
Json = dict[str, Any]


def bearer(
    sub: str, roles: list[str], region: str | None = None, commission: str | None = None
) -> dict[str, str]:
    token = issue_dev_token(Settings(), sub, roles, region=region, commission=commission)
    return {"Authorization": f"Bearer {token}"}


ORGANISER = bearer("organiser-1", ["organiser"])
AUDITOR = bearer("auditor-1", ["auditor"])


async def test_acknowledged_responses_and_sheets_are_exactly_once_through_kills_and_a_broker_restart(
    tmp_path: Path, pg_admin_url: str, topic_prefix: str
) -> None:
    assert UZDIK.exists(), f"{UZDIK} missing: run `make venv`"
    stem = f"uzdik_t_{uuid.uuid4().hex[:10]}"
    base = pg_admin_url.rpartition("/")[0]
    urls = {s: f"{base}/{stem}_{s}" for s in SERVICES}
    for service in SERVICES:
        await admin(pg_admin_url, f'CREATE DATABASE "{stem}_{service}"')
    broker = PrivateBroker(tmp_path / "kafka")
    env = process_env(f"{base}/{stem}_{{service}}", broker.bootstrap, topic_prefix, tmp_path)
    # residents come through a "proxy" (this test) that names each one's address
    env["UZDIK_SURVEY_TRUSTED_PROXIES"] = "127.0.0.1/32"
    fleet = Fleet(Deployment(env), tmp_path)
    clients: dict[str, httpx.AsyncClient] = {}
    try:
        await broker.start()
        for service in SERVICES:
            fleet.launch(service)
        clients = {
            s: httpx.AsyncClient(base_url=fleet.base(s), timeout=10.0, trust_env=False)
            for s in SERVICES
        }
        await fleet.ready(clients["reporting"])
        survey_load, sheet_load, sitting = await run_under_faults(
            clients, fleet, broker, topic_prefix
        )
        problems = everything_acknowledged(survey_load) + everything_acknowledged(sheet_load)
        assert not problems, "\n".join(problems)
        await caught_up(urls)
        problems = await check_survey(clients, broker, topic_prefix, urls, survey_load)
        problems += await check_scoring(clients, broker, topic_prefix, urls, sheet_load, sitting)
        problems += await check_reporting(urls)
        problems += await audit_verify(fleet.deployment.env)
        report = (
            f"restarts {dict(fleet.restarts)}, broker restarted once; "
            f"survey: {survey_load.summary()}; sheets: {sheet_load.summary()}"
        )
        print(report)
        assert not problems, "\n".join([report, *problems])
    finally:
        for client in clients.values():
            await client.aclose()
        await fleet.stop_all()
        await broker.stop(check=False)  # never hides why the test failed
        for service in SERVICES:
            await admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{stem}_{service}" WITH (FORCE)')


async def run_under_faults(
    clients: dict[str, httpx.AsyncClient], fleet: Fleet, broker: PrivateBroker, prefix: str
) -> tuple[Load, Load, str]:
    """Set up an edition, start both loads, inject the faults, let the loads finish."""
    edition_id = str(uuid.uuid4())
    closes_at = datetime.now(UTC) + timedelta(seconds=WINDOW)
    await call(
        clients["nominations"], "/v1/editions", announcement(edition_id, closes_at), ORGANISER
    )
    board = await form_commission(clients["scoring"], edition_id)
    surveys = [await open_survey(clients["survey"], edition_id) for _ in range(SURVEYS)]
    applications = await submit_applications(clients["nominations"], edition_id)
    assert datetime.now(UTC) < closes_at, "the applications took longer than the window"

    deadline = time.monotonic() + LOAD_BUDGET
    survey_load = Load(clients, responses(surveys), workers=3, interval=0.4, deadline=deadline)
    survey_load.start()
    sheet_load: Load | None = None
    try:
        await asyncio.sleep((closes_at - datetime.now(UTC)).total_seconds() + 0.5)
        await admit(clients["nominations"], applications)
        field = await registered(clients["scoring"], board)
        sitting = await open_sitting(clients["scoring"], board)
        keys = (await rubric_keys(clients["scoring"], bearer, board, ["project"]))["project"]
        items = list(sheets(board, sitting, field, keys))
        # the sheets spread over about a minute: the time the faults take
        sheet_load = Load(clients, iter(items), workers=2, interval=2 * 60.0 / len(items),
                          deadline=deadline)  # fmt: skip
        sheet_load.start()
        await faults(clients["reporting"], fleet, broker, prefix, survey_load, sheet_load)
        survey_load.stop()
        await asyncio.gather(survey_load.finished(), sheet_load.finished())
    except BaseException:
        for load in (survey_load, sheet_load):
            if load is not None:
                await load.cancel()
        raise
    return survey_load, sheet_load, sitting


async def faults(
    client: httpx.AsyncClient,
    fleet: Fleet,
    broker: PrivateBroker,
    prefix: str,
    survey_load: Load,
    sheet_load: Load,
) -> None:
    """Impatient clients that stop waiting for their answers; SIGKILL scoring, then survey, each
    just after a burst of requests (some are cut off mid-commit); stop and start the broker;
    send messages again on both topics."""
    await asyncio.sleep(2)
    sheet_load.burst(6, impatience=IMPATIENCE)
    survey_load.burst(20, impatience=IMPATIENCE)
    await asyncio.sleep(2)
    sheet_load.burst(8)
    await asyncio.sleep(KILL_AFTER)
    await fleet.sigkill_and_restart(client, "scoring", down_for=1.0)
    await asyncio.sleep(3)
    survey_load.burst(40)
    await asyncio.sleep(KILL_AFTER)
    await fleet.sigkill_and_restart(client, "survey", down_for=1.0)
    await asyncio.sleep(3)
    await broker.stop()
    await asyncio.sleep(3)  # commands keep being taken: the outbox holds their events
    await broker.start()
    await fleet.ready(client)
    # a relay that dies between Kafka's acknowledgement and its own mark sends a batch twice:
    # here deliberately, so that the consumers' dedupe is put to the test every run
    for service, count in REPUBLISHED.items():
        sent = await republish(broker.bootstrap, f"{prefix}.{service}.events", count)
        assert sent == count, f"only {sent} of {service}'s messages to send again"
    await asyncio.sleep(4)


# --- the edition the load runs in -------------------------------------------------------------


def announcement(edition_id: str, closes_at: datetime) -> Json:
    """The 2020 figures moved to today, the window closing at ``closes_at``, a file complete with
    its application form alone (the required documents are edition data)."""
    body = current_edition(edition_id)
    body["calendar"]["application_window_closes_at"] = closes_at.isoformat()
    body["rules"]["nominations"]["required_document_kinds"] = ["application_form"]
    return body


async def call(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> Json:
    r = await client.post(path, json=body, headers=headers)
    assert r.is_success, f"{path}: {r.status_code} {r.text}"
    answer: Json = r.json()
    return answer


async def form_commission(client: httpx.AsyncClient, edition_id: str) -> Board:
    people = [str(uuid.uuid4()) for _ in range(MEMBERS + 1)]
    board = Board(str(uuid.uuid4()), REGION, people[:MEMBERS], people[0], people[-1], keys={})
    body = {
        "commission_id": board.commission_id,
        "edition_id": edition_id,
        "level": "regional",
        "region": REGION,
        "members": [
            {"person_id": m, "name": f"Member {n}"}
            | ({"position": "head_of_regional_department"} if m == board.chair else {})
            for n, m in enumerate(board.members)
        ],
        "chair_id": board.chair,
        "secretary": {
            "person_id": board.secretary,
            "name": "Secretary",
            "position": "regional_department_employee",
        },
    }
    await call(client, "/v1/commissions", body, ORGANISER)
    return board


async def open_survey(client: httpx.AsyncClient, edition_id: str) -> str:
    survey_id, now = str(uuid.uuid4()), datetime.now(UTC)
    body = {
        "survey_id": survey_id,
        "edition_id": edition_id,
        "candidate_id": str(uuid.uuid4()),
        "settlement_kato": "193633000",
        "region_kato": REGION,
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "closes_at": (now + timedelta(days=14)).isoformat(),
    }
    await call(client, "/v1/surveys", body, ORGANISER)
    return survey_id


async def submit_applications(client: httpx.AsyncClient, edition_id: str) -> list[str]:
    territory = load_territory()
    units = sorted(
        (u for u in territory.of_level(Level.rural_district) if u.kato[:2] == REGION[:2]),
        key=lambda u: u.kato,
    )[:CANDIDATES]
    nominator = bearer(f"nominator-{REGION}", ["nominator"], REGION)
    ids = []
    for unit in units:
        application_id = str(uuid.uuid4())
        form = questionnaire(rural_district_kato=unit.kato, position=f"аким {unit.name_ru}")
        body = {
            "application_id": application_id,
            "edition_id": edition_id,
            "questionnaire": form.model_dump(mode="json"),
        }
        await call(client, "/v1/applications", body, nominator)
        r = await client.put(
            f"/v1/applications/{application_id}/documents/application_form",
            content=demo_files.pdf(),
            params={"filename": "application.pdf"},
            headers=nominator,
        )
        assert r.is_success, f"document of {application_id}: {r.status_code} {r.text}"
        ids.append(application_id)
    return ids


async def admit(client: httpx.AsyncClient, applications: list[str]) -> None:
    secretary = bearer(f"secretary-{REGION}", ["secretary"], REGION)
    for application_id in applications:
        path = f"/v1/applications/{application_id}"
        decision = await call(client, f"{path}/admission-check", None, secretary)
        assert decision["status"] == "admitted", decision
        await call(client, f"{path}/questionnaire-score/confirmation", None, secretary)


async def registered(client: httpx.AsyncClient, board: Board) -> list[str]:
    """The admitted akims, once scoring has registered them all with the commission."""
    found: list[Json] = []

    async def all_there() -> bool:
        nonlocal found
        found = await candidates(client, bearer, board)
        return len(found) == CANDIDATES

    async def what() -> str:
        return f"scoring registered {len(found)} of {CANDIDATES} admitted candidates"

    await eventually_true(all_there, what, timeout=60)
    return sorted(c["candidate_id"] for c in found)


async def open_sitting(client: httpx.AsyncClient, board: Board) -> str:
    secretary = board.as_secretary(bearer)
    stage = "stage1_selection"
    body = {"commission_id": board.commission_id, "stage": stage, "purpose": PURPOSE[stage]}
    sitting: str = (await call(client, "/v1/sittings", body, secretary))["id"]
    attendance = {"present": board.members}
    answer = await call(client, f"/v1/sittings/{sitting}/attendance", attendance, secretary)
    assert answer["quorate"], answer
    return sitting


# --- what the clients send --------------------------------------------------------------------


def responses(surveys: list[str]) -> Iterator[Item]:
    """Residents, each with a valid IIN of their own and an address of their own, in turn."""
    rng = Random(2020)
    for n in itertools.count():
        survey_id = surveys[n % len(surveys)]
        yield Item(
            name=f"response {n} (survey {survey_id})",
            service="survey",
            path=f"/v1/surveys/{survey_id}/responses",
            body={"iin": make_iin(n), "answers": [rng.randint(0, 10) for _ in range(16)]},
            headers={"X-Forwarded-For": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"},
            key=str(uuid.uuid4()),
        )


def sheets(board: Board, sitting: str, field: list[str], keys: list[str]) -> Iterator[Item]:
    """Every member's Annex 4 sheet for every candidate, each with a client-minted sheet id."""
    rng = Random(2020)
    for candidate in field:
        for member in board.members:
            sheet_id = str(uuid.uuid4())
            yield Item(
                name=f"sheet {sheet_id} (member {member}, candidate {candidate})",
                service="scoring",
                path=f"/v1/sittings/{sitting}/sheets",
                body={
                    "candidate_id": candidate,
                    "kind": "project",
                    "scores": {k: rng.randint(3, 10) for k in keys},
                    "sheet_id": sheet_id,
                },
                headers=board.as_member(bearer, member),
                key=str(uuid.uuid4()),
            )


# --- the checks -------------------------------------------------------------------------------


def everything_acknowledged(load: Load) -> list[str]:
    """After the faults every item must get its 2xx: a retry with the same key either does the
    work or answers what an earlier attempt did — which the impatient clients make sure of."""
    problems = [
        f"{i.name}: never acknowledged after {i.attempts} attempts "
        f"({i.refused or dict(i.failures)})"
        for i in load.items
        if not i.acknowledged
    ]
    if not any(i.replayed for i in load.items):
        problems.append(
            f"no answer was replayed, the lost-answer path went untested: {load.summary()}"
        )
    return problems


async def caught_up(urls: dict[str, str]) -> None:
    """Reporting has applied every event of the survey and the scoring stores."""
    missing: set[str] = set()

    async def done() -> bool:
        nonlocal missing
        missing = set()
        for source in ("survey", "scoring"):
            applied = await applied_of(urls["reporting"], "reporting", source)
            missing |= {
                e.event_id
                for e in await stored_events(urls[source])
                if not applied.has(e.global_position)
            }
        return not missing

    async def what() -> str:
        return (
            f"reporting has not applied {len(missing)} stored event(s), e.g. {sorted(missing)[:5]}"
        )

    await eventually_true(done, what, timeout=CATCH_UP)


def topic_problems(service: str, stored: list[Stored], topic: TopicCopies) -> list[str]:
    """The topic's distinct event ids are exactly the store's."""
    store_ids, topic_ids = {e.event_id for e in stored}, set(topic.events)
    problems = []
    if lost := store_ids - topic_ids:
        problems.append(
            f"{service}: {len(lost)} stored event(s) not on the topic: {sorted(lost)[:5]}"
        )
    if extra := topic_ids - store_ids:
        problems.append(f"{service}: {len(extra)} event id(s) on the topic but not in the store: "
                        f"{sorted(extra)[:5]}")  # fmt: skip
    return problems


def duplicates_problems(service: str, topic: TopicCopies) -> list[str]:
    """The messages sent twice on purpose are there twice: the read models were put to the test."""
    if topic.duplicated >= REPUBLISHED[service]:
        return []
    return [f"{service}: {topic.duplicated} duplicate message(s) on the topic, "
            f"{REPUBLISHED[service]} sent again"]  # fmt: skip


async def read_model(client: httpx.AsyncClient, model: str, key: str) -> Json:
    r = await client.get(f"/v1/read-models/{model}/{key}", headers=AUDITOR)
    assert r.status_code == 200, f"reporting {model}/{key}: {r.status_code} {r.text}"
    doc: Json = r.json()
    return doc


async def check_survey(
    clients: dict[str, httpx.AsyncClient],
    broker: PrivateBroker,
    prefix: str,
    urls: dict[str, str],
    load: Load,
) -> list[str]:
    pepper = Settings().survey_pepper.encode()
    stored = await stored_events(urls["survey"])
    recorded: defaultdict[tuple[str, str], list[Stored]] = defaultdict(list)
    for e in stored:
        if e.event_type == "ResponseRecorded":
            recorded[(e.payload["survey_id"], e.payload["resident"])].append(e)
    problems, sent, ids = [], set(), {e.event_id for e in stored}
    for item in load.acknowledged:
        assert item.answer is not None
        if lost := set(item.answer["event_ids"]) - ids:
            problems.append(f"{item.name}: acknowledged event(s) {sorted(lost)} not in the store")
        survey_id = item.path.split("/")[3]
        key = (survey_id, keyed(item.body["iin"], pepper))
        sent.add(key)
        found = recorded.get(key, [])
        if len(found) != 1:
            problems.append(f"{item.name}: {len(found)} ResponseRecorded in the store, want 1")
        elif found[0].payload["response_id"] != item.answer["id"]:
            problems.append(f"{item.name}: stored as {found[0].payload['response_id']}, "
                            f"acknowledged as {item.answer['id']}")  # fmt: skip
        elif found[0].event_id not in item.answer["event_ids"]:
            problems.append(f"{item.name}: stored event {found[0].event_id} is not among the "
                            f"acknowledged {item.answer['event_ids']}")  # fmt: skip
    if phantom := set(recorded) - sent:
        problems.append(f"survey: {len(phantom)} response(s) stored that no client sent")
    topic = await read_topic(broker.bootstrap, f"{prefix}.survey.events")
    problems += topic_problems("survey", stored, topic)
    per_survey = Counter(survey_id for survey_id, _ in recorded)
    for survey_id, count in sorted(per_survey.items()):
        doc = await read_model(clients["reporting"], "survey_counts", survey_id)
        if doc["responses"] != count:
            problems.append(f"reporting survey_counts/{survey_id}: {doc['responses']} responses, "
                            f"the store has {count}")  # fmt: skip
    problems += duplicates_problems("survey", topic)
    print(f"survey topic: {len(topic.events)} events, {topic.duplicated} duplicate message(s)")
    return problems


async def check_scoring(
    clients: dict[str, httpx.AsyncClient],
    broker: PrivateBroker,
    prefix: str,
    urls: dict[str, str],
    load: Load,
    sitting: str,
) -> list[str]:
    stored = await stored_events(urls["scoring"])
    scores = [e for e in stored if e.event_type == "ScoreRecorded"]
    by_sheet = Counter(e.payload["sheet_id"] for e in scores)
    by_pair = Counter((e.payload["member_id"], e.payload["candidate_id"]) for e in scores)
    problems = []
    acknowledged = set()
    for item in load.acknowledged:
        assert item.answer is not None
        sheet_id = item.body["sheet_id"]
        acknowledged.add(sheet_id)
        if item.answer["sheet_id"] != sheet_id:
            problems.append(f"{item.name}: acknowledged as sheet {item.answer['sheet_id']}")
        if by_sheet[sheet_id] != 1:
            problems.append(f"{item.name}: {by_sheet[sheet_id]} ScoreRecorded in the store, want 1")
    if twice := [pair for pair, n in by_pair.items() if n != 1]:
        problems.append(f"scoring: {len(twice)} member/candidate pair(s) scored more than once")
    if phantom := set(by_sheet) - acknowledged:
        problems.append(f"scoring: {len(phantom)} sheet(s) stored that no client sent")
    topic = await read_topic(broker.bootstrap, f"{prefix}.scoring.events")
    problems += topic_problems("scoring", stored, topic)
    protocol = await read_model(clients["reporting"], "protocols", sitting)
    if set(protocol["sheets"]) != acknowledged:
        problems.append(
            f"reporting protocols/{sitting}: {len(protocol['sheets'])} sheets, "
            f"{len(set(protocol['sheets']) - acknowledged)} not acknowledged, "
            f"{len(acknowledged - set(protocol['sheets']))} acknowledged ones missing"
        )
    problems += duplicates_problems("scoring", topic)
    print(f"scoring topic: {len(topic.events)} events, {topic.duplicated} duplicate message(s)")
    return problems


async def check_reporting(urls: dict[str, str]) -> list[str]:
    """One audit row per event id of each store, none for an event no store has; no consumer
    set an event aside as a dead letter."""
    problems = []
    for service in ("survey", "scoring"):
        stored = {e.event_id for e in await stored_events(urls[service])}
        rows = await fetch(
            urls["reporting"],
            "SELECT event_id, count(*) AS n FROM audit_trail WHERE service = $1 GROUP BY 1",
            service,
        )
        counted = {r["event_id"]: r["n"] for r in rows}
        if twice := [e for e, n in counted.items() if n != 1]:
            problems.append(f"reporting audit: {len(twice)} {service} event(s) in several rows")
        if lost := stored - set(counted):
            problems.append(f"reporting audit: {len(lost)} {service} event(s) missing")
        if extra := set(counted) - stored:
            problems.append(f"reporting audit: {len(extra)} {service} event(s) no store has")
    for service, url in urls.items():
        buried = await fetch(url, "SELECT key FROM documents WHERE model = 'dead_letters'")
        if buried:
            problems.append(f"{service}: dead letters {[r['key'] for r in buried][:5]}")
    return problems


async def audit_verify(env: dict[str, str]) -> list[str]:
    """``uzdik audit verify``: every hash chain intact after the kills, every topic matching its
    store (the CLI's own check, on the test's broker)."""
    done = await run_cli(env, "audit", "verify")
    return [] if done.returncode == 0 else [f"uzdik audit verify: {done.stdout}{done.stderr}"]
