"""A scripted edition, driven through the services' HTTP APIs (used by the demo and the e2e
test, so the embedded and the distributed runs issue the very same commands)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console

from shared.auth import issue_dev_token
from shared.settings import Settings

NS = uuid.UUID("6b1c7c1e-6c55-4b7a-9d41-2f4f1c2a2020")
Drain = Callable[[], Awaitable[Any]]


def stable_id(*parts: object) -> str:
    """Deterministic ids, so two runs of the scenario produce comparable read models."""
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


class Scenario:
    def __init__(
        self,
        clients: Mapping[str, httpx.AsyncClient],
        settings: Settings,
        console: Console | None = None,
        now: datetime | None = None,
    ) -> None:
        self.clients, self.settings, self.console = clients, settings, console
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)

    def bearer(self, sub: str, roles: list[str], region: str | None = None) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, roles, region=region)
        return {"Authorization": f"Bearer {token}"}

    async def post(self, service: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        r = await self.clients[service].post(path, json=body, headers=headers)
        if r.status_code >= 400:
            raise RuntimeError(f"{service} {path}: {r.status_code} {r.text}")
        return r.json()

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
        commission = {
            "commission_id": stable_id("commission", "110000000"),
            "edition_id": edition_id,
            "level": "regional",
            "region": "110000000",
            "members": members,
            "chair_id": members[0]["person_id"],
            "secretary": {"person_id": stable_id("secretary", "110000000"), "name": "Secretary"},
        }
        await self.post("scoring", "/v1/commissions", commission, organiser)
        if drain:
            await drain()
        return {"edition_id": edition_id, "lines": [f"edition {edition_id} announced"]}
