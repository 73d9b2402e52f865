"""Two regions and the republic as separate deployments, joined only by Kafka MirrorMaker 2.

Real things of their own: each region's Kafka cluster, the republic's, and MirrorMaker 2
between them (deploy/local/kafka.sh and mirrormaker.sh, Apache Kafka's jars from Maven
Central). Each deployment is the five services on PostgreSQL with its own databases, its own
cluster, its own token issuer and its own business clock. Each region runs stage I to its
finalist through its API; its reporting publishes the finalist's dossier on its ``results``
topic; MirrorMaker 2 carries it to the republic, whose scoring verifies it and admits it (or
holds it, while the region is not trusted); the republic runs stage II with both and announces
the winners; MirrorMaker 2 carries them back and both regions see them. On the way MirrorMaker 2
is killed (kill -9) while a finalist is published and restarted: every finalist arrives once. A
region's finalist in another edition arrives after that edition's stage II opened: refused,
and the region sees why. A dossier altered on its way is held with the reason.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import pytest

from demo.nominations import steps as nominations
from demo.scenario import Outcome, Scale, Scenario, SimClock, behind_local_proxy
from demo.scoring import steps as scoring
from demo.scoring.api import Board
from demo.scoring.steps import RegionalFinal
from services.scoring.domain.federation import examine
from services.scoring.domain.signatures import public_key_text
from services.scoring.events import FinalistAdmitted, FinalistHeld, RegionTrusted
from services.scoring.federation import seal_problem
from shared.settings import Settings
from tests.conftest import _admin
from tests.harness import Distributed
from tests.ports import free_ports

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"
MM2_SH = ROOT / "deploy" / "local" / "mirrormaker.sh"
A, B = "620000000", "470000000"  # Ulytau and Mangystau: small regions
ALIAS = {A: f"region-{A}", B: f"region-{B}"}
REPUBLIC = "republic"
ISSUER = {
    A: f"https://idp.example.kz/realms/region-{A}",
    B: f"https://idp.example.kz/realms/region-{B}",
    REPUBLIC: "https://idp.example.kz/realms/republic",
}


def _cluster_env(tmp: Path, name: str) -> dict[str, str]:
    port, controller = free_ports(2)
    return {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller),
        "KAFKA_DATA_DIR": str(tmp / f"kafka-{name}"),
        "KAFKA_HEAP": "320m",
    }


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Each region's cluster, the republic's, and MirrorMaker 2 between them."""
    tmp = tmp_path_factory.mktemp("federation")
    envs = {name: _cluster_env(tmp, name) for name in (A, B, REPUBLIC)}
    starting = [subprocess.Popen([str(KAFKA_SH), "start"], env=e) for e in envs.values()]
    assert all(p.wait(timeout=300) == 0 for p in starting), "a cluster did not start"
    prefix = f"f{uuid.uuid4().hex[:8]}"
    address = {name: f"127.0.0.1:{e['KAFKA_PORT']}" for name, e in envs.items()}
    mm2 = {
        **os.environ,
        "MM2_REGIONS": ",".join(f"{ALIAS[r]}={address[r]}" for r in (A, B)),
        "MM2_REPUBLIC": f"{REPUBLIC}={address[REPUBLIC]}",
        "MM2_TOPICS": rf"{prefix}\.results",
        "MM2_DATA_DIR": str(tmp / "mm2"),
    }
    subprocess.run([str(MM2_SH), "start"], env=mm2, check=True, timeout=600)
    yield {"address": address, "prefix": prefix, "mm2": mm2}
    subprocess.run([str(MM2_SH), "stop"], env=mm2, check=False)
    for env in envs.values():
        subprocess.run([str(KAFKA_SH), "stop"], env=env, check=False)


@pytest.fixture
async def databases(pg_admin_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    made: list[str] = []

    async def make() -> str:
        name = f"uzdik_f_{uuid.uuid4().hex[:12]}"
        await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{pg_admin_url.rpartition('/')[0]}/{name}"

    yield make
    for name in made:
        await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = 240.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"not within {within:.0f} s: {what}")


def mm2_kill(env: dict[str, str]) -> None:
    """kill -9 MirrorMaker 2: no clean shutdown, its offsets as they were."""
    pid = int((Path(env["MM2_DATA_DIR"]) / "mm2.pid").read_text().strip())
    os.kill(pid, 9)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


def mm2_start(env: dict[str, str]) -> None:
    subprocess.run([str(MM2_SH), "start"], env=env, check=True, timeout=120)


def trust_body(region: str, board: Board) -> dict[str, Any]:
    """What the region's commission order tells the Agency: its issuer and its signers' keys."""
    keys = [
        {"role": role, "person_id": person, "public_key": public_key_text(board.keys[person])}
        for role, person in (("chair", board.chair), ("secretary", board.secretary))
    ]
    return {"issuer": ISSUER[region], "commission_id": board.commission_id, "keys": keys}


class Republic:
    """The republic's deployment as its Agency drives it."""

    def __init__(self, system: Distributed, clock: SimClock) -> None:
        self.system, self.clock = system, clock
        self.agency = Scenario(system.clients, system.settings, clock=clock)
        self.organiser = self.agency.bearer("organiser-1", ["organiser"])
        self.scoring = system.clients["scoring"]

    async def announce(self, edition: str) -> None:
        await nominations.announce_2020(
            self.system.clients["nominations"], self.agency.bearer, edition
        )

    async def trust(self, edition: str, region: str, board: Board) -> None:
        r = await self.scoring.put(
            f"/v1/editions/{edition}/federation/regions/{region}",
            json=trust_body(region, board),
            headers=self.organiser,
        )
        assert r.status_code == 201, r.text

    async def status(self, edition: str) -> dict[str, Any]:
        r = await self.scoring.get(f"/v1/editions/{edition}/federation", headers=self.organiser)
        assert r.status_code == 200, r.text
        return {x["region"]: x for x in r.json()["regions"]}

    async def when(self, edition: str, region: str, wanted: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            found = (await self.status(edition)).get(region)
            return found if found and found.get("status") == wanted else None

        found: dict[str, Any] = await until(check, f"region {region}'s finalist {wanted}")
        return found

    async def trail(self, edition: str) -> list[str]:
        r = await self.system.clients["reporting"].get(
            "/v1/read-models/audit",
            params={"service": "scoring", "stream_id": f"federation-{edition}", "limit": 100},
            headers=self.agency.bearer("auditor-1", ["auditor"]),
        )
        assert r.status_code == 200, r.text
        return [i["event_type"] for i in r.json()["items"]]


async def run_region(
    system: Distributed, clock: SimClock, region: str, seed: int, edition: str | None
) -> Outcome:
    """A region's deployment runs its edition to its finalist, signed (through its API)."""
    scale = Scale(regions=[region], per_district=2, responses_per_survey=2, seed=seed)
    scale.edition = edition
    scenario = Scenario(system.clients, behind_local_proxy(system.settings), clock=clock)
    return await scenario.edition(scale, system.settled, until="regional final")


async def seen_in_region(
    system: Distributed, key: str, status: str | None = None
) -> dict[str, Any]:
    """A document of the region's ``republic`` read model (what MirrorMaker 2 brought back),
    once it says ``status`` when one is named."""
    reader = Scenario(system.clients, system.settings).bearer("auditor-1", ["auditor"])

    async def check() -> dict[str, Any] | None:
        r = await system.clients["reporting"].get(f"/v1/read-models/republic/{key}", headers=reader)
        doc = r.json() if r.status_code == 200 else None
        return doc if doc and (status is None or doc.get("status") == status) else None

    found: dict[str, Any] = await until(check, f"{key} in the region")
    return found


async def told_in_region(system: Distributed, template: str) -> list[str]:
    """The recipients the region's notifications queued a ``template`` for, once there is one."""
    reader = Scenario(system.clients, system.settings).bearer("auditor-1", ["auditor"])

    async def check() -> list[str] | None:
        r = await system.clients["notifications"].get("/v1/notifications", headers=reader)
        items = r.json()["items"] if r.status_code == 200 else []
        found = [i["recipient"] for i in items if i["template"] == template]
        return found or None

    recipients: list[str] = await until(check, f"a {template} notification in the region")
    return recipients


async def republican_protocols(system: Distributed) -> int:
    """The republic's signed protocols a region has received (digest and signatures)."""
    reader = Scenario(system.clients, system.settings).bearer("auditor-1", ["auditor"])

    async def check() -> int:
        r = await system.clients["reporting"].get("/v1/read-models/republic", headers=reader)
        items = r.json()["items"] if r.status_code == 200 else []
        return sum(1 for i in items if i["kind"] == "protocol" and len(i["signatures"]) == 2)

    found: int = await until(check, "the republic's signed protocol in the region")
    return found


async def mirrored_dossier(address: str, topic: str) -> dict[str, Any]:
    """The region's FinalistDossier as MirrorMaker 2 wrote it into the republic's cluster."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=address, auto_offset_reset="earliest")
    await consumer.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["event_type"] == "FinalistDossier":
                        found: dict[str, Any] = envelope["payload"]
                        return found
    finally:
        await consumer.stop()
    raise AssertionError(f"no FinalistDossier on {topic}")


async def test_two_regions_finalists_cross_to_the_republic_and_the_winners_come_back(
    clusters: dict[str, Any], databases: Callable[[], Awaitable[str]]
) -> None:
    address, prefix, mm2 = clusters["address"], clusters["prefix"], clusters["mm2"]
    clock = SimClock()  # the republic's business time; each region runs its own

    clocks = {A: SimClock(), B: SimClock(), REPUBLIC: clock}

    def deployment(name: str, **extra: Any) -> Distributed:
        return Distributed(
            databases,
            address[name],
            prefix,
            clock=clocks[name].now,
            jwt_issuer=ISSUER[name],
            # the scenario's residents come through a local "proxy" (X-Forwarded-For), as the
            # demo's do: trusted, or every one of them is 127.0.0.1 and the survey's per-address
            # limit (20, then 10 a minute) refuses a region's 21st response
            survey_trusted_proxies=behind_local_proxy(Settings()).survey_trusted_proxies,
            **extra,
        )

    async with (
        deployment(A, federation_republic=REPUBLIC) as region_a,
        deployment(B, federation_republic=REPUBLIC) as region_b,
        deployment(REPUBLIC, federation_regions=f"{ALIAS[A]},{ALIAS[B]}") as republic_system,
    ):
        republic = Republic(republic_system, clock)

        # region A: stage I to its finalist; the republic does not trust it yet: held
        edition = str(uuid.uuid4())
        clock.set(2020, 6, 1)
        await republic.announce(edition)
        boards = await scoring.form_commissions(
            republic.scoring, republic.agency.bearer, Random(7), edition, regions=[]
        )
        clock.set(2020, 8, 1)  # before the materials' deadline (15 August 18:30)
        first = await run_region(region_a, clocks[A], A, seed=11, edition=edition)
        held = await republic.when(edition, A, "held")
        assert {p["code"] for p in held["problems"]} == {"region_not_trusted"}
        await republic.trust(edition, A, first.commissions.regional[A])
        admitted_a = await republic.when(edition, A, "admitted")
        assert admitted_a["name"] == first.finalists[A]["name"]

        # region B, trusted beforehand; MirrorMaker 2 killed while its finalist is published
        run_b = asyncio.create_task(run_region(region_b, clocks[B], B, seed=12, edition=edition))
        await asyncio.sleep(5)
        mm2_kill(mm2)
        second = await run_b
        await republic.trust(edition, B, second.commissions.regional[B])
        await asyncio.sleep(3)
        assert (await republic.status(edition))[B]["status"] == "missing"  # nothing carried it
        mm2_start(mm2)
        admitted_b = await republic.when(edition, B, "admitted")
        assert admitted_b["candidate_id"] == second.finalists[B]["candidate_id"]

        # stage II in the republic with both finalists; the winners back in both regions
        clock.set(2020, 9, 15)
        await republic_system.settled()
        field = RegionalFinal(finalists={A: first.finalists[A], B: second.finalists[B]})
        decided = await scoring.stage2(
            republic.scoring, republic.agency.bearer, Random(9), boards, field
        )
        winners = {w["candidate_id"] for w in decided.winners}
        assert winners == {first.finalists[A]["candidate_id"], second.finalists[B]["candidate_id"]}
        # the Republican commission lists the finalists it received, by the regions' names
        rep = boards.republican
        listed = await republic.scoring.get(
            f"/v1/commissions/{rep.commission_id}/finalists",
            headers=rep.as_secretary(republic.agency.bearer),
        )
        assert listed.status_code == 200, listed.text
        items = {f["candidate_id"]: f for f in listed.json()["items"]}
        for region, outcome in ((A, first), (B, second)):
            mine = items[outcome.finalists[region]["candidate_id"]]
            assert mine["name"] == outcome.finalists[region]["name"]
            assert mine["from_region"] and mine["region"] == region
            assert mine["defence"] is not None and mine["live_sheets"]["stage2"] >= 6
            sheets = await republic.scoring.get(
                f"/v1/candidates/{mine['candidate_id']}/sheets",
                headers=rep.as_secretary(republic.agency.bearer),
            )
            assert sheets.status_code == 200, sheets.text
            assert {x["kind"] for x in sheets.json()["sheets"]} == {"stage2"}
            kept = await republic.scoring.get(
                f"/v1/candidates/{mine['candidate_id']}",
                headers=rep.as_secretary(republic.agency.bearer),
            )
            assert kept.status_code == 404 and kept.json()["code"] == "candidate_kept_by_region"
        for system, region, outcome in ((region_a, A, first), (region_b, B, second)):
            receipt = await seen_in_region(system, f"receipt|{edition}|{region}")
            assert receipt["status"] == "admitted"
            assert receipt["candidate_id"] == outcome.finalists[region]["candidate_id"]
            announced = await seen_in_region(system, f"winners|{boards.republican.commission_id}")
            names = {w["candidate_id"]: w["name"] for w in announced["winners"]}
            assert await republican_protocols(system) >= 1
            assert (
                names[outcome.finalists[region]["candidate_id"]]
                == outcome.finalists[region]["name"]
            )
            # the region tells its own winner (the republic knows no one behind it), once
            other = (second if region == A else first).finalists[B if region == A else A]
            told = await told_in_region(system, "winner")
            mine = outcome.finalists[region]["candidate_id"]
            assert told.count(f"candidate:{mine}") == 1, told
            assert f"candidate:{other['candidate_id']}" not in told
            assert any(r.startswith("user:") for r in told), told  # its nominator too

        # once each, whatever MirrorMaker 2 carried twice around its kill -9
        kinds = await republic.trail(edition)
        assert kinds.count("FinalistAdmitted") == 2, kinds
        assert kinds.count("FinalistHeld") == 1, kinds

        # another edition: region A's finalist arrives after its stage II opened — refused,
        # and the region sees why
        later = str(uuid.uuid4())
        clock.set(2020, 6, 1)
        await republic.announce(later)
        clock.set(2020, 8, 20)  # stage II opened (15 August 18:30)
        late = await run_region(region_a, clocks[A], A, seed=13, edition=later)
        held = await republic.when(later, A, "held")  # not trusted for this edition yet
        assert {p["code"] for p in held["problems"]} == {"region_not_trusted"}
        await republic.trust(later, A, late.commissions.regional[A])  # examined at its arrival
        refused = await republic.when(late.edition_id, A, "refused")
        assert "after stage II opened" in refused["reason"]
        receipt = await seen_in_region(region_a, f"receipt|{late.edition_id}|{A}", "refused")
        assert receipt["reason"] == refused["reason"]

        # a dossier altered on its way is held, with the reason named
        dossier = await mirrored_dossier(address[REPUBLIC], f"{ALIAS[A]}.{prefix}.results")
        trust = RegionTrusted.model_validate(
            {"edition_id": edition, "region": A, **trust_body(A, first.commissions.regional[A])}
        )
        at = datetime(2020, 8, 1, tzinfo=UTC)
        deadline = datetime(2020, 8, 15, 13, 30, tzinfo=UTC)

        def verdict(d: dict[str, Any]) -> Any:
            return examine(d, trust, deadline=deadline, arrived_at=at, seal_problem=seal_problem(d))

        assert isinstance(verdict(dossier), FinalistAdmitted)
        altered = copy.deepcopy(dossier)
        chosen = next(
            r for r in altered["protocol"]["records"] if r["event_type"] == "FinalistSelected"
        )
        chosen["payload"]["regional_total"] = "99.9999"
        found = verdict(altered)
        assert isinstance(found, FinalistHeld)
        assert [p.code for p in found.problems] == ["protocol_altered"]
        forged = copy.deepcopy(dossier)
        forged["protocol"]["signatures"][0]["signature"] = forged["protocol"]["signatures"][1][
            "signature"
        ]
        found = verdict(forged)
        assert isinstance(found, FinalistHeld)
        assert "signature_invalid" in [p.code for p in found.problems]
        resealed = copy.deepcopy(dossier)
        resealed["seal"]["payload"]["signed_at"] = "2020-07-01T10:00:00+06:00"
        found = verdict(resealed)
        assert isinstance(found, FinalistHeld)
        assert "seal_invalid" in [p.code for p in found.problems]


async def test_a_record_over_kafkas_one_megabyte_crosses_compressed(
    clusters: dict[str, Any], pg_url_factory: Callable[[], Awaitable[str]]
) -> None:
    """The largest oblast's dossier nears Kafka's 1 MB record limit: the results relay writes
    gzip-compressed batches and MirrorMaker 2 mirrors them so, so a 3 MB record crosses."""
    from aiokafka import AIOKafkaConsumer

    from shared.kafka import KafkaPublisher
    from shared.migrations import upgrade
    from shared.relay import Relay
    from shared.store.eventstore import open_store
    from tests.kernel_events import ACTOR, Noted

    address, prefix = clusters["address"], clusters["prefix"]
    store = open_store("reporting", await pg_url_factory())
    await upgrade(store.engine)
    text = json.dumps([{"member": n, "scores": list(range(40))} for n in range(20_000)])
    assert len(text) > 3_000_000
    await store.append("large", None, [Noted(text=text, n=1)], ACTOR)
    publisher = KafkaPublisher(address[A], compress=True)
    relay = Relay(store, publisher, topic=f"{prefix}.results", batch_size=10)
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(stop))
    mirrored = f"{ALIAS[A]}.{prefix}.results"
    consumer = AIOKafkaConsumer(
        mirrored,
        bootstrap_servers=address[REPUBLIC],
        auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=64 * 1024 * 1024,
        metadata_max_age_ms=2000,
    )
    await consumer.start()
    try:
        found = None
        deadline = time.monotonic() + 120
        while found is None and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["event_type"] == "Noted":
                        found = envelope
        assert found is not None, f"the large record did not reach {mirrored}"
        assert found["payload"]["text"] == text
    finally:
        await consumer.stop()
        stop.set()
        await running
        await publisher.close()
        await store.close()
