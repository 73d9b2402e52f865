"""§12 tie-break (4) through HTTP: the secretary's figure of justified complaints, on the topic."""

from __future__ import annotations

from typing import Any

import httpx

from shared.relay import topic_for
from shared.runtime import ServiceRuntime

from .support import OTHER_REGION, Nominations
from .test_topic import records_of


async def record(
    api: Nominations, application: str, body: dict[str, Any], **headers: str
) -> httpx.Response:
    url = f"/v1/applications/{application}/complaints"
    return await api.client.post(url, json=body, headers=headers or api.secretary)


async def test_recorded_complaints_are_shown_and_published_and_a_second_record_supersedes(
    api: Nominations, runtime: ServiceRuntime, kafka_bootstrap: str
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    first = await record(api, application, {"count": 2, "source": "akimat register"})
    assert first.status_code == 201, first.text
    assert first.json()["count"] == 2 and len(first.json()["event_ids"]) == 1
    await api.attach_all(application)
    assert (await api.check(application)).json()["status"] == "admitted"
    second = await record(api, application, {"count": 0, "source": "prosecutor's office"})
    assert second.status_code == 201, second.text

    shown = await api.get(application)
    assert shown["complaints"] == {"count": 0, "source": "prosecutor's office"}
    assert shown["justified_complaints"] == 0
    listed = await api.client.get(
        "/v1/applications", params={"edition_id": edition}, headers=api.secretary
    )
    assert [i["justified_complaints"] for i in listed.json()["items"]] == [0]

    topic = topic_for("nominations", runtime.settings.topic_prefix)
    published = await records_of(kafka_bootstrap, topic, f"application-{application}", 13)
    recorded = [r for r in published if r["event_type"] == "JustifiedComplaintsRecorded"]
    assert [(r["schema_version"], r["payload"]) for r in recorded] == [
        (1, {"application_id": application, "edition_id": edition, "count": c, "source": s})
        for c, s in ((2, "akimat register"), (0, "prosecutor's office"))
    ]


async def test_an_application_without_a_record_shows_no_figure_not_zero(api: Nominations) -> None:
    application = await api.submitted(await api.announce())
    shown = await api.get(application)
    assert shown["complaints"] is None and shown["justified_complaints"] is None


async def test_a_withdrawn_application_is_refused_409(api: Nominations) -> None:
    application = await api.submitted(await api.announce())
    url = f"/v1/applications/{application}/withdrawal"
    withdrawn = await api.client.post(url, json={"reason": "moved"}, headers=api.nominator)
    assert withdrawn.status_code == 201, withdrawn.text
    refused = await record(api, application, {"count": 1, "source": "register"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "application_withdrawn"


async def test_a_rejected_application_is_refused_409(api: Nominations) -> None:
    application = await api.submitted(
        await api.announce(),
        sanctions=[{"kind": "disciplinary", "imposed_on": "2019-11-04", "lifted": False}],
    )
    await api.attach_all(application)
    assert (await api.check(application)).json()["status"] == "rejected"
    refused = await record(api, application, {"count": 1, "source": "register"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "application_rejected"


async def test_bad_bodies_and_other_actors_are_refused_never_500(api: Nominations) -> None:
    application = await api.submitted(await api.announce())
    for body in ({"count": -1, "source": "r"}, {"count": 1, "source": "  "}, {"count": 1}):
        r = await record(api, application, body)
        assert r.status_code in (400, 422), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    other = api.bearer(f"secretary-{OTHER_REGION}", ["secretary"], OTHER_REGION)
    assert (await record(api, application, {"count": 1, "source": "r"}, **other)).status_code == 403
    by_nominator = await record(api, application, {"count": 1, "source": "r"}, **api.nominator)
    assert by_nominator.status_code == 403
