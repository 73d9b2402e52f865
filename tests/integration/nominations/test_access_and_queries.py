"""Who may do what (401/403 by role and region), reading back, and no 500 for bad input."""

from __future__ import annotations

import asyncio
import uuid

from demo.nominations import files as demo_files
from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.figures import default_edition_2020
from shared.runtime import ServiceRuntime
from shared.territory import Level, load_territory
from tests.unit.nominations.builders import questionnaire

from .support import OTHER_REGION, REGION, Nominations


async def test_a_command_without_a_token_is_401_and_another_regions_is_403(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    check = f"/v1/applications/{application}/admission-check"
    anonymous = await api.client.post(check)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "token_missing")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    elsewhere = api.bearer(f"secretary-{OTHER_REGION}", ["secretary"], OTHER_REGION)
    foreign = await api.client.post(check, headers=elsewhere)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "region_not_allowed")
    upload = f"/v1/applications/{application}/documents/service_record"
    stranger = await api.client.put(upload, content=demo_files.pdf(), headers=elsewhere)
    assert stranger.status_code == 403
    nominator_checks = await api.client.post(check, headers=api.nominator)
    assert (nominator_checks.status_code, nominator_checks.json()["code"]) == (
        403,
        "role_not_allowed",
    )


async def test_only_the_organiser_announces_and_every_event_records_its_actor(
    api: Nominations, runtime: ServiceRuntime
) -> None:
    body = default_edition_2020(str(uuid.uuid4())).model_dump(mode="json")
    refused = await api.client.post("/v1/editions", json=body, headers=api.secretary)
    assert (refused.status_code, refused.json()["code"]) == (403, "role_not_allowed")
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.upload(application, DocumentKind.service_record, demo_files.pdf())
    events = await runtime.store.load(f"application-{application}")
    assert [(e.actor.id, e.actor.role, e.actor.region) for e in events] == [
        (f"nominator-{REGION}", "nominator", REGION)
    ] * 2


async def test_applications_are_listed_by_district_and_status_page_by_page(
    api: Nominations,
) -> None:
    edition = await api.announce()
    territory = load_territory()
    district = "193600000"
    rural = [u.kato for u in territory.children(district) if u.level is Level.rural_district]
    made = [await api.submitted(edition, rural_district=kato) for kato in rural[:5]]
    url = "/v1/applications"
    query: dict[str, str | int] = {
        "edition_id": edition,
        "district": district,
        "status": "submitted",
        "limit": 2,
    }
    seen: list[str] = []
    while True:
        page = (await api.client.get(url, params=query, headers=api.secretary)).json()
        seen += [item["application_id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        query["after"] = page["next_cursor"]
    assert sorted(seen) == sorted(made)
    admitted = {**query, "status": "admitted", "after": ""}
    assert (await api.client.get(url, params=admitted, headers=api.secretary)).json()["items"] == []


async def test_a_region_scoped_reader_sees_only_its_region(api: Nominations) -> None:
    edition = await api.announce()
    await api.submitted(edition)
    elsewhere = api.bearer("auditor-11", ["auditor"], OTHER_REGION)
    own = await api.client.get(
        "/v1/applications", params={"edition_id": edition}, headers=elsewhere
    )
    assert own.json()["items"] == []
    other = {"edition_id": edition, "region": REGION}
    refused = await api.client.get("/v1/applications", params=other, headers=elsewhere)
    assert (refused.status_code, refused.json()["code"]) == (403, "region_not_allowed")


async def test_malformed_requests_are_answered_400_or_404_never_500(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    h = api.nominator
    answers = [
        await api.client.post("/v1/applications", content=b"{not json", headers=h),
        await api.client.post("/v1/applications", json={"edition_id": edition}, headers=h),
        await api.client.put(
            f"/v1/applications/{application}/documents/selfie", content=b"x", headers=h
        ),
        await api.client.post(
            "/v1/applications/not-a-uuid/withdrawal", json={"reason": "x"}, headers=h
        ),
        await api.client.get(
            "/v1/applications", params={"edition_id": edition, "after": "%%%"}, headers=h
        ),
        await api.client.get(f"/v1/applications/{uuid.uuid4()}", headers=h),
        await api.client.get(f"/v1/editions/{uuid.uuid4()}"),
        await api.client.get("/v1/territories/12345"),
    ]
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 400, 404, 404, 400]
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers)


async def test_a_retried_submission_with_the_same_idempotency_key_appends_nothing(
    api: Nominations,
) -> None:
    edition = await api.announce()
    body_headers = {**api.nominator, "Idempotency-Key": str(uuid.uuid4())}
    form = {
        "edition_id": edition,
        "application_id": str(uuid.uuid4()),
        "questionnaire": questionnaire().model_dump(mode="json"),
    }
    first = await api.client.post("/v1/applications", json=form, headers=body_headers)
    again = await api.client.post("/v1/applications", json=form, headers=body_headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_concurrent_retries_with_one_idempotency_key_all_get_the_first_answer(
    api: Nominations,
) -> None:
    """A client that gave up waiting retries while its first attempt is still running: every
    attempt gets the one answer (201, replayed), none a refusal of its own first attempt."""
    edition = await api.announce()
    body_headers = {**api.nominator, "Idempotency-Key": str(uuid.uuid4())}
    form = {
        "edition_id": edition,
        "application_id": str(uuid.uuid4()),
        "questionnaire": questionnaire().model_dump(mode="json"),
    }
    answers = await asyncio.gather(
        *(api.client.post("/v1/applications", json=form, headers=body_headers) for _ in range(8))
    )
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
