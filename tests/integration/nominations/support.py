"""Driving the nominations API as its users do: an organiser, a nominator, a secretary."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

import httpx

from demo.nominations import files as demo_files
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.figures import default_edition_2020
from services.nominations.domain.values import ALMATY
from shared.auth import issue_dev_token
from shared.settings import Settings
from tests.unit.nominations.builders import questionnaire

REGION = "190000000"  # Алматинская область
RURAL_DISTRICT = "193633000"  # Акдалинский с.о., Балхашский район
OTHER_REGION = "110000000"  # Акмолинская область
IN_CHECK = datetime(2020, 6, 25, 10, 0, tzinfo=ALMATY)
FILES: dict[DocumentKind, Callable[[], bytes]] = {
    DocumentKind.project_presentation: demo_files.pptx,
    DocumentKind.project_video: lambda: demo_files.video(3, 16),
}


class SettableClock(Protocol):
    def set(self, moment: datetime) -> None: ...


class Nominations:
    """The service's HTTP API with a token for each role of the region."""

    def __init__(self, client: httpx.AsyncClient, settings: Settings, clock: SettableClock):
        self.client, self.settings, self.clock = client, settings, clock
        self.organiser = self.bearer("organiser-1", ["organiser"])
        self.nominator = self.bearer(f"nominator-{REGION}", ["nominator"], REGION)
        self.secretary = self.bearer(f"secretary-{REGION}", ["secretary"], REGION)

    def bearer(self, sub: str, roles: list[str], region: str | None = None) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, roles, region=region)
        return {"Authorization": f"Bearer {token}"}

    async def announce(self, max_bytes: dict[DocumentKind, int] | None = None) -> str:
        """A fresh 2020 edition (optionally with other upload limits); its id."""
        edition_id = str(uuid.uuid4())
        command = default_edition_2020(edition_id)
        if max_bytes:
            rules = command.rules.nominations
            limits = {**rules.max_document_bytes, **max_bytes}
            nominations = rules.model_copy(update={"max_document_bytes": limits})
            command = command.model_copy(
                update={"rules": command.rules.model_copy(update={"nominations": nominations})}
            )
        body = command.model_dump(mode="json")
        r = await self.client.post("/v1/editions", json=body, headers=self.organiser)
        assert r.status_code == 201, r.text
        return edition_id

    async def submit(
        self, edition_id: str, rural_district: str = RURAL_DISTRICT, **overrides: Any
    ) -> httpx.Response:
        form = questionnaire(rural_district_kato=rural_district, **overrides)
        body = {"edition_id": edition_id, "questionnaire": form.model_dump(mode="json")}
        return await self.client.post("/v1/applications", json=body, headers=self.nominator)

    async def submitted(self, edition_id: str, **overrides: Any) -> str:
        r = await self.submit(edition_id, **overrides)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def upload(
        self, application_id: str, kind: DocumentKind, data: bytes, **headers: str
    ) -> httpx.Response:
        url = f"/v1/applications/{application_id}/documents/{kind}"
        return await self.client.put(url, content=data, headers={**self.nominator, **headers})

    async def attach_all(self, application_id: str, skip: Iterable[DocumentKind] = ()) -> None:
        for kind in DocumentKind:
            if kind in set(skip) or kind is DocumentKind.photo:  # optional, an image
                continue
            r = await self.upload(application_id, kind, FILES.get(kind, demo_files.pdf)())
            assert r.status_code == 200, r.text

    async def check(self, application_id: str) -> httpx.Response:
        """The secretary's admission check, in the check period."""
        self.clock.set(IN_CHECK)
        url = f"/v1/applications/{application_id}/admission-check"
        return await self.client.post(url, headers=self.secretary)

    async def get(self, application_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/v1/applications/{application_id}", headers=self.secretary)
        assert r.status_code == 200, r.text
        found: dict[str, Any] = r.json()
        return found
