"""The public survey page in the real Chromium (Playwright), on a phone-sized screen, served by
``uzdik serve survey`` on PostgreSQL and Kafka: a resident answers in Kazakh and sees the
confirmation; the same IIN again is refused in the page's language; a Russian-speaking
resident answers with the keyboard alone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.survey.domain.iin import make_iin
from services.survey.web import message
from tests.integration.survey.service import SurveyProcess, create_database, drop_database

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
async def service(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SurveyProcess]:
    url = await create_database(pg_admin_url)
    log = tmp_path_factory.mktemp("page") / "service.log"
    process = SurveyProcess(url, kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}", log)
    try:
        await process.start()
        yield process
    finally:
        process.stop()
        await drop_database(pg_admin_url, url)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def open_survey(service: SurveyProcess) -> str:
    now = datetime.now(UTC)
    survey_id = str(uuid.uuid4())
    body = {
        "survey_id": survey_id,
        "edition_id": str(uuid.uuid4()),
        "candidate_id": str(uuid.uuid4()),
        "settlement_kato": "111033000",
        "region_kato": "110000000",
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + timedelta(days=7)).isoformat(),
    }
    async with httpx.AsyncClient(base_url=service.base_url) as client:
        r = await client.post("/v1/surveys", json=body, headers=service.token("o", ["organiser"]))
    assert r.status_code == 201, r.text
    return survey_id


async def phone(browser: Any, locale: str) -> Any:
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=locale
    )
    return context, await context.new_page()


async def fill_and_send(page: Any, iin: str, scores: list[int]) -> None:
    await page.locator("#iin").fill(iin)
    for number, score in enumerate(scores, start=1):
        await page.locator(f"#q{number} input[value='{score}']").check()
    await page.locator("button[type=submit]").click()
    await page.wait_for_load_state()


async def test_a_resident_answers_in_kazakh_and_a_second_answer_is_refused_in_kazakh(
    service: SurveyProcess, browser: Any, tmp_path: Path
) -> None:
    survey_id = await open_survey(service)
    context, page = await phone(browser, "kk-KZ")
    try:
        await page.goto(f"{service.base_url}/surveys/{survey_id}")
        assert await page.locator("html").get_attribute("lang") == "kk"
        assert await page.locator("script").count() == 0  # no JavaScript
        label = page.get_by_label("ЖСН", exact=False)
        assert await label.count() == 1  # the IIN field has its label
        assert await page.locator("fieldset legend").count() == 16
        await page.screenshot(path=str(tmp_path / "form-kk.png"), full_page=False)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]  # nothing wider than the phone

        resident = make_iin(910_001)
        await fill_and_send(page, resident, [8] * 16)
        confirmation = page.get_by_role("status")
        assert (await confirmation.inner_text()).startswith(message("response_recorded", "kk"))
        await page.screenshot(path=str(tmp_path / "confirmation-kk.png"))

        await page.goto(f"{service.base_url}/surveys/{survey_id}")
        await fill_and_send(page, resident, [2] * 16)
        alert = page.get_by_role("alert")
        assert message("already_answered", "kk") in await alert.inner_text()
        assert await page.locator("html").get_attribute("lang") == "kk"
        await page.screenshot(path=str(tmp_path / "refusal-kk.png"), full_page=True)
    finally:
        await context.close()


async def test_a_russian_speaking_resident_answers_with_the_keyboard_alone(
    service: SurveyProcess, browser: Any, tmp_path: Path
) -> None:
    survey_id = await open_survey(service)
    context, page = await phone(browser, "en-US")
    try:
        await page.goto(f"{service.base_url}/surveys/{survey_id}")
        await page.get_by_role("link", name="Русский").click()  # the language switcher
        await page.wait_for_load_state()
        assert await page.locator("html").get_attribute("lang") == "ru"
        await page.locator("#iin").focus()
        await page.keyboard.type(make_iin(910_002))
        for _ in range(16):  # Tab to each group's first radio, then arrows pick the score
            await page.keyboard.press("Tab")
            for _ in range(7):
                await page.keyboard.press("ArrowRight")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await page.wait_for_load_state()
        status = await page.get_by_role("status").inner_text()
        assert status.startswith(message("response_recorded", "ru"))
        await page.screenshot(path=str(tmp_path / "confirmation-ru.png"))
    finally:
        await context.close()
