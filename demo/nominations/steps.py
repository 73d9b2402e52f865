"""The nominations part of the whole-edition demo, driven only through the service's HTTP API.

The caller owns the (simulated) business clock and calls these at the right moments:

- :func:`announce_2020` — any time (the 2020 edition is announced 30 May 2020);
- :func:`submit_region_batch` — while the application window is open
  (30 May 2020 00:00 ≤ now < 23 June 2020 00:00, Asia/Almaty: 20 June is a Saturday);
- :func:`check_all` — in the check period, which also lies before the stage-I deadline
  (23 June 2020 00:00 ≤ now < 1 July 2020 00:00).

Requests go one at a time by default: in the embedded mode (SQLite, one writer) that is the
fastest; against PostgreSQL ``concurrency=4`` gains a little. Results come back sorted by id, so
a run is reproducible from its ``random.Random`` seed whatever the interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random
from typing import Any, Protocol, TypeVar

import httpx

from demo.http import call as _call
from demo.http import gather as _gather
from demo.nominations import files as demo_files
from demo.nominations.data import PlannedApplication, plan
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.figures import default_edition_2020
from shared.territory import Level, Territory, Unit, load_territory

FILES: dict[DocumentKind, tuple[str, Callable[[], bytes]]] = {
    DocumentKind.project_presentation: ("project.pptx", demo_files.pptx),
    DocumentKind.project_video: ("project.mp4", demo_files.video),
}

Reason = dict[str, Any]
T = TypeVar("T")


class Bearer(Protocol):
    def __call__(self, sub: str, roles: list[str], region: str | None = None) -> dict[str, str]: ...


async def announce_2020(
    client: httpx.AsyncClient,
    bearer: Bearer,
    edition_id: str,
    scoring: dict[str, Any] | None = None,
    survey: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Announce the 2020 edition exactly as the methodology states it (organiser)."""
    body = default_edition_2020(edition_id, scoring=scoring, survey=survey)
    headers = bearer("organiser-1", ["organiser"], None)
    json = body.model_dump(mode="json")
    appended: dict[str, Any] = await _call(client.post("/v1/editions", json=json, headers=headers))
    return appended


async def submit_region_batch(
    client: httpx.AsyncClient,
    bearer: Bearer,
    edition_id: str,
    region_kato: str,
    per_district: int,
    rng: Random,
    concurrency: int = 1,
) -> list[str]:
    """For every district of the region that has rural districts, ``per_district``
    applications for distinct rural districts, with their documents; returns their ids."""
    plans = plan_region(load_territory(), region_kato, per_district, rng)
    headers = bearer(f"nominator-{region_kato}", ["nominator"], region_kato)

    async def submit(planned: PlannedApplication) -> str:
        await _submit(client, headers, edition_id, planned)
        return planned.application_id

    return sorted(await _gather(submit, plans, concurrency))


async def check_all(
    client: httpx.AsyncClient,
    bearer: Bearer,
    edition_id: str,
    region_kato: str,
    concurrency: int = 1,
) -> tuple[list[str], dict[str, list[Reason]]]:
    """The region's secretary checks every submitted application (§10, §11), recording its
    justified complaints first (§12 tie-break 4, most of them), and confirms the
    questionnaire score of each admitted one; returns the admitted ids and, for each rejected
    one, every failed rule (``code``, ``detail``, ``field``)."""
    headers = bearer(f"secretary-{region_kato}", ["secretary"], region_kato)
    pending = await _submitted(client, headers, edition_id, region_kato)

    async def check(application_id: str) -> tuple[str, list[Reason]]:
        return application_id, await _check(client, headers, application_id)

    outcomes = await _gather(check, pending, concurrency)
    admitted = sorted(app for app, errors in outcomes if not errors)
    rejected = {app: errors for app, errors in sorted(outcomes) if errors}
    return admitted, rejected


def plan_region(
    territory: Territory, region_kato: str, per_district: int, rng: Random
) -> list[PlannedApplication]:
    """The region's applications, drawn in a fixed order so that the seed decides them all."""
    plans = []
    for district in _districts(territory, region_kato):
        rural = sorted(_rural_districts(territory, district.kato), key=lambda u: u.kato)
        for unit in rng.sample(rural, min(per_district, len(rural))):
            plans.append(plan(rng, unit))
    return plans


def _districts(territory: Territory, region_kato: str) -> list[Unit]:
    children = sorted(territory.children(region_kato), key=lambda u: u.kato)
    return [
        u for u in children if u.level is Level.district and _rural_districts(territory, u.kato)
    ]


def _rural_districts(territory: Territory, district_kato: str) -> list[Unit]:
    return [u for u in territory.children(district_kato) if u.level is Level.rural_district]


async def _submit(
    client: httpx.AsyncClient, headers: dict[str, str], edition_id: str, planned: PlannedApplication
) -> None:
    body = {
        "application_id": planned.application_id,
        "edition_id": edition_id,
        "questionnaire": planned.questionnaire,
    }
    await _call(client.post("/v1/applications", json=body, headers=headers))
    for kind in planned.documents:
        filename, make = FILES.get(kind, (f"{kind}.pdf", demo_files.pdf))
        url = f"/v1/applications/{planned.application_id}/documents/{kind}"
        params = {"filename": filename}
        await _call(client.put(url, content=make(), params=params, headers=headers))


async def _submitted(
    client: httpx.AsyncClient, headers: dict[str, str], edition_id: str, region_kato: str
) -> list[str]:
    found: list[str] = []
    query: dict[str, Any] = {"edition_id": edition_id, "region": region_kato, "limit": 1000}
    while True:
        page = await _call(
            client.get("/v1/applications", params={**query, "status": "submitted"}, headers=headers)
        )
        found += [item["application_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return found
        query["after"] = page["next_cursor"]


COMPLAINTS_SOURCE = "Реестр обращений граждан акимата района"


def complaints_of(application_id: str) -> int | None:
    """The justified complaints the demo's secretary records (§12 tie-break 4): a figure
    drawn from the id, or None for about one application in eight, left without a record
    so that the tie-break's skipped step shows up too."""
    digest = int(application_id.replace("-", ""), 16)
    return None if digest % 8 == 0 else (digest >> 3) % 4


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], application_id: str
) -> list[Reason]:
    url = f"/v1/applications/{application_id}"
    count = complaints_of(application_id)
    if count is not None:
        body = {"count": count, "source": COMPLAINTS_SOURCE}
        await _call(client.post(f"{url}/complaints", json=body, headers=headers))
    decision = await _call(client.post(f"{url}/admission-check", headers=headers))
    if decision["status"] == "admitted":
        await _call(client.post(f"{url}/questionnaire-score/confirmation", headers=headers))
    errors: list[Reason] = decision["errors"]
    return errors
