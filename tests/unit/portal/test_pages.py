"""The portal's own defences and conventions, over the embedded system in process (SQLite):
every form needs its session's CSRF token; sign-in sends back only to this portal; the
language is the person's choice, remembered, then ``Accept-Language``; a page the person may
not see is refused by the service and said in the page's language; nothing personal in URLs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from demo.scenario import ALMATY
from services.allinone import OneSystem
from services.portal.i18n import gettext, pick
from services.portal.signin import safe_next
from shared.clock import BusinessClock
from shared.settings import Settings


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, OneSystem]]:
    settings = Settings()
    system = OneSystem(settings, tmp_path, BusinessClock(datetime(2020, 6, 1, tzinfo=ALMATY)))
    async with system.embedded:
        transport = httpx.ASGITransport(app=system)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
            yield c, system


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def sign_in_as_organiser(client: httpx.AsyncClient) -> None:
    page = await client.get("/portal/sign-in")
    assert page.status_code == 200
    answer = await client.post(
        "/portal/sign-in/dev", data={"csrf": csrf_of(page.text), "person": "organiser-1|"}
    )
    assert answer.status_code == 303


async def test_a_form_without_its_csrf_token_is_refused_and_nothing_is_sent(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    client, _ = portal
    await sign_in_as_organiser(client)
    answer = await client.post("/portal/sign-out", data={"csrf": "forged"})
    assert answer.status_code == 400
    assert (
        gettext("kk", "The form was out of date. Nothing was recorded; please send it again.")
        in answer.text
    )
    still = await client.get("/portal/?lang=en")
    assert "Organiser (the Agency)" in still.text  # not signed out by a forged form


async def test_signing_in_returns_to_this_portal_only() -> None:
    from types import SimpleNamespace

    request = SimpleNamespace(scope={"root_path": "/portal"})

    assert safe_next(request, "https://evil.example/x") == "/"  # type: ignore[arg-type]
    assert safe_next(request, "//evil.example/x") == "/"  # type: ignore[arg-type]
    assert safe_next(request, "/portal/sittings/1?lang=ru") == "/sittings/1?lang=ru"  # type: ignore[arg-type]
    assert safe_next(request, None) == "/"  # type: ignore[arg-type]


def test_the_language_is_the_persons_choice_then_accept_language() -> None:
    assert pick("en", "ru", "kk") == "en"
    assert pick(None, "ru", "en-GB,en;q=0.9") == "ru"
    assert pick(None, None, "ru-RU,ru;q=0.9,en;q=0.8") == "ru"
    assert pick(None, None, "de-DE") == "kk"
    assert pick("kz", None, None) == "kk"


async def test_the_chosen_language_is_remembered(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    client, _ = portal
    first = await client.get("/portal/sign-in?lang=ru")
    assert first.cookies.get("uzdik_lang") == "ru"
    again = await client.get("/portal/sign-in", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in again.text


async def test_a_page_needs_a_sign_in_and_comes_back_to_it(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    client, _ = portal
    answer = await client.get("/portal/sittings/abc")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/sign-in?next=/sittings/abc"


async def test_a_refusal_is_said_in_the_pages_language(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    client, _ = portal
    await sign_in_as_organiser(client)
    answer = await client.get("/portal/commissions/none?lang=ru")
    assert answer.status_code == 404
    assert '<html lang="ru">' in answer.text
    assert gettext("ru", "There is a problem") in answer.text
    assert "commission_not_found" in answer.text  # the service's code, for the record


async def test_readiness_says_which_service_is_down_and_fails_only_when_none_answers(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    """One service down leaves the portal ready (``degraded``, the service named): a probe
    that failed on any one would take every page down with it; none answering is a portal
    whose network or settings are wrong (503)."""
    from services.portal.app import create_portal
    from services.portal.backends import SERVICES, Backends

    client, system = portal
    ready = await client.get("/portal/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "down": []}

    nowhere = "http://127.0.0.1:9"  # the discard port: nothing listens there
    working = system.embedded.clients

    async def probe(clients: dict[str, httpx.AsyncClient]) -> httpx.Response:
        app = create_portal(Settings(), Backends(clients))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://portal.test") as c:
            return await c.get("/readyz")

    one_down = {s: working[s] for s in SERVICES} | {"survey": httpx.AsyncClient(base_url=nowhere)}
    answer = await probe(one_down)
    assert answer.status_code == 200
    assert answer.json() == {"status": "degraded", "down": ["survey"]}
    answer = await probe({s: httpx.AsyncClient(base_url=nowhere) for s in SERVICES})
    assert answer.status_code == 503 and answer.json()["status"] == "down"


async def test_a_missing_page_or_a_forms_address_opened_as_a_page_is_a_page(
    portal: tuple[httpx.AsyncClient, OneSystem],
) -> None:
    """Never bare JSON: a page that does not exist says so in the person's language; a form's
    address opened as a page (the language switched after a refused form) leads back."""
    client, _ = portal
    missing = await client.get("/portal/no-such-page?lang=ru")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert gettext("ru", "There is no such page.") in missing.text
    opened = await client.get("/portal/sign-out?lang=kk")
    assert opened.status_code == 303 and opened.headers["location"] == "/portal?lang=kk"
