"""Swagger UI and ReDoc with no network (issue 15, item 6): served by ``uzdik serve`` from the
package's own files; in Chromium every request off this machine is refused and recorded, and
the pages still render, with the bearer scheme behind Swagger UI's Authorize button."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from shared.auth import issue_dev_token
from shared.settings import Settings
from tests.e2e.survey.test_survey_page import ARGS, CHROMIUM
from tests.e2e.test_serve import served

pytestmark = pytest.mark.integration


@pytest.fixture
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


async def offline_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A page whose requests beyond 127.0.0.1 are aborted (and listed)."""
    context = await browser.new_context()
    outside: list[str] = []

    async def gate(route: Any) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await context.route("**/*", gate)
    return context, await context.new_page(), outside


async def test_swagger_ui_and_redoc_load_with_no_network_and_take_a_bearer_token(
    browser: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    async with served(folder) as system:
        context, page, outside = await offline_page(browser)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            await page.goto(f"{system.base}/reporting/docs")
            title = page.locator(".swagger-ui .info .title")
            await title.wait_for(timeout=20_000)
            assert "uzdik reporting" in await title.inner_text()
            await page.locator(".opblock").first.wait_for()
            await page.screenshot(path=str(tmp_path / "swagger.png"))

            # Authorize with a dev token, then call a read model from the page
            token = issue_dev_token(Settings(_env_file=None), "auditor-1", ["auditor"])
            await page.locator("button.authorize").first.click()
            await page.locator(".auth-container input").first.fill(token)
            await page.locator(".auth-btn-wrapper button.authorize").click()
            await page.locator("button.btn-done").click()
            operation = page.locator(".opblock-get", has_text="/v1/read-models/{model}").first
            await operation.locator(".opblock-summary").click()
            await operation.locator("input[placeholder='model']").fill("editions")
            await operation.locator("button.execute").click()
            status = operation.locator(".live-responses-table .response .response-col_status")
            await status.first.wait_for(timeout=20_000)
            assert (await status.first.inner_text()).strip() == "200"
            await page.screenshot(path=str(tmp_path / "swagger-called.png"), full_page=True)

            await page.goto(f"{system.base}/nominations/redoc")
            heading = page.locator("h1", has_text="uzdik nominations")
            await heading.first.wait_for(timeout=30_000)
            await page.screenshot(path=str(tmp_path / "redoc.png"))
        finally:
            await context.close()
        assert outside == [], f"the docs asked for {outside}"
        assert errors == [], errors
