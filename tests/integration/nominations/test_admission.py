"""Submission and the secretary's admission check through HTTP, on PostgreSQL (§6–§11)."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.nominations.domain.documents import DocumentKind
from services.nominations.domain.figures import default_edition_2020
from services.nominations.domain.values import ALMATY

from .support import Nominations

UNLIFTED = {"kind": "disciplinary", "imposed_on": "2019-11-04", "lifted": False}


async def test_a_complete_eligible_application_is_admitted_and_its_score_confirmed(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.attach_all(application)
    decision = await api.check(application)
    assert decision.status_code == 201, decision.text
    assert decision.json()["status"] == "admitted"
    assert decision.json()["questionnaire_score"]["max_total"] == 29
    url = f"/v1/applications/{application}/questionnaire-score/confirmation"
    confirmed = await api.client.post(url, headers=api.secretary)
    assert confirmed.status_code == 201, confirmed.text
    assert (await api.get(application))["score_confirmed"] is True


async def test_a_rejection_lists_every_failed_rule(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition, appointed_akim_on="2019-07-01", sanctions=[UNLIFTED])
    # §9 item 6 is missing only without both (DOMAIN's reading): named once, by its first kind
    skip = [DocumentKind.project_presentation, DocumentKind.project_video]
    await api.attach_all(application, skip=skip)
    decision = await api.check(application)
    assert decision.status_code == 201, decision.text
    body = decision.json()
    assert body["status"] == "rejected"
    assert [(e["code"], e["field"]) for e in body["errors"]] == [
        ("akim_term_too_short", "questionnaire.appointed_akim_on"),
        ("sanction_not_lifted", "questionnaire.sanctions[0]"),
        ("document_missing", "documents.project_presentation"),
    ]
    assert (await api.get(application))["rejection_codes"] == [e["code"] for e in body["errors"]]


async def test_an_akim_appointed_less_than_a_year_before_submission_is_rejected_as_term_too_short(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition, appointed_akim_on="2019-07-01")
    await api.attach_all(application)
    errors = (await api.check(application)).json()["errors"]
    assert [e["code"] for e in errors] == ["akim_term_too_short"]
    assert "appointed akim on 2019-07-01" in errors[0]["detail"]


async def test_a_file_with_the_video_but_no_presentation_is_admitted(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.attach_all(application, skip=[DocumentKind.project_presentation])
    decision = await api.check(application)
    assert decision.json()["status"] == "admitted", decision.text


async def test_an_akim_with_a_sanction_not_lifted_is_rejected(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition, sanctions=[UNLIFTED])
    await api.attach_all(application)
    errors = (await api.check(application)).json()["errors"]
    assert [e["code"] for e in errors] == ["sanction_not_lifted"]


async def test_an_application_a_second_after_the_window_is_refused_with_both_times(
    api: Nominations,
) -> None:
    edition = await api.announce()
    api.clock.set(datetime(2020, 6, 23, 0, 0, 1, tzinfo=ALMATY))
    refused = await api.submit(edition)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "application_late"
    assert body["deadline"] == "2020-06-23T00:00:00+06:00"
    assert body["received_at"] == "2020-06-23T00:00:01+06:00"
    assert "closed at 2020-06-23 00:00:00 Asia/Almaty" in body["detail"]
    assert "arrived at 2020-06-23 00:00:01" in body["detail"]


async def test_the_window_ending_on_saturday_20_june_runs_to_the_end_of_monday_22_june(
    api: Nominations,
) -> None:
    edition = await api.announce()
    shown = (await api.client.get(f"/v1/editions/{edition}")).json()
    assert shown["calendar"]["application_window_closes_at"] == "2020-06-23T00:00:00+06:00"
    api.clock.set(datetime(2020, 6, 22, 23, 59, 59, tzinfo=ALMATY))
    assert (await api.submit(edition)).status_code == 201


async def test_a_second_application_for_the_same_akim_is_refused_naming_the_first(
    api: Nominations,
) -> None:
    edition = await api.announce()
    first = await api.submitted(edition)
    refused = await api.submit(edition)
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["application_id"]) == (
        "duplicate_application",
        first,
    )


async def test_withdrawing_lets_the_akim_apply_again(api: Nominations) -> None:
    edition = await api.announce()
    first = await api.submitted(edition)
    url = f"/v1/applications/{first}/withdrawal"
    withdrawn = await api.client.post(
        url, json={"reason": "подано с ошибкой"}, headers=api.nominator
    )
    assert withdrawn.status_code == 201, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await api.submit(edition)).status_code == 201


async def test_an_extended_window_takes_an_application_the_old_one_refused(
    api: Nominations,
) -> None:
    edition = await api.announce()
    extension = {
        "step": "application_window",
        "new_deadline": "2020-06-25T00:00:00+06:00",
        "reason": "паводок в районе",
    }
    url = f"/v1/editions/{edition}/deadline-extensions"
    extended = await api.client.post(url, json=extension, headers=api.organiser)
    assert extended.status_code == 201, extended.text
    api.clock.set(datetime(2020, 6, 23, 0, 1, tzinfo=ALMATY))
    assert (await api.submit(edition)).status_code == 201
    shown = (await api.client.get(f"/v1/editions/{edition}")).json()
    assert shown["calendar"]["application_window_closes_at"] == "2020-06-25T00:00:00+06:00"
    assert shown["extensions"][0]["reason"] == "паводок в районе"


async def test_the_secretary_corrects_a_score_with_a_reason_and_the_old_one_is_kept(
    api: Nominations,
) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    await api.attach_all(application)
    assert (await api.check(application)).json()["questionnaire_score"]["total"] == 0
    url = f"/v1/applications/{application}/questionnaire-score/corrections"
    body = {"items": ["state_language"], "reason": "сертификат Казтест не учтён"}
    corrected = await api.client.post(url, json=body, headers=api.secretary)
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["superseded_totals"] == [0]
    assert corrected.json()["score"]["total"] == 3  # Annex 3: the state language, 3 points
    assert corrected.json()["confirmed"] is True


async def test_the_check_before_the_window_closes_is_refused(api: Nominations) -> None:
    edition = await api.announce()
    application = await api.submitted(edition)
    url = f"/v1/applications/{application}/admission-check"
    early = await api.client.post(url, headers=api.secretary)
    assert (early.status_code, early.json()["code"]) == (409, "check_period_not_started")


async def test_an_edition_announced_after_its_announcement_deadline_is_refused_422(
    api: Nominations,
) -> None:
    command = default_edition_2020(str(uuid.uuid4()))
    moment = datetime(2020, 5, 31, 9, 0, tzinfo=ALMATY)
    calendar = command.calendar.model_copy(
        update={"announced_at": moment, "application_window_opens_at": moment}
    )
    body = command.model_copy(update={"calendar": calendar}).model_dump(mode="json")
    refused = await api.client.post("/v1/editions", json=body, headers=api.organiser)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "announcement_late"
    assert "2020-05-31 09:00:00" in refused.json()["detail"]
