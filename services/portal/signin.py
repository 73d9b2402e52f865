"""Sign-in and sign-out.

With an identity provider (``UZDIK_OIDC_ISSUER``): OpenID Connect authorisation code flow with
PKCE (S256), via Authlib; the access token it returns is verified like the services verify it
(JWKS, issuer, audience) and kept in the session; sign-out ends the session at the provider
too. Without one, while the dev issuer is on (embedded, rehearsals): a dev sign-in that lists
the people of the commissions formed so far and issues them a token from the dev issuer.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.deprecate import AuthlibDeprecationWarning
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.portal.backends import Backends, Refused, Unreachable
from services.portal.web import back_to, backends, base, form_of, person_of, render
from shared.auth import Principal, TokenVerifier, issue_dev_token
from shared.errors import DomainError
from shared.logging import get_logger
from shared.settings import Settings

with warnings.catch_warnings():
    # Authlib warns at import that its httpx fallback (no httpx2 installed) is deprecated: a
    # plain line on stderr, before logging is configured, among the portal's JSON log records
    warnings.filterwarnings("ignore", "The httpx module is deprecated", AuthlibDeprecationWarning)
    from authlib.integrations.starlette_client import OAuth, OAuthError

log = get_logger("uzdik.portal.signin")
PROVIDER = "idp"


class SignIn:
    """The sign-in of one portal: the identity provider's client, or the dev issuer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.oauth: OAuth | None = None
        self._verifier: TokenVerifier | None = None
        self._lock = asyncio.Lock()
        if settings.oidc_issuer:
            self.oauth = OAuth()
            self.oauth.register(
                PROVIDER,
                client_id=settings.oidc_client_id,
                client_secret=settings.oidc_client_secret or None,
                server_metadata_url=settings.oidc_issuer.rstrip("/")
                + "/.well-known/openid-configuration",
                client_kwargs={"scope": settings.oidc_scope, "code_challenge_method": "S256"},
            )

    @property
    def dev(self) -> bool:
        return self.oauth is None and not self.settings.production

    async def verifier(self) -> TokenVerifier:
        """The services' own verifier; its JWKS from the provider's metadata when not named."""
        async with self._lock:
            if self._verifier is None:
                settings = self.settings
                if not settings.jwks_url and self.oauth is not None:
                    meta = await self.oauth.create_client(PROVIDER).load_server_metadata()
                    issuer = meta.get("issuer", settings.oidc_issuer)
                    settings = settings.model_copy(
                        update={"jwks_url": meta["jwks_uri"], "jwt_issuer": issuer}
                    )
                self._verifier = await asyncio.to_thread(TokenVerifier, settings)
            return self._verifier

    async def principal(self, token: str) -> Principal:
        verifier = await self.verifier()
        return await asyncio.to_thread(verifier.verify, token)


KEPT_ACROSS_SIGN_IN = ("drafts", "flash")
"""What survives a sign-in of the same person (their token expired mid-form): their drafts."""


def remember(request: Request, principal: Principal, token: str) -> None:
    """A fresh session for ``principal`` (nothing of another person's carried over; the same
    person signing in again after their token expired keeps their drafts)."""
    kept = {}
    if request.session.get("owner") == principal.sub:
        kept = {k: request.session[k] for k in KEPT_ACROSS_SIGN_IN if k in request.session}
    request.session.clear()
    request.session.update(kept)
    request.session["owner"] = principal.sub
    request.session["token"] = token
    request.session["who"] = {
        "sub": principal.sub,
        "name": principal.name or principal.sub,
        "roles": list(principal.roles),
        "region": principal.region,
        "commission": principal.commission,
    }


def safe_next(request: Request, wanted: str | None) -> str:
    """Back to a page of this portal only (never to another site)."""
    if not wanted or not wanted.startswith("/") or wanted.startswith("//"):
        return "/"
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc:
        return "/"
    prefix = base(request)
    return wanted[len(prefix) :] or "/" if prefix and wanted.startswith(prefix) else wanted


def router(sign_in: SignIn) -> APIRouter:
    r = APIRouter()

    @r.get("/sign-in", include_in_schema=False)
    async def start(request: Request, next: str | None = None) -> Response:
        request.session["next"] = safe_next(request, next)
        if sign_in.oauth is not None:
            client = sign_in.oauth.create_client(PROVIDER)
            callback = str(request.url_for("signed_in_callback"))
            if sign_in.settings.portal_public_url:
                callback = sign_in.settings.portal_public_url.rstrip("/") + "/auth/callback"
            try:
                answer: Response = await client.authorize_redirect(request, callback)
            except Exception as exc:  # the provider is down or misconfigured
                log.warning("signin.provider_unreachable", error=str(exc))
                return render(request, "signin.html", status=503, people=[], provider_down=True)
            return answer
        if not sign_in.dev:
            return render(request, "signin.html", status=503, people=[], provider_down=True)
        people = await dev_people(backends(request), sign_in.settings)
        return render(request, "signin.html", people=people, provider_down=False)

    @r.get("/auth/callback", name="signed_in_callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        if sign_in.oauth is None:
            return back_to(request, "/sign-in")
        client = sign_in.oauth.create_client(PROVIDER)
        try:
            answer = await client.authorize_access_token(request)
            principal = await sign_in.principal(answer["access_token"])
        except (OAuthError, DomainError, KeyError) as exc:
            log.warning("signin.refused", error=str(exc))
            return render(request, "signin.html", status=401, people=[], failed=True)
        wanted = request.session.get("next", "/")
        remember(request, principal, answer["access_token"])
        log.info("signin.done", sub=principal.sub, roles=principal.roles, region=principal.region)
        return back_to(request, wanted if isinstance(wanted, str) else "/")

    @r.post("/sign-in/dev", include_in_schema=False)
    async def dev(request: Request) -> Response:
        form = await form_of(request)
        if not sign_in.dev:
            return back_to(request, "/sign-in")
        people = {p["key"]: p for p in await dev_people(backends(request), sign_in.settings)}
        chosen = people.get(str(form.get("person", "")))
        if chosen is None:
            return render(request, "signin.html", status=400, people=list(people.values()))
        token = issue_dev_token(
            sign_in.settings,
            chosen["sub"],
            chosen["roles"],
            region=chosen["region"],
            commission=chosen["commission"],
            name=chosen["name"],
        )
        wanted = request.session.get("next", "/")
        remember(request, await sign_in.principal(token), token)
        return back_to(request, wanted if isinstance(wanted, str) else "/")

    @r.post("/sign-out", include_in_schema=False)
    async def sign_out(request: Request) -> Response:
        await form_of(request)
        was = person_of(request)
        request.session.clear()
        if sign_in.oauth is None or was is None:
            return back_to(request, "/?signed_out=1")
        meta = await sign_in.oauth.create_client(PROVIDER).load_server_metadata()
        end = meta.get("end_session_endpoint")
        home = (
            sign_in.settings.portal_public_url.rstrip("/")
            or str(request.base_url).rstrip("/") + base(request)
        ) + "/?signed_out=1"
        if not end:
            return back_to(request, "/?signed_out=1")
        query = urlencode(
            {"client_id": sign_in.settings.oidc_client_id, "post_logout_redirect_uri": home}
        )
        return RedirectResponse(f"{end}?{query}", status_code=303)

    return r


async def dev_people(api: Backends, settings: Settings) -> list[dict[str, Any]]:
    """Everyone the dev sign-in offers: the organiser, and per commission formed so far its
    chair, members, secretary and an ethics commissioner (read as the organiser)."""
    organiser = issue_dev_token(settings, "organiser-1", ["organiser"], name="Organiser")
    people: list[dict[str, Any]] = [
        _person("organiser-1", "Organiser (the Agency)", ["organiser"], None, None, ""),
        _person("auditor-1", "Auditor", ["auditor"], None, None, ""),
    ]
    try:
        commissions = await api.pages("scoring", "/v1/commissions", organiser)
    except (Refused, Unreachable):
        return people
    for c in commissions:
        cid, region = c["commission_id"], c.get("region")
        label = region or ""
        for m in c["members"]:
            roles = ["chair", "member"] if m["person_id"] == c["chair_id"] else ["member"]
            people.append(_person(m["person_id"], m["name"], roles, region, cid, label))
        s = c["secretary"]
        people.append(_person(s["person_id"], s["name"], ["secretary"], region, cid, label))
        if region:
            people.append(
                _person(f"operator-{region}", "Operator", ["operator"], region, None, label)
            )
            people.append(
                _person(f"nominator-{region}", "Nominator", ["nominator"], region, None, label)
            )
        people.append(
            _person(
                f"ethics-{region or 'republic'}",
                "Ethics commissioner",
                ["ethics"],
                region,
                cid,
                label,
            )
        )
    return people


def _person(
    sub: str, name: str, roles: list[str], region: str | None, commission: str | None, where: str
) -> dict[str, Any]:
    return {
        "key": f"{sub}|{commission or ''}",
        "sub": sub,
        "name": name,
        "roles": roles,
        "region": region,
        "commission": commission,
        "where": where,
    }
