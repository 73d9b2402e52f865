"""A scripted edition, driven through the services' HTTP APIs. The demo runs it embedded; the
end-to-end test runs the very same commands distributed and compares the outcome.

The business clock is simulated (:class:`SimClock`): the scenario moves it through the 2020
calendar (Asia/Almaty), so deadlines are enforced exactly as they would be that year.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from rich.console import Console

from services.embedded_processes import ClockFile
from shared.auth import issue_dev_token
from shared.settings import Settings

NS = uuid.UUID("6b1c7c1e-6c55-4b7a-9d41-2f4f1c2a2020")
ALMATY = ZoneInfo("Asia/Almaty")
Drain = Callable[[], Awaitable[Any]]


def stable_id(*parts: object) -> str:
    """Deterministic ids, so two runs of the scenario produce comparable read models."""
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


class SimClock:
    """Business time under the scenario's control."""

    def __init__(self, start: datetime | None = None, share: ClockFile | None = None) -> None:
        """``share``: where the services' processes read it (each set is written there)."""
        self.share = share
        self.current = start or datetime.now(UTC)
        if share is not None:
            share.set(self.current)

    def now(self) -> datetime:
        return self.current

    def set(self, year: int, month: int, day: int, hour: int = 10) -> None:
        self.current = datetime(year, month, day, hour, tzinfo=ALMATY)
        if self.share is not None:
            self.share.set(self.current)


@dataclass
class Scale:
    """How big an edition: which regions, applicants per district, responses per survey."""

    regions: list[str] | None = None  # None: all 17 oblasts
    per_district: int = 4
    responses_per_survey: int = 12
    seed: int = 2020
    edition: str | None = None  # the edition's id (default: from the seed): a region joins one


@dataclass
class Outcome:
    edition_id: str = ""
    applications: int = 0
    admitted: int = 0
    rejected: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    nominees: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    responses: int = 0
    finalists: dict[str, dict[str, Any]] = field(default_factory=dict)
    winners: list[dict[str, Any]] = field(default_factory=list)
    republican_commission: str = ""
    commissions: Any = None  # demo.scoring.api.Commissions: the boards, their people and keys
    timings: dict[str, float] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


def behind_local_proxy(settings: Settings) -> Settings:
    """The deployment the scenario runs: its residents reach the survey through an in-process
    client that stands for the regional akimat's reverse proxy (their address in
    X-Forwarded-For), so that proxy is configured as trusted, as a deployment would configure
    its own (nothing in the process's environment is changed)."""
    return settings.model_copy(update={"survey_trusted_proxies": "127.0.0.1/32"})


class Scenario:
    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        settings: Settings,
        console: Console | None = None,
        now: datetime | None = None,
        clock: SimClock | None = None,
    ) -> None:
        self.clients, self.settings, self.console = clients, settings, console
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.clock = clock or SimClock(self.now)
        self.on_step: Callable[[str], None] | None = None  # called as each step begins

    def bearer(
        self, sub: str, roles: list[str], region: str | None = None, commission: str | None = None
    ) -> dict[str, str]:
        token = issue_dev_token(
            self.settings,
            sub,
            roles,
            region=region,
            commission=commission,
            ttl=timedelta(days=3650),
            now=datetime.now(UTC),
        )
        return {"Authorization": f"Bearer {token}"}

    async def post(self, service: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        r = await self.clients[service].post(path, json=body, headers=headers)
        if r.status_code >= 400:
            raise RuntimeError(f"{service} {path}: {r.status_code} {r.text}")
        return r.json()

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)

    async def run(self, drain: Drain | None = None) -> dict[str, Any]:
        """The walking skeleton: one command per service."""
        from services.nominations.domain.figures import default_edition_2020

        edition_id = stable_id("edition", 2020)
        organiser = self.bearer("organiser-1", ["organiser"])
        announce = default_edition_2020(edition_id)
        await self.post("nominations", "/v1/editions", announce.model_dump(mode="json"), organiser)
        now = self.now
        survey = {
            "survey_id": stable_id("survey", 1),
            "edition_id": edition_id,
            "candidate_id": stable_id("candidate", 1),
            "settlement_kato": "111033000",
            "region_kato": "110000000",
            "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=14)).isoformat(),
        }
        await self.post("survey", "/v1/surveys", survey, organiser)
        members = [
            {"person_id": stable_id("member", "110000000", i), "name": f"Member {i}"}
            for i in range(1, 10)
        ]
        members[0]["position"] = "head_of_regional_department"  # the chair (§3)
        commission = {
            "commission_id": stable_id("commission", "110000000"),
            "edition_id": edition_id,
            "level": "regional",
            "region": "110000000",
            "members": members,
            "chair_id": members[0]["person_id"],
            "secretary": {
                "person_id": stable_id("secretary", "110000000"),
                "name": "Secretary",
                "position": "regional_department_employee",
            },
        }
        await self.post("scoring", "/v1/commissions", commission, organiser)
        if drain:
            await drain()
        return {"edition_id": edition_id, "lines": [f"edition {edition_id} announced"]}

    async def edition(self, scale: Scale, settle: Drain, until: str | None = None) -> Outcome:
        """A whole 2020 edition: applications, checks, stage I, surveys, finals, stage II.
        ``until="regional final"``: a region's deployment, whose finalists go on to the
        republic's (ARCHITECTURE "Regions and the republic"); ``until="admission"``: the
        commissions formed and the candidates admitted, stage I left to people (the portal);
        ``until="surveys"``: stage I and the surveys done, the regional final and stage II
        left to people."""
        from demo.nominations import steps as nominations
        from demo.scoring import steps as scoring

        rng, out = Random(scale.seed), Outcome()
        regions = scale.regions or scoring.regions_2020()
        out.edition_id = edition_id = scale.edition or stable_id("edition", 2020, scale.seed)
        nom, sco = self.clients["nominations"], self.clients["scoring"]

        async def step(name: str, work: Callable[[], Awaitable[Any]]) -> Any:
            if self.on_step is not None:
                self.on_step(name)
            started = time.perf_counter()
            result = await work()
            await settle()
            out.timings[name] = time.perf_counter() - started
            self.say(f"  {name}: {out.timings[name]:.1f} s")
            return result

        self.clock.set(2020, 5, 30)
        await step("announce", lambda: nominations.announce_2020(nom, self.bearer, edition_id))
        self.clock.set(2020, 6, 1)
        boards = await step(
            "commissions",
            lambda: scoring.form_commissions(
                sco, self.bearer, Random(rng.getrandbits(64)), edition_id, regions
            ),
        )
        out.republican_commission = boards.republican.commission_id
        out.commissions = boards
        self.clock.set(2020, 6, 10)
        seeds = {r: rng.getrandbits(64) for r in regions}
        submitted = await step(
            "applications",
            lambda: asyncio.gather(
                *(
                    nominations.submit_region_batch(
                        nom, self.bearer, edition_id, r, scale.per_district, Random(seeds[r])
                    )
                    for r in regions
                )
            ),
        )
        out.applications = sum(len(s) for s in submitted)
        if until == "applications":  # the admission check left to the secretaries
            return out
        self.clock.set(2020, 6, 25)
        checked = await step(
            "admission",
            lambda: asyncio.gather(
                *(nominations.check_all(nom, self.bearer, edition_id, r) for r in regions)
            ),
        )
        for admitted, rejected in checked:
            out.admitted += len(admitted)
            out.rejected.update(rejected)
        if until == "admission":
            return out
        self.clock.set(2020, 6, 29)
        stage1 = await step(
            "stage I", lambda: scoring.stage1(sco, self.bearer, Random(rng.getrandbits(64)), boards)
        )
        out.nominees = stage1.nominees
        if until == "stage I":  # the nominees' surveys open, residents to answer them
            return out
        self.clock.set(2020, 7, 5)
        out.responses = await step("survey", lambda: self.survey(boards, scale, rng))
        self.clock.set(2020, 7, 20)
        await step(
            "survey closed",
            lambda: self.post(
                "survey", "/v1/survey-closures", {}, self.bearer("organiser-1", ["organiser"])
            ),
        )
        await scoring.wait_for_surveys(sco, self.bearer, boards)
        if until == "surveys":
            return out
        self.clock.set(2020, 7, 28)
        final = await step(
            "regional final",
            lambda: scoring.regional_final(sco, self.bearer, Random(rng.getrandbits(64)), boards),
        )
        out.finalists = final.finalists
        if until == "regional final":
            return out
        self.clock.set(2020, 9, 15)
        stage2 = await step(
            "stage II",
            lambda: scoring.stage2(sco, self.bearer, Random(rng.getrandbits(64)), boards, final),
        )
        out.winners = stage2.winners
        return out

    async def survey(self, boards: Any, scale: Scale, rng: Random) -> int:
        """Residents answer each nominee's survey (valid, unique IINs), a few at a time."""
        from services.survey.domain.iin import make_iin
        from services.survey.handlers import survey_id_for

        nominees = sorted(
            n["candidate_id"] for ns in (await self._nominees(boards)).values() for n in ns
        )
        start = (scale.seed % 1000) * 10_000
        iins = (make_iin(start + n) for n in range(len(nominees) * scale.responses_per_survey))
        jobs = [
            (
                str(survey_id_for(c)),
                next(iins),
                [min(10, max(0, int(rng.gauss(7, 2)))) for _ in range(16)],
            )
            for c in nominees
            for _ in range(scale.responses_per_survey)
        ]
        gate = asyncio.Semaphore(32)
        client = self.clients["survey"]

        async def answer(n: int, job: tuple[str, str, list[int]]) -> None:
            survey_id, iin, answers = job
            # each resident from an address of their own, behind the in-process "proxy"
            resident = f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"
            async with gate:
                r = await client.post(
                    f"/v1/surveys/{survey_id}/responses",
                    json={"iin": iin, "answers": answers},
                    headers={"X-Forwarded-For": resident},
                )
            if r.status_code != 201:
                raise RuntimeError(f"survey {survey_id}: {r.status_code} {r.text}")

        await asyncio.gather(*(answer(n, j) for n, j in enumerate(jobs)))
        return len(jobs)

    async def _nominees(self, boards: Any) -> dict[str, list[dict[str, Any]]]:
        from demo.scoring import steps as scoring

        out: dict[str, list[dict[str, Any]]] = {}
        for region, board in sorted(boards.regional.items()):
            out[region] = await scoring._candidates(
                self.clients["scoring"], self.bearer, board, nominated=True
            )
        return out
