"""The portal in Chromium over the distributed system: the four services it calls as
``uzdik serve`` processes on PostgreSQL and Kafka, ``uzdik serve portal`` pointed at them, and
people signing in at a real OpenID Connect provider whose tokens the services verify (JWKS; no
dev issuer).

An edition is rehearsed up to admission in one region first (stack.py says how and why: a
process's clock is read at start, and a provider's settings refuse a simulated one); then its
secretary opens a stage-I sitting and records attendance until quorate, a member scores a
candidate, and the sheet shows on the candidate's dossier with the time reporting took from
the log (through Kafka). Every portal page is kept as a screenshot."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from services.portal.i18n import gettext
from tests.e2e.portal.harness import ARTIFACTS, keep, launch
from tests.e2e.portal.stack import (
    PORTAL_CALLS,
    Rehearsed,
    clients,
    dev_bearer,
    rehearse,
    serving,
)
from tests.e2e.test_processes import admin, log_lines, process_env
from tests.idp import Account, running_idp
from tests.ports import free_port

pytestmark = pytest.mark.integration

REGION = "620000000"  # 5 districts: 5 applications
PASSWORD = "correct horse battery"
DOSSIER_TIMEOUT = 30.0


def account(up: Rehearsed, person: str, roles: list[str]) -> Account:
    """The person's account at the provider: their commission, region and role in the claims."""
    b = up.board
    return Account(person, PASSWORD, up.names[person], roles, b.region, b.commission_id)


async def test_a_sitting_and_a_sheet_in_the_browser_on_postgresql_and_kafka(
    tmp_path: Path, pg_admin_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    stem = f"uzdik_p_{uuid.uuid4().hex[:10]}"
    for service in PORTAL_CALLS:
        await admin(pg_admin_url, f'CREATE DATABASE "{stem}_{service}"')
    database = f"{pg_admin_url.rpartition('/')[0]}/{stem}_{{service}}"
    env = process_env(database, kafka_bootstrap, topic_prefix, tmp_path / "data")
    try:
        up = await rehearse(env, REGION, seed=62)
        await sit_and_score(env, up, tmp_path)
    finally:
        for service in PORTAL_CALLS:
            await admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{stem}_{service}" WITH (FORCE)')


async def sit_and_score(env: dict[str, str], up: Rehearsed, tmp_path: Path) -> None:
    board = up.board
    member = next(m for m in board.members if m != board.chair)
    people = [account(up, board.secretary, ["secretary"]), account(up, member, ["member"])]
    port = free_port()
    root = f"http://127.0.0.1:{port}"
    with running_idp(tmp_path / "idp", people, [f"{root}/auth/callback"]) as idp:
        live = {**env, **idp.env()}
        async with (
            serving(live, tmp_path / "live", portal_port=port) as deployment,
            clients(deployment) as api,
        ):
            r = await api["scoring"].get(  # the services trust the provider's tokens only
                f"/v1/commissions/{board.commission_id}",
                headers=dev_bearer(board.secretary, ["secretary"], REGION),
            )
            assert r.status_code == 401, r.text
            try:
                await in_the_browser(root, up, people)
            except Exception as exc:  # what the processes said, beside what the browser saw
                tails = "\n".join(
                    f"--- {p.service} ---\n{p.log_tail(15)}" for p in deployment.processes.values()
                )
                raise AssertionError(f"{exc}\n{tails}") from exc
    for process in deployment.processes.values():  # stopped: every line is written
        _, other = log_lines(process)
        assert not other, f"{process.service}: stderr lines that are not JSON: {other[:3]}"


async def in_the_browser(root: str, up: Rehearsed, people: list[Account]) -> None:
    from playwright.async_api import async_playwright

    secretary, member = people
    candidate = up.candidates[0]["candidate_id"]
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            sitting = await secretary_opens_a_quorate_sitting(browser, root, up, secretary)
            page = await signed_in(
                browser,
                root,
                f"/sittings/{sitting}/candidates/{candidate}/sheets/project",
                member,
            )
            await score(page, root, sitting)
            await dossier_shows_the_sheet(page, root, candidate, member)
        finally:
            await browser.close()


async def signed_in(browser: Any, root: str, path: str, person: Account) -> Any:
    """A new browser at ``path`` of the portal, signed in at the provider on the way."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(f"{root}{path}?lang=ru")
    await page.wait_for_selector("input[name=login]")
    assert not page.url.startswith(root), page.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "services-idp-sign-in.png"), full_page=True)
    await page.fill("input[name=login]", person.sub)
    await page.fill("input[name=password]", person.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{root}{path}*", timeout=15_000)
    assert person.name in await page.inner_text("header")
    return page


async def secretary_opens_a_quorate_sitting(
    browser: Any, root: str, up: Rehearsed, secretary: Account
) -> str:
    b = up.board
    page = await signed_in(browser, root, f"/commissions/{b.commission_id}", secretary)
    await keep(page, "services-commission")
    if not await page.locator("#f-stage").count():  # an error page, or no secretary's form
        raise AssertionError(f"no sitting form at {page.url}:\n{await page.inner_text('body')}")
    await page.select_option("#f-stage", "stage1_selection")
    await page.fill("#f-purpose", "I этап: оценка проектов и выдвижение по районам (п. 12)")
    await page.fill("#f-purpose_kk", "I кезең: жобаларды бағалау және аудандар бойынша ұсыну")
    await page.click("form[action$='/sittings'] button")
    await page.wait_for_load_state()
    assert "/sittings/" in page.url, (page.url, await page.inner_text("main"))
    sitting: str = page.url.split("?")[0].rsplit("/", 1)[1]

    others = [m for m in b.members if m != b.chair]
    line = page.locator("#quorum-line")
    not_quorate = gettext("ru", "not quorate: at least %(required)s must be present", required=6)
    for present in ([b.chair, *others[:4]], others[4:6]):  # 5 of 9, then 7 of 9
        for person in present:
            await page.check(f"input[name=present][value='{person}']")
        await page.click("form[data-attendance] button")
        await page.wait_for_load_state()
        text = await line.inner_text()
        if not_quorate not in text:
            break
        assert "5" in text and "bad" in (await line.get_attribute("class") or ""), text
    assert gettext("ru", "quorate") in text and "7" in text, text
    assert "ok" in (await line.get_attribute("class") or "")
    await keep(page, "services-sitting")
    return sitting


async def score(page: Any, root: str, sitting: str) -> None:
    keys = await page.eval_on_selector_all(
        "fieldset.criterion", "els => els.map(e => e.id.slice(2))"
    )
    assert len(keys) >= 5, await page.inner_text("main")
    for key in keys:
        await page.check(f"input[name='score.{key}'][value='7']")
    await keep(page, "services-sheet")
    await page.click("button[value=submit]")
    await page.wait_for_load_state()
    assert page.url.startswith(f"{root}/sittings/{sitting}"), page.url
    assert gettext("ru", "Sheet recorded.") in await page.content()


async def dossier_shows_the_sheet(page: Any, root: str, candidate: str, member: Account) -> None:
    """The sheet is on the dossier at once (scoring); its time comes from reporting's protocol
    read model once reporting has consumed it from Kafka: reload until it shows."""
    deadline = time.monotonic() + DOSSIER_TIMEOUT
    while True:
        await page.goto(f"{root}/candidates/{candidate}?lang=ru")
        row = page.locator("section[aria-labelledby=sheets] tbody tr", has_text=member.name)
        if await row.count() == 1:
            when = (await row.locator("td").first.inner_text()).strip()
            if when != "—":
                break
        assert time.monotonic() < deadline, (
            f"no sheet of {member.name} with its time on the dossier after "
            f"{DOSSIER_TIMEOUT:.0f} s:\n{await page.inner_text('main')}"
        )
        await asyncio.sleep(0.5)
    await keep(page, "services-candidate")
