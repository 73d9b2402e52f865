"""The secretary's admission check in the real Chromium, on the embedded system: the demo's
nominators submit Ulytau's applications (some of them ineligible for a named reason); the
region's secretary lists them with what each file lacks, checks every one in the browser, sees
every failed rule of a rejected one, confirms an admitted one's Annex 3 score and corrects it
with a reason (refused without one), and records the justified complaints with their source."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.portal.i18n import gettext
from tests.e2e.portal.harness import Running, accessible, keep, rehearsal
from tests.e2e.portal.test_commission_workspace import bearer, new_page, sign_in

pytestmark = pytest.mark.integration

REGION = "620000000"


@pytest.fixture(scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    data = tmp_path_factory.mktemp("portal-admission") / "data"
    async with rehearsal(data, [REGION], per_district=2, until="applications") as up:
        yield up


def _(text: str, **values: Any) -> str:
    return gettext("ru", text, **values)


async def listed(up: Running) -> list[dict[str, Any]]:
    b = up.outcome.commissions.regional[REGION]
    headers = bearer(up, b.secretary, ["secretary"], REGION, b.commission_id)
    answer = await up.system.embedded.clients["nominations"].get(
        "/v1/applications",
        params={"edition_id": up.outcome.edition_id, "region": REGION, "limit": 1000},
        headers=headers,
    )
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_the_secretary_checks_every_application_in_the_browser(
    running: Running, browser: Any
) -> None:
    up, b = running, running.outcome.commissions.regional[REGION]
    before = await listed(up)
    assert before and all(a["status"] == "submitted" for a in before)

    page = await new_page(browser)
    await sign_in(page, up, b.secretary, b.commission_id)
    await page.click(f"a[href$='/commissions/{b.commission_id}/applications']")
    await page.wait_for_load_state()
    assert f"{_('submitted, not checked')}: {len(before)}" in await page.inner_text("main")
    await keep(page, "applications")
    await accessible(page, "applications")

    for a in before:
        await page.goto(f"{up.url}/applications/{a['application_id']}?lang=ru")
        await page.click("form[action$='/check'] button")
        await page.wait_for_load_state()
        assert _("Checked.") in await page.content()
    after = {a["application_id"]: a for a in await listed(up)}
    rejected = [a for a in after.values() if a["status"] == "rejected"]
    admitted = [a for a in after.values() if a["status"] == "admitted"]
    assert rejected and admitted and len(rejected) + len(admitted) == len(before)

    await page.goto(f"{up.url}/applications/{rejected[0]['application_id']}?lang=ru")
    failures = await page.locator("ol.failures li").all_inner_texts()
    assert [f.split(" — ")[0] for f in failures] == rejected[0]["rejection_codes"]
    await keep(page, "application-rejected")
    await accessible(page, "application-rejected")

    chosen = admitted[0]["application_id"]
    await page.goto(f"{up.url}/applications/{chosen}?lang=ru")
    await page.click("form[action$='/score/confirmation'] button")
    await page.wait_for_load_state()
    assert _("The Annex 3 score is confirmed.") in await page.content()

    applied = page.locator("input[name=items]:checked")
    ticked = await applied.count()
    assert ticked >= 1
    await page.click("details:has(form[action$='/score/correction']) summary")
    await applied.first.uncheck()
    await page.click("form[action$='/score/correction'] button")  # no reason: refused
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1
    assert await page.locator("input[name=items]:checked").count() == ticked - 1  # kept
    total_before = admitted[0]["questionnaire_score"]
    reason = "Стаж госслужбы подтверждён только с 2012 года"
    await page.fill("#f-reason", reason)
    await page.click("form[action$='/score/correction'] button")
    await page.wait_for_load_state()
    assert _("The Annex 3 score is corrected.") in await page.content()
    now = {a["application_id"]: a for a in await listed(up)}[chosen]
    assert now["questionnaire_score"] < total_before

    await page.fill("#f-count", "два")
    await page.fill("#f-source", "Реестр обращений акимата")
    await page.click("form[action$='/complaints'] button")
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1
    assert await page.input_value("#f-source") == "Реестр обращений акимата"  # nothing lost
    await page.fill("#f-count", "2")
    await page.click("form[action$='/complaints'] button")
    await page.wait_for_load_state()
    assert _("Complaints recorded.") in await page.content()
    now = {a["application_id"]: a for a in await listed(up)}[chosen]
    assert now["justified_complaints"] == 2
    await keep(page, "application-admitted")
    await accessible(page, "application-admitted")
