"""The scoring service's surroundings for its integration tests.

The other services' facts are appended to *their own* event stores, as their handlers would
append them (the real event classes of their contracts), so they travel the production path:
relay → Kafka topic → scoring's consumer. Scoring itself is driven only through its HTTP API.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from services.nominations.domain import edition as editions
from services.nominations.domain.figures import default_edition_2020
from services.nominations.domain.questionnaire import PersonName, Questionnaire
from services.nominations.domain.rubric import QuestionnaireScore
from services.nominations.events import (
    ApplicationAdmitted,
    ApplicationSubmitted,
    DeadlineExtended,
    QuestionnaireScoreConfirmed,
    QuestionnaireScored,
)
from services.survey.events import SurveyClosed, SurveyOpened, SurveyResult
from shared.auth import issue_dev_token
from shared.events import Actor, Event
from shared.settings import Settings
from shared.store.eventstore import EventStore
from shared.territory import Level, load_territory

AT = datetime(2020, 6, 25, 10, 0, tzinfo=UTC)
ORGANISER = Actor(id="organiser-1", role="organiser")
SECRETARY = Actor(id="secretary-nominations", role="secretary")

Drain = Callable[[], Awaitable[Any]]


def new_id() -> str:
    return str(uuid.uuid4())


def districts_of(region: str, count: int, rural_per_district: int) -> dict[str, list[str]]:
    """``count`` districts of ``region`` with at least ``rural_per_district`` rural districts."""
    territory = load_territory()
    found: dict[str, list[str]] = {}
    for district in territory.children(region):
        rural = [
            u.kato for u in territory.children(district.kato) if u.level is Level.rural_district
        ]
        if district.level is Level.district and len(rural) >= rural_per_district:
            found[district.kato] = rural[:rural_per_district]
        if len(found) == count:
            return found
    raise AssertionError(f"{region} has no {count} districts of {rural_per_district}")


def questionnaire(
    rural: str, name: PersonName, trilingual: bool, complex_projects: int
) -> Questionnaire:
    languages = [{"language": "state", "level": "fluent"}]
    if trilingual:
        languages += [
            {"language": "russian", "level": "fluent"},
            {"language": "english", "level": "fluent"},
        ]
    projects = [{"title": f"Project {i}", "role": "implemented"} for i in range(complex_projects)]
    return Questionnaire.model_validate(
        {
            "nominator": {"kind": "self_nomination"},
            "akim": name.model_dump(),
            "position": "rural akim",
            "rural_district_kato": rural,
            "statement": {
                "agrees_to_terms": True,
                "consents_to_personal_data": True,
                "signed_on": "2020-06-01",
            },
            "civil_service": {"years": 5, "months": 0},
            "appointed_akim_on": "2018-06-01",
            "languages": languages,
            "projects": projects,
            "implements_complex_projects": complex_projects > 0,
            "indicators": {
                "as_of": "2020-01-01",
                "investment_tenge": 1_000_000,
                "jobs_created": 3,
                "agricultural_output_tenge": 5_000_000,
                "migration": {"arrived": 10, "departed": 9},
                "registered_offences": 1,
            },
        }
    )


@dataclass
class Seat:
    """A commission formed through the API: its people, by role."""

    commission_id: str
    region: str | None
    members: list[str]
    chair: str
    secretary: str


@dataclass
class World:
    clients: Mapping[str, httpx.AsyncClient]
    stores: Mapping[str, EventStore]
    settings: Settings
    drain: Drain | None = None
    edition_id: str = field(default_factory=new_id)

    @property
    def scoring(self) -> httpx.AsyncClient:
        return self.clients["scoring"]

    def bearer(
        self, sub: str, roles: list[str], region: str | None = None, commission: str | None = None
    ) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, roles, region=region, commission=commission)
        return {"Authorization": f"Bearer {token}"}

    def member(self, seat: Seat, person: str) -> dict[str, str]:
        roles = ["chair", "member"] if person == seat.chair else ["member"]
        return self.bearer(person, roles, seat.region, seat.commission_id)

    def secretary(self, seat: Seat) -> dict[str, str]:
        return self.bearer(seat.secretary, ["secretary"], seat.region, seat.commission_id)

    def chair(self, seat: Seat) -> dict[str, str]:
        return self.member(seat, seat.chair)

    # --- the other services' facts ----------------------------------------------------------

    async def announce(self, scoring: dict[str, Any] | None = None, **deadlines: datetime) -> None:
        """The 2020 edition, its calendar moved so that today lies in stage I (the services
        run on the wall clock here); ``deadlines`` moves single steps (e.g. into the past)."""
        command = default_edition_2020(self.edition_id, scoring=scoring)
        now = datetime.now(UTC)
        moved = {
            "announced_at": now - timedelta(days=40),
            "announcement_deadline": now - timedelta(days=39),
            "application_window_opens_at": now - timedelta(days=40),
            "application_window_closes_at": now - timedelta(days=19),
            "check_period_ends_at": now - timedelta(days=9),
            "stage_one_deadline": now + timedelta(days=10),
            "interviews_deadline": now + timedelta(days=20),
            "finalists_deadline": now + timedelta(days=20),
            "materials_deadline": now + timedelta(days=25),
            "defences_deadline": now + timedelta(days=30),
            **deadlines,
        }
        command = command.model_copy(update={"calendar": command.calendar.model_copy(update=moved)})
        events = editions.announce(None, command, ORGANISER)
        await self._append("nominations", f"edition-{self.edition_id}", events, ORGANISER)
        await self.until(self._edition_known)

    async def _edition_known(self) -> bool:
        headers = self.bearer("auditor-1", ["auditor"])
        found = await self.ok(self.scoring.get(f"/v1/editions/{self.edition_id}", headers=headers))
        return bool(found["known"])

    async def extend(self, step: str, previous: datetime, new: datetime) -> None:
        """The organiser extends a step's deadline (nominations' event)."""
        event = DeadlineExtended(
            edition_id=self.edition_id,
            step=step,
            previous_deadline=previous,
            new_deadline=new,
            reason="the commission could not meet in time",
        )
        await self._append("nominations", f"edition-{self.edition_id}", [event], ORGANISER)

    async def admit(
        self,
        rural: str,
        district: str,
        region: str,
        score: int,
        *,
        trilingual: bool = False,
        complex_projects: int = 0,
        surname: str = "Akimov",
    ) -> str:
        """Nominations' facts of one admitted application with a confirmed Annex 3 score."""
        app = new_id()
        name = PersonName(surname=surname, given_name=app[:6])
        where = {"region_kato": region, "district_kato": district, "rural_district_kato": rural}
        events: list[Event] = [
            ApplicationSubmitted(
                application_id=app,
                edition_id=self.edition_id,
                submitted_at=AT,
                questionnaire=questionnaire(rural, name, trilingual, complex_projects),
                **where,
            ),
            ApplicationAdmitted(
                application_id=app, edition_id=self.edition_id, akim=name, decided_at=AT, **where
            ),
            QuestionnaireScored(
                application_id=app,
                score=QuestionnaireScore(
                    rubric_id="annex3-2020", total=score, max_total=29, criteria=()
                ),
                scored_at=AT,
            ),
            QuestionnaireScoreConfirmed(application_id=app, total=score, confirmed_at=AT),
        ]
        await self._append("nominations", f"application-{app}", events, SECRETARY)
        return app

    async def survey(
        self, candidate_id: str, rural: str, region: str, mean: str, responses: int = 12
    ) -> str:
        """Survey's facts: the nominee's survey opened and closed with a result (§14.3)."""
        survey_id = new_id()
        opened = SurveyOpened(
            survey_id=uuid.UUID(survey_id),
            edition_id=self.edition_id,
            candidate_id=candidate_id,
            settlement_kato=rural,
            region_kato=region,
            opens_at=AT,
            closes_at=AT + timedelta(days=14),
            rubric_id="annex5-2020",
        )
        means = tuple(Decimal(mean) / 16 for _ in range(16)) if responses else None
        closed = SurveyClosed(
            survey_id=uuid.UUID(survey_id),
            candidate_id=candidate_id,
            edition_id=self.edition_id,
            rubric_id="annex5-2020",
            closed_at=AT + timedelta(days=14),
            reason="deadline",
            result=SurveyResult(
                responses=responses,
                flagged=0,
                means=tuple(m.quantize(Decimal("0.0001")) for m in means) if means else None,
                mean_total=Decimal(mean) if responses else None,
            ),
        )
        await self._append("survey", f"survey-{survey_id}", [opened, closed], ORGANISER)
        return survey_id

    async def _append(
        self, service: str, stream: str, events: Sequence[Event], actor: Actor
    ) -> None:
        await self.stores[service].append(stream, None, events, actor)

    # --- scoring through its API ------------------------------------------------------------

    async def form(self, region: str | None, size: int = 9) -> Seat:
        """§3/§4: the chair heads the regional Department (the Agency's deputy chairperson for
        the Republican commission); the Republican secretary is an Agency employee."""
        people = [new_id() for _ in range(size + 1)]

        def chair_position(chair: bool) -> dict[str, str]:
            if not chair:
                return {}
            return {
                "position": "head_of_regional_department" if region else "agency_deputy_chairperson"
            }

        seat = Seat(new_id(), region, people[:size], people[0], people[-1])
        body = {
            "commission_id": seat.commission_id,
            "edition_id": self.edition_id,
            "level": "regional" if region else "republican",
            "region": region,
            "members": [
                {"person_id": p, "name": f"Member {p[:4]}", **chair_position(p == seat.chair)}
                for p in seat.members
            ],
            "chair_id": seat.chair,
            "secretary": {
                "person_id": seat.secretary,
                "name": "Secretary",
                "position": "regional_department_employee" if region else "agency_employee",
            },
        }
        await self.ok(
            self.scoring.post(
                "/v1/commissions", json=body, headers=self.bearer("organiser-1", ["organiser"])
            )
        )
        return seat

    async def sitting(
        self, seat: Seat, stage: str, present: Sequence[str] | None = None
    ) -> tuple[str, Any]:
        body = {"commission_id": seat.commission_id, "stage": stage, "purpose": f"{stage} sitting"}
        sitting = (
            await self.ok(
                self.scoring.post("/v1/sittings", json=body, headers=self.secretary(seat))
            )
        )["id"]
        here = list(seat.members if present is None else present)
        attendance = await self.ok(
            self.scoring.post(
                f"/v1/sittings/{sitting}/attendance",
                json={"present": here},
                headers=self.secretary(seat),
            )
        )
        return sitting, attendance

    async def keys(self, seat: Seat, kind: str) -> list[str]:
        found = await self.ok(
            self.scoring.get(
                f"/v1/commissions/{seat.commission_id}/rubrics", headers=self.secretary(seat)
            )
        )
        rubric = next(s for s in found["sheets"] if s["kind"] == kind)
        return [c["key"] for c in rubric["criteria"] if not c["derived"]]

    async def sheet(
        self, seat: Seat, sitting: str, member: str, candidate: str, kind: str, value: int
    ) -> httpx.Response:
        keys = await self.keys(seat, kind)
        body = {"candidate_id": candidate, "kind": kind, "scores": dict.fromkeys(keys, value)}
        return await self.scoring.post(
            f"/v1/sittings/{sitting}/sheets", json=body, headers=self.member(seat, member)
        )

    async def score(
        self,
        seat: Seat,
        sitting: str,
        members: Sequence[str],
        values: Mapping[str, int],
        kind: str = "project",
    ) -> None:
        """Each of ``members`` gives every candidate of ``values`` a flat sheet at its value."""
        keys = await self.keys(seat, kind)
        for member in members:
            sheets = [
                {"candidate_id": cid, "kind": kind, "scores": dict.fromkeys(keys, v)}
                for cid, v in values.items()
            ]
            await self.ok(
                self.scoring.post(
                    f"/v1/sittings/{sitting}/sheets/batch",
                    json={"sheets": sheets},
                    headers=self.member(seat, member),
                )
            )

    async def ok(self, request: Awaitable[httpx.Response], status: int | None = None) -> Any:
        response = await request
        assert response.status_code < 400 and (status is None or response.status_code == status), (
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
        return response.json()

    async def until(self, check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
        """Wait for the consumers (drain, in the embedded mode) until ``check`` holds."""
        deadline = time.monotonic() + within
        while True:
            if self.drain is not None:
                await self.drain()
            if await check():
                return
            assert time.monotonic() < deadline, "the consumers did not catch up in time"
            await asyncio.sleep(0.05)

    async def registered(self, *candidate_ids: str) -> None:
        headers = self.bearer("auditor-1", ["auditor"])

        async def all_there() -> bool:
            for cid in candidate_ids:
                if (
                    await self.scoring.get(f"/v1/candidates/{cid}", headers=headers)
                ).status_code != 200:
                    return False
            return True

        await self.until(all_there)

    async def candidate(self, candidate_id: str) -> Any:
        return await self.ok(
            self.scoring.get(
                f"/v1/candidates/{candidate_id}", headers=self.bearer("auditor-1", ["auditor"])
            )
        )


async def admit_region(world: World, region: str, districts: int, per_district: int) -> list[str]:
    """Admitted candidates in ``districts`` districts of a region, ``per_district`` each."""
    ids = []
    for district, rural in districts_of(region, districts, per_district).items():
        for i, kato in enumerate(rural):
            ids.append(
                await world.admit(kato, district, region, score=8 + 3 * i, trilingual=i % 2 == 0)
            )
    return ids


async def survey_nominees(world: World, commission_ids: Sequence[str]) -> int:
    """Every nominee's survey closes with a result (as the survey service would publish it)."""
    headers = world.bearer("auditor-1", ["auditor"])
    count = 0
    for commission_id in commission_ids:
        page = await world.ok(
            world.scoring.get(
                f"/v1/commissions/{commission_id}/candidates?nominated=true", headers=headers
            )
        )
        for c in page["items"]:
            mean = f"{80 + (int(c['candidate_id'][:4], 16) % 60)}.5000"
            await world.survey(c["candidate_id"], c["rural_district"], c["region"], mean)
            count += 1
    return count
