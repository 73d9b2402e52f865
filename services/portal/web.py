"""What every page needs: the person signed in, the language, the CSRF token, rendering.

The session is a signed cookie (Starlette's ``SessionMiddleware``: HttpOnly, SameSite=Lax,
Secure outside dev) holding the person's token and who they are; nothing else is kept.
Every form carries the session's CSRF token and every POST checks it (:func:`form_of`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.portal import i18n
from services.portal.backends import Backends, Problem
from services.portal.i18n import Lang

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "uzdik_lang"
ONE_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Person:
    """Who is signed in, as their token says (the services check it again on every call)."""

    sub: str
    name: str
    roles: tuple[str, ...]
    region: str | None
    commission: str | None
    token: str

    def has(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)


class SignInRequired(Exception):
    """No session (or an expired token): the person is sent to sign in, then back here."""


class CsrfFailed(Exception):
    """A form without this session's CSRF token (another site, or an old page)."""


def person_of(request: Request) -> Person | None:
    who = request.session.get("who")
    token = request.session.get("token")
    if not isinstance(who, dict) or not isinstance(token, str):
        return None
    return Person(
        sub=str(who.get("sub", "")),
        name=str(who.get("name", "")),
        roles=tuple(who.get("roles") or ()),
        region=who.get("region"),
        commission=who.get("commission"),
        token=token,
    )


def signed_in(request: Request) -> Person:
    person = person_of(request)
    if person is None:
        raise SignInRequired()
    return person


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def require_csrf(request: Request, sent: object) -> None:
    """``sent`` must be this session's CSRF token (a form's field, a script's header)."""
    if not isinstance(sent, str) or not secrets.compare_digest(sent, csrf_token(request)):
        raise CsrfFailed()


async def form_of(request: Request) -> dict[str, Any]:
    """The POSTed form, after its CSRF token is checked; repeated names become lists."""
    form = await request.form()
    require_csrf(request, form.get("csrf"))
    fields: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key == "csrf":
            continue
        if key in fields:
            prior = fields[key]
            fields[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            fields[key] = value
    return fields


def lang_of(request: Request) -> Lang:
    return i18n.pick(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def base(request: Request) -> str:
    """Where the portal is mounted (``/portal`` embedded, ``""`` on its own)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def backends(request: Request) -> Backends:
    found: Backends = request.app.state.backends
    return found


@cache
def environment(lang: Lang) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda v: i18n.when(v, lang)
    env.filters["number"] = lambda v: i18n.number(v, lang)
    env.globals["LANGS"] = i18n.NAMES
    env.globals["ROLE_NAMES"] = i18n.ROLE_NAMES
    env.globals["KIND_NAMES"] = i18n.KIND_NAMES
    env.globals["place"] = lambda kato: i18n.place(kato, lang)
    env.globals["rule_words"] = lambda code, detail: rule_words(code, detail, lang)
    env.globals["field_words"] = lambda code: rule_words(
        code or "", i18n.gettext(lang, "Check this field."), lang
    )
    return env


def render(
    request: Request,
    template: str,
    *,
    status: int = 200,
    problem: Problem | None = None,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    person = person_of(request)
    prefix = base(request)
    here = (
        request.url.path if request.url.path.startswith(prefix + "/") else prefix + request.url.path
    )
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    html = (
        environment(lang)
        .get_template(template)
        .render(
            lang=lang,
            base=base(request),
            me=person,
            csrf=csrf_token(request),
            here=here,
            query=query,
            problem=problem,
            refusal=explain(problem, lang) if problem else None,
            flash=request.session.pop("flash", None),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status)
    chosen = i18n.as_lang(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=ONE_YEAR, httponly=True, samesite="lax")
    return response


def back_to(request: Request, path: str, flash: str | None = None) -> RedirectResponse:
    """POST, then redirect (303) to the page that shows the outcome."""
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(base(request) + path, status_code=303)


def explain(problem: Problem, lang: Lang) -> str:
    """A service's refusal in the page's language: by its stable code when the catalog knows
    it (with the service's own words beside, for the record), else the service's words."""
    from services.portal.refusals import REFUSALS

    known = REFUSALS.get(problem.code)
    if known is None:
        return problem.detail or problem.code
    return i18n.gettext(lang, known)


CHECK_FIELD = i18n.N_("Check this field.")


def rule_words(code: str, detail: str, lang: Lang) -> str:
    """A failed rule (an application's rejection) in the page's language, by its code; the
    service's own words when the catalog does not know the code."""
    from services.portal.refusals import REFUSALS

    known = REFUSALS.get(code)
    return i18n.gettext(lang, known) if known else detail
