"""The nominator in the real Chromium, on the embedded system, in Ulytau while the application
window is open: the Annex 1 and 2 form with every field, a draft kept and taken up again, a
refused field shown beside its input with everything typed kept, the submission; the
documents attached from the browser — a PDF as a plain form upload with JavaScript off, the
project video in resumable pieces with one piece lost on the way —; after the secretary's
check the nominator sees the application admitted. A second application without its service
record is rejected and its page names every reason; one submitted after the window is refused
with the deadline in Almaty time. Every page in kk, ru and en, at phone and desktop width,
with axe-core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from demo.nominations import files as demo_files
from services.portal.i18n import gettext
from shared.territory import Level, load_territory
from tests.e2e.portal.harness import Running, accessible, keep, rehearsal
from tests.e2e.portal.test_commission_workspace import bearer, new_page, sign_in

pytestmark = pytest.mark.integration

REGION = "620000000"
NOMINATOR = f"nominator-{REGION}"


@pytest.fixture(scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Running]:
    data = tmp_path_factory.mktemp("portal-nominator") / "data"
    # handed over while the application window is open (the demo's nominators submitted theirs
    # on 10 June); the business clock only moves forward, so the scenario below does all the
    # window's work first, then the late attempt, then the check period
    async with rehearsal(
        data, [REGION], per_district=1, until="applications", handover=(2020, 6, 10, 12)
    ) as up:
        yield up


def _(text: str, **values: Any) -> str:
    return gettext("ru", text, **values)


async def free_rural_districts(up: Running) -> list[str]:
    """Rural districts of the region whose akim has no application yet."""
    b = up.outcome.commissions.regional[REGION]
    answer = await up.system.embedded.clients["nominations"].get(
        "/v1/applications",
        params={"edition_id": up.outcome.edition_id, "region": REGION, "limit": 1000},
        headers=bearer(up, b.secretary, ["secretary"], REGION, b.commission_id),
    )
    taken = {a["rural_district_kato"] for a in answer.json()["items"]}
    territory = load_territory()
    return [
        u.kato
        for d in territory.children(REGION)
        if d.level is Level.district
        for u in territory.children(d.kato)
        if u.level is Level.rural_district and u.kato not in taken
    ]


async def fill_required(page: Any, rural_district: str, surname: str) -> None:
    await page.select_option("#f-nominator-kind", "local_executive_body")
    await page.fill("#f-nominator-name", "Аппарат акима Улытауской области")
    await page.fill("#f-akim-surname", surname)
    await page.fill("#f-akim-given_name", "Динара")
    await page.fill("#f-akim-patronymic", "Ермековна")
    await page.fill("#f-position", "аким сельского округа")
    await page.select_option("#f-rural_district_kato", rural_district)
    await page.fill("#f-appointed_akim_on", "2017-03-01")
    await page.fill("#f-civil_service-years", "9")
    await page.fill("#f-indicators-as_of", "2020-01-01")
    await page.fill("#f-indicators-investment_tenge", "150 000 000")
    await page.fill("#f-indicators-jobs_created", "42")
    await page.fill("#f-indicators-agricultural_output_tenge", "2300000000")
    await page.fill("#f-indicators-migration-arrived", "120")
    await page.fill("#f-indicators-migration-departed", "95")
    await page.fill("#f-indicators-registered_offences", "7")
    await page.check("#f-statement-agrees_to_terms")
    await page.check("#f-statement-consents_to_personal_data")
    await page.fill("#f-statement-signed_on", "2020-06-10")


async def attach_plain(browser: Any, up: Running, application: str, kind: str, path: Path) -> None:
    """A document through the plain form, in a browser with JavaScript off."""
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await sign_in(page, up, NOMINATOR, "")
    await page.goto(f"{up.url}/applications/{application}?lang=ru")
    await page.set_input_files(f"#file-{kind}", str(path))
    await page.click(f"form[action$='/documents/{kind}'] button")
    await page.wait_for_load_state()
    assert _("The document is attached.") in await page.content()
    await context.close()


async def check(up: Running, application: str) -> dict[str, Any]:
    """The secretary's admission check (the clock in the check period)."""
    b = up.outcome.commissions.regional[REGION]
    r = await up.system.embedded.clients["nominations"].post(
        f"/v1/applications/{application}/admission-check",
        headers=bearer(up, b.secretary, ["secretary"], REGION, b.commission_id),
    )
    assert r.status_code == 201, r.text
    decided: dict[str, Any] = r.json()
    return decided


async def complete_application(running: Running, browser: Any, tmp_path: Path) -> str:
    """A complete application, by the browser, while the window is open: its id."""
    up = running
    rural = (await free_rural_districts(up))[0]
    page = await new_page(browser)
    await sign_in(page, up, NOMINATOR, "")
    await page.click("a[href$='/nominator']")
    await page.wait_for_load_state()
    await keep(page, "nominator-home")
    await accessible(page, "nominator-home")
    await page.click("a[href*='/nominator/applications/new']")
    await page.wait_for_load_state()

    # a draft: half the form, kept, found again with everything typed
    await page.fill("#f-akim-surname", "Ахметова")
    await page.fill("#f-contacts-phone", "+7 (701) 555-12-34")
    await page.fill("#f-education-0-institution", "Карагандинский университет")
    await page.click("button[value=draft]")
    await page.wait_for_load_state()
    assert _("Draft kept. It is not submitted until you submit it.") in await page.content()
    await page.goto(f"{up.url}/nominator?lang=ru")
    await page.click("section[aria-labelledby=drafts] a")
    await page.wait_for_load_state()
    assert await page.input_value("#f-akim-surname") == "Ахметова"
    assert await page.input_value("#f-education-0-institution") == "Карагандинский университет"

    await fill_required(page, rural, "Ахметова")
    await page.fill("#f-place_of_work", "Аппарат акима сельского округа")
    await page.fill("#f-contacts-email", "не адрес")
    await page.fill("#f-academic_title", "доцент")
    await page.fill("#f-education-0-graduated_in", "2004")
    await page.fill("#f-education-0-speciality", "экономика")
    await page.select_option("#f-education-0-level", "higher")
    await page.fill("#f-internships-0-title", "Местное самоуправление")
    await page.fill("#f-internships-0-institution", "Академия госуправления")
    await page.fill("#f-internships-0-specialisation", "сельское развитие")
    await page.select_option("#f-languages-0-language", "state")
    await page.select_option("#f-languages-0-level", "fluent")
    await page.click("button[value=submit]")
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1
    assert await page.locator("#f-contacts-email[aria-invalid=true]").count() == 1
    assert await page.input_value("#f-academic_title") == "доцент"  # nothing typed is lost
    await keep(page, "nominator-form-refused")
    await accessible(page, "nominator-form-refused")
    await page.fill("#f-contacts-email", "akim.ulytau@example.kz")
    await page.click("button[value=submit]")
    await page.wait_for_load_state()
    assert _("The application is submitted. Now attach its documents.") in await page.content()
    application = page.url.split("/applications/")[1].split("?")[0].split("#")[0]

    # the §9 file: PDFs as plain uploads (JavaScript off), the video in resumable pieces
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(demo_files.pdf())
    for kind in (
        "application_form",
        "identity_document",
        "service_record",
        "questionnaire",
        "socio_economic_indicators",
    ):
        await attach_plain(browser, up, application, kind, pdf)
    video = tmp_path / "project.mp4"
    video.write_bytes(demo_files.video(240, 128))
    await page.goto(f"{up.url}/applications/{application}?lang=ru")
    await page.evaluate(
        "document.querySelector(\"form[data-kind='project_video']\").dataset.chunk = '1024'"
    )
    patches: list[str] = []
    lost = {"done": False}

    async def lose_one(route: Any) -> None:
        patches.append(route.request.headers.get("upload-offset", ""))
        if len(patches) == 3 and not lost["done"]:
            lost["done"] = True
            await route.abort("connectionreset")
        else:
            await route.continue_()

    await page.route("**/portal/uploads/*", lambda route: _patch_only(route, lose_one))
    await page.set_input_files("#file-project_video", str(video))
    async with page.expect_navigation(timeout=60_000):
        await page.click("form[data-kind='project_video'] button")
    await page.wait_for_load_state()
    assert lost["done"] and len(patches) > 3, patches
    got = await up.system.embedded.clients["nominations"].get(
        f"/v1/applications/{application}",
        headers=bearer(up, NOMINATOR, ["nominator"], REGION, ""),
    )
    files = {f["kind"]: f for f in got.json()["files"]}
    assert files["project_video"]["duration_seconds"] == 240
    assert files["project_video"]["size_bytes"] == video.stat().st_size
    await keep(page, "nominator-application")
    await accessible(page, "nominator-application")

    return application


async def _patch_only(route: Any, handler: Any) -> None:
    if route.request.method == "PATCH":
        await handler(route)
    else:
        await route.continue_()


async def test_nominators_apply_in_the_browser_and_see_the_outcome(
    running: Running, browser: Any, tmp_path: Path
) -> None:
    up = running
    complete = await complete_application(running, browser, tmp_path)
    rural = (await free_rural_districts(up))[0]
    page = await new_page(browser)
    await sign_in(page, up, NOMINATOR, "")
    await page.goto(f"{up.url}/nominator/applications/new?edition={up.outcome.edition_id}&lang=kk")
    await keep(page, "nominator-form-kk")
    await accessible(page, "nominator-form-kk")
    await page.goto(f"{up.url}/nominator/applications/new?edition={up.outcome.edition_id}&lang=ru")
    await fill_required(page, rural, "Серикбаев")
    await page.click("button[value=submit]")
    await page.wait_for_load_state()
    application = page.url.split("/applications/")[1].split("?")[0].split("#")[0]
    pdf = tmp_path / "scan.pdf"
    pdf.write_bytes(demo_files.pdf())
    for kind in ("application_form", "identity_document", "questionnaire"):
        await attach_plain(browser, up, application, kind, pdf)
    late = (await free_rural_districts(up))[0]
    up.clock.set(2020, 6, 23, 12)  # after the window
    await page.goto(f"{up.url}/nominator/applications/new?edition={up.outcome.edition_id}&lang=en")
    await fill_required(page, late, "Late")
    await page.click("button[value=submit]")
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert "The application window closed on" in text
    assert "(Almaty time)" in text
    assert await page.input_value("#f-akim-surname") == "Late"  # nothing typed is lost
    await keep(page, "nominator-late-en")

    up.clock.set(2020, 6, 25)  # the check period: the secretary checks both
    decided = await check(up, application)
    assert decided["status"] == "rejected"
    await page.goto(f"{up.url}/applications/{application}?lang=ru")
    failures = await page.locator("ol.failures li").all_inner_texts()
    codes = [f.split(" — ")[0] for f in failures]
    assert codes == [f["code"] for f in decided["errors"]]
    assert len(codes) >= 3 and "document_missing" in codes  # service record, indicators, project
    await keep(page, "nominator-rejected")
    await accessible(page, "nominator-rejected")

    decided = await check(up, complete)
    assert decided["status"] == "admitted", decided
    await page.goto(f"{up.url}/applications/{complete}?lang=ru")
    assert _("Admitted: every rule holds.") in await page.inner_text("main")
    for lang in ("kk", "en"):
        await page.goto(f"{up.url}/applications/{complete}?lang={lang}")
        assert gettext(lang, "Admitted: every rule holds.") in await page.inner_text("main")
        await keep(page, f"nominator-admitted-{lang}")
        await accessible(page, f"nominator-admitted-{lang}")

    # the nominator withdraws the admitted application: refused without a reason, then done
    await page.goto(f"{up.url}/applications/{complete}?lang=ru")
    await page.click("section[aria-labelledby=withdraw] summary")
    await page.click("form[action$='/withdrawal'] button")
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").count() == 1
    await page.click("section[aria-labelledby=withdraw] summary")
    await page.fill("#f-withdraw-reason", "Аким переведён на другую должность")
    await page.click("form[action$='/withdrawal'] button")
    await page.wait_for_load_state()
    assert _("The application is withdrawn.") in await page.content()
    assert _("withdrawn") in await page.inner_text("main .tag")
