"""What every portal browser test shares: one Chromium per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.e2e.portal.harness import launch


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await launch(pw)
        try:
            yield chromium
        finally:
            await chromium.close()
