"""The local identity provider (deploy/local/idp) is a real OpenID Connect provider whose access
tokens the services' own verifier accepts: authorisation code flow with PKCE (S256), driven over
HTTP as a browser would (no browser), from discovery to sign-out."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest

from shared.auth import TokenVerifier
from shared.errors import Unauthorized
from tests.idp import Account, Idp, idp_fixture

CALLBACK = "http://127.0.0.1:9/auth/callback"  # never requested: the code is read from the URL
SIGNED_OUT = "http://127.0.0.1:9/?signed_out=1"

SECRETARY = Account(
    "secretary-11",
    "s3cret-Aqmola",
    "Aigerim Sadykova",
    ["secretary"],
    region="110000000",
    commission="com-110000000",
    email="aigerim@example.kz",
)
ORGANISER = Account("organiser-1", "agency-pass", "The Agency", ["organiser"])
CHAIR = Account(
    "chair-rep", "chair-pass", "Republican chair", ["chair", "member"], commission="com-rep"
)

idp = idp_fixture(
    accounts=[SECRETARY, ORGANISER, CHAIR],
    redirect_uris=[CALLBACK],
    post_logout_redirect_uris=[SIGNED_OUT],
    name="idp",
    scope="module",
)


Browser = Callable[[], httpx.Client]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """New browsers (cookie jars) for a test, closed at its end."""
    made: list[httpx.Client] = []

    def new() -> httpx.Client:
        made.append(httpx.Client(timeout=10.0))
        return made[-1]

    yield new
    for client in made:
        client.close()


@dataclass
class Flow:
    """One authorisation request of a browser (its cookies in ``browser``)."""

    browser: httpx.Client
    verifier: str
    state: str
    nonce: str
    page: httpx.Response  # where the redirects stopped: a page of the provider, or the callback


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def metadata(idp: Idp) -> dict[str, Any]:
    answer = httpx.get(idp.discovery_url)
    answer.raise_for_status()
    meta: dict[str, Any] = answer.json()
    return meta


def follow(browser: httpx.Client, answer: httpx.Response) -> httpx.Response:
    """Follow the provider's redirects; stop at a page, or at the client's redirect URI (which
    no one serves here)."""
    for _ in range(10):
        if not answer.is_redirect:
            return answer
        target = urljoin(str(answer.url), answer.headers["location"])
        if target.startswith((CALLBACK, SIGNED_OUT)):
            return answer
        answer = browser.get(target)
    raise AssertionError("more than 10 redirects")


def authorize(idp: Idp, browser: httpx.Client, **extra: str) -> Flow:
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "client_id": idp.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    params = {k: v for k, v in params.items() if v}
    page = follow(browser, browser.get(metadata(idp)["authorization_endpoint"], params=params))
    return Flow(browser, verifier, state, nonce, page)


def login_form(page: httpx.Response) -> str:
    """The sign-in form's action, after checking it is the form Playwright will fill."""
    assert page.status_code == 200, page.text
    body = page.text
    assert re.search(r'<label for="login">[^<]+</label>', body), body
    assert re.search(r'<input id="login" name="login"', body), body
    assert re.search(r'<label for="password">[^<]+</label>', body), body
    assert re.search(r'<input id="password" name="password" type="password"', body), body
    assert '<button type="submit">' in body
    action = re.search(r'<form method="post" action="([^"]+)"', body)
    assert action, body
    return urljoin(str(page.url), html.unescape(action.group(1)))


def sign_in(flow: Flow, login: str, password: str) -> httpx.Response:
    action = login_form(flow.page)
    answer = flow.browser.post(action, data={"login": login, "password": password})
    flow.page = follow(flow.browser, answer)
    return flow.page


def callback_query(flow: Flow) -> dict[str, str]:
    """The query the provider sent the browser back to the client with."""
    assert flow.page.is_redirect, (
        f"no redirect to the client: {flow.page.status_code} {flow.page.text[:500]}"
    )
    location = flow.page.headers["location"]
    assert location.startswith(CALLBACK), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_of(flow: Flow, idp: Idp) -> str:
    query = callback_query(flow)
    assert query.get("state") == flow.state
    assert query.get("iss") == idp.issuer
    assert "code" in query, query
    return query["code"]


def exchange(idp: Idp, code: str, verifier: str, *, basic: bool = True) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    token_url = metadata(idp)["token_endpoint"]
    if basic:
        return httpx.post(token_url, data=data, auth=(idp.client_id, idp.client_secret))
    return httpx.post(
        token_url, data={**data, "client_id": idp.client_id, "client_secret": idp.client_secret}
    )


def signed_in(idp: Idp, browser: httpx.Client, account: Account) -> tuple[Flow, dict[str, Any]]:
    flow = authorize(idp, browser)
    sign_in(flow, account.sub, account.password)
    answer = exchange(idp, code_of(flow, idp), flow.verifier)
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return flow, tokens


def test_discovery_names_what_the_portal_uses(idp: Idp) -> None:
    meta = metadata(idp)
    assert meta["issuer"] == idp.issuer
    assert meta["jwks_uri"] == idp.jwks_url
    assert meta["authorization_endpoint"] == f"{idp.issuer}/auth"
    assert meta["token_endpoint"] == f"{idp.issuer}/token"
    assert meta["end_session_endpoint"] == f"{idp.issuer}/session/end"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["response_types_supported"] == ["code"]
    assert {"openid", "profile", "uzdik"} <= set(meta["scopes_supported"])
    keys = httpx.get(idp.jwks_url).json()["keys"]
    assert keys and all(k["kty"] == "RSA" and "d" not in k for k in keys)


def test_code_flow_with_pkce_gives_a_token_the_services_accept(idp: Idp, browser: Browser) -> None:
    flow = authorize(idp, browser())
    assert flow.page.url.path.startswith("/interaction/")

    refused = sign_in(flow, SECRETARY.sub, "not-the-password")
    assert refused.status_code == 200
    assert not refused.is_redirect and "location" not in refused.headers
    assert 'role="alert"' in refused.text and "Wrong username or password" in refused.text
    assert 'value="secretary-11"' in refused.text  # the username stays, the password not

    sign_in(flow, SECRETARY.sub, SECRETARY.password)
    code = code_of(flow, idp)
    answer = exchange(idp, code, flow.verifier)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"].lower() == "bearer"
    assert "refresh_token" in tokens

    access = tokens["access_token"]
    header = jwt.get_unverified_header(access)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    claims = jwt.decode(access, options={"verify_signature": False})
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == "uzdik"
    assert claims["sub"] == SECRETARY.sub and claims["exp"] > claims["iat"]

    principal = TokenVerifier(idp.settings()).verify(access)
    assert principal.sub == SECRETARY.sub
    assert principal.name == SECRETARY.name
    assert principal.roles == ["secretary"]
    assert principal.region == "110000000"
    assert principal.commission == "com-110000000"
    assert principal.act_as("secretary", region="110000000").region == "110000000"

    # The ID token (for the portal: who signed in) carries the same person and the nonce.
    keys = jwt.PyJWKClient(idp.jwks_url)
    id_token = tokens["id_token"]
    person = jwt.decode(
        id_token,
        keys.get_signing_key_from_jwt(id_token).key,
        algorithms=["RS256"],
        audience=idp.client_id,
        issuer=idp.issuer,
    )
    assert person["nonce"] == flow.nonce
    assert (person["sub"], person["name"], person["roles"]) == (
        SECRETARY.sub,
        SECRETARY.name,
        ["secretary"],
    )
    assert (person["region"], person["commission"]) == ("110000000", "com-110000000")

    # The refresh token gives another access token the services accept.
    token_url = metadata(idp)["token_endpoint"]
    refreshed = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(idp.client_id, idp.client_secret),
    )
    assert refreshed.status_code == 200, refreshed.text
    later = TokenVerifier(idp.settings()).verify(refreshed.json()["access_token"])
    assert (later.sub, later.roles, later.region) == (SECRETARY.sub, ["secretary"], "110000000")

    # A code is used once; a replayed code revokes what it gave (here: the refresh token).
    again = exchange(idp, code, flow.verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    revoked = httpx.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed.json().get("refresh_token", tokens["refresh_token"]),
        },
        auth=(idp.client_id, idp.client_secret),
    )
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_the_wrong_pkce_verifier_is_refused(idp: Idp, browser: Browser) -> None:
    flow = authorize(idp, browser())
    sign_in(flow, SECRETARY.sub, SECRETARY.password)
    code = code_of(flow, idp)
    wrong = exchange(idp, code, pkce()[0])
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"] == "invalid_grant"
    assert "access_token" not in wrong.json()


def test_an_authorisation_request_without_pkce_is_refused(idp: Idp, browser: Browser) -> None:
    flow = authorize(idp, browser(), code_challenge="", code_challenge_method="")
    query = callback_query(flow)
    assert query["error"] == "invalid_request" and "code" not in query
    assert "PKCE" in query["error_description"]


def test_the_client_authenticates_with_its_secret_basic_or_post(idp: Idp, browser: Browser) -> None:
    flow = authorize(idp, browser())
    sign_in(flow, SECRETARY.sub, SECRETARY.password)
    code = code_of(flow, idp)
    wrong_secret = httpx.post(
        metadata(idp)["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": flow.verifier,
        },
        auth=(idp.client_id, "not-the-secret"),
    )
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    posted = exchange(idp, code, flow.verifier, basic=False)  # client_secret_post
    assert posted.status_code == 200, posted.text
    assert TokenVerifier(idp.settings()).verify(posted.json()["access_token"]).sub == SECRETARY.sub


@pytest.mark.parametrize(
    ("account", "region", "commission"),
    [(ORGANISER, None, None), (CHAIR, None, "com-rep")],
    ids=["organiser", "republican-chair"],
)
def test_a_token_without_a_region_omits_the_claim(
    idp: Idp, browser: Browser, account: Account, region: str | None, commission: str | None
) -> None:
    _, tokens = signed_in(idp, browser(), account)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert "region" not in claims
    assert ("commission" in claims) == (commission is not None)
    principal = TokenVerifier(idp.settings()).verify(tokens["access_token"])
    assert (principal.roles, principal.region, principal.commission) == (
        account.roles,
        region,
        commission,
    )


def test_a_token_of_another_audience_or_issuer_is_refused(idp: Idp, browser: Browser) -> None:
    _, tokens = signed_in(idp, browser(), SECRETARY)
    for other in ({"jwt_audience": "someone-else"}, {"jwt_issuer": "http://elsewhere"}):
        with pytest.raises(Unauthorized):
            TokenVerifier(idp.settings(**other)).verify(tokens["access_token"])


def test_sign_out_ends_the_session_and_returns_to_the_portal(idp: Idp, browser: Browser) -> None:
    flow, _ = signed_in(idp, browser(), SECRETARY)
    same = flow.browser

    # Signed in: a second authorisation request needs no sign-in.
    assert callback_query(authorize(idp, same)).get("code")

    end = same.get(
        metadata(idp)["end_session_endpoint"],
        params={"client_id": idp.client_id, "post_logout_redirect_uri": SIGNED_OUT},
    )
    assert end.status_code == 200, end.text
    # The page submits itself (no question to answer); a browser without JavaScript clicks.
    assert "document.getElementById('op.logoutForm').submit()" in end.text
    form = re.search(r'<form id="op.logoutForm" method="post" action="([^"]+)">', end.text)
    assert form, end.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"/>', end.text))
    assert fields.get("logout") == "yes" and fields.get("xsrf")
    done = same.post(urljoin(str(end.url), html.unescape(form.group(1))), data=fields)
    assert done.status_code in (302, 303), done.text
    assert done.headers["location"] == SIGNED_OUT

    # Signed out: the next request asks for the password again.
    login_form(authorize(idp, same).page)
