"""Sign-in with a real OpenID Connect provider (oidc-provider, started by the test): the portal
sends the person to the provider (authorisation code + PKCE), a wrong password stays there, the
right one comes back signed in with a token the services accept (verified against the
provider's JWKS, no dev issuer); sign-out ends the session at the provider too."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from demo.scenario import ALMATY
from services.allinone import OneSystem
from services.portal.i18n import gettext
from tests.e2e.portal.harness import Rehearsal, serving
from tests.idp import Account, running_idp
from tests.ports import free_port

pytestmark = pytest.mark.integration


async def test_sign_in_and_out_through_the_identity_provider(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/portal"
    person = Account("organiser-7", "correct horse", "Айгерим Сапарова", ["organiser"])
    with running_idp(
        tmp_path / "idp", [person], [f"{base}/auth/callback"], [f"{base}/?signed_out=1"]
    ) as idp:
        settings = idp.settings(portal_public_url=base, portal_session_secret="s" * 48)
        assert settings.production and settings.dev_jwt_secret is None
        system = OneSystem(
            settings, tmp_path / "data", Rehearsal(datetime(2020, 6, 1, tzinfo=ALMATY))
        )
        async with system.embedded, serving(system, port):
            page = await (await browser.new_context()).new_page()
            asked: list[str] = []
            page.on("request", lambda r: asked.append(r.url))
            await page.goto(f"{base}/?lang=ru")
            await page.click("a.who")  # Sign in
            await page.wait_for_selector("input[name=login]")
            assert page.url.startswith(idp.issuer), page.url
            authorize = [u for u in asked if u.startswith(f"{idp.issuer}/auth?")]
            assert authorize and "code_challenge_method=S256" in authorize[0]
            assert "code_challenge=" in authorize[0] and "response_type=code" in authorize[0]
            await page.fill("input[name=login]", person.sub)
            await page.fill("input[name=password]", "wrong")
            await page.click("button[type=submit]")
            await page.wait_for_selector("[role=alert]")
            assert page.url.startswith(idp.issuer)

            await page.fill("input[name=login]", person.sub)
            await page.fill("input[name=password]", person.password)
            await page.click("button[type=submit]")
            await page.wait_for_url(f"{base}/**")
            header = await page.inner_text("header")
            assert person.name in header, header
            assert gettext("ru", "organiser") in header

            # the services accept the provider's token: a protected page reaches the domain
            answer = await page.goto(f"{base}/commissions/no-such-commission?lang=ru")
            assert answer is not None and answer.status == 404, await page.content()

            await page.click("form.who button")  # Sign out
            await page.wait_for_url(f"{base}/?signed_out=1", timeout=15_000)
            assert gettext("ru", "You are signed out.") in await page.content()
            assert person.name not in await page.inner_text("header")

            await page.goto(f"{base}/commissions/anything")  # signed out at the provider too
            await page.wait_for_selector("input[name=password]")
            assert page.url.startswith(idp.issuer)
