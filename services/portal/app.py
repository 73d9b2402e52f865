"""The portal's ASGI app: sessions, the language, sign-in, the pages, and errors as pages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from services.portal import signin
from services.portal.backends import Backends, Problem, Refused, Unreachable
from services.portal.pages import (
    admission,
    audit,
    candidates,
    commission,
    decisions,
    forming,
    nominator,
    operator,
    organiser,
    protocol,
    public,
    sheets,
    sittings,
)
from services.portal.web import CsrfFailed, SignInRequired, base, render
from shared.logging import get_logger
from shared.settings import DEV_SESSION_SECRET, Settings

log = get_logger("uzdik.portal")
STATIC = Path(__file__).parent / "static"
STATIC_FILES = frozenset({"portal.css", "attendance.js", "sign.js", "upload.js"})
SESSION_COOKIE = "uzdik_session"
SESSION_SECONDS = 8 * 3600


def create_portal(settings: Settings, api: Backends) -> FastAPI:
    """The portal over ``api`` (the services' HTTP APIs, or the embedded ones)."""
    if settings.production and settings.portal_session_secret == DEV_SESSION_SECRET:
        raise ValueError(
            "UZDIK_PORTAL_SESSION_SECRET is the development default; a production portal "
            "needs its own secret (32 random bytes or more)"
        )
    sign_in = signin.SignIn(settings)
    app = FastAPI(title="uzdik portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.backends = api
    app.state.sign_in = sign_in
    app.state.settings = settings
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.portal_session_secret,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_SECONDS,
        same_site="lax",
        https_only=settings.production,
    )
    routers: Sequence[APIRouter] = (
        health(),
        signin.router(sign_in),
        commission.router(),
        sittings.router(),
        sheets.router(),
        candidates.router(),
        decisions.router(),
        protocol.router(),
        public.router(),
        audit.router(),
        organiser.router(),
        operator.router(),
        admission.router(),
        nominator.router(),
        forming.router(),
    )
    for r in routers:
        app.include_router(r)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(CsrfFailed, _csrf_failed)
    app.add_exception_handler(Refused, _refused)
    app.add_exception_handler(Unreachable, _unreachable)
    app.add_exception_handler(Exception, _failed)
    return app


def health() -> APIRouter:
    r = APIRouter()

    @r.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        """The stylesheet and the scripts (a route, not a mount: the portal is mounted under a
        prefix embedded, and its own files are few)."""
        found = STATIC / name
        if name not in STATIC_FILES or not found.is_file():
            return JSONResponse({"code": "not_found"}, status_code=404)
        return FileResponse(found, headers={"Cache-Control": "public, max-age=3600"})

    @r.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @r.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready unless none of the services it calls answers its health check (then the
        portal's own network or settings are wrong). One service down leaves the portal
        ready, ``degraded``: its other pages still serve, the affected ones say "try again"
        (a probe that failed on any would take every page down with one service)."""
        api: Backends = request.app.state.backends

        async def healthy(client: Any) -> bool:
            try:
                answer = await client.get("/healthz", timeout=2.0)
            except Exception:
                return False
            return bool(answer.status_code == 200)

        names = list(api.clients)
        answers = await asyncio.gather(*(healthy(api.clients[n]) for n in names))
        down = [n for n, ok in zip(names, answers, strict=True) if not ok]
        if down and len(down) == len(names):
            return JSONResponse({"status": "down", "down": down}, 503)
        return JSONResponse({"status": "degraded" if down else "ready", "down": down}, 200)

    return r


async def _sign_in_first(request: Request, _: Exception) -> Response:
    wanted = request.url.path
    if request.url.query:
        wanted += "?" + request.url.query
    return RedirectResponse(f"{base(request)}/sign-in?next={_quote(wanted)}", status_code=303)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


def signed_out(request: Request) -> None:
    """The token is no longer good: sign in again; the person's drafts wait for them (kept
    only if the same person signs back in — ``signin.remember``)."""
    names = ("owner", *signin.KEPT_ACROSS_SIGN_IN)
    kept = {k: request.session[k] for k in names if k in request.session}
    request.session.clear()
    request.session.update(kept)


async def _http_error(request: Request, exc: Exception) -> Response:
    """A page that does not exist, or a form's address opened as a page (the language
    switched after a refused form): a page in the person's language, never bare JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405 and request.method == "GET":
        prefix, here = base(request), request.url.path.rstrip("/")
        if prefix and here.startswith(prefix + "/"):
            here = here[len(prefix) :]
        path = prefix + (here.rsplit("/", 1)[0] or ("" if prefix else "/"))
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(path + query, status_code=303)
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    problem = Problem(exc.status_code, code, str(exc.detail))
    return render(request, "error.html", status=exc.status_code, problem=problem)


async def _csrf_failed(request: Request, _: Exception) -> Response:
    problem = Problem(400, "csrf_failed", "the form's CSRF token is missing or stale")
    return render(request, "error.html", status=400, problem=problem)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    log.info(
        "portal.refused",
        path=request.url.path,
        status=exc.problem.status,
        code=exc.problem.code,
        detail=exc.problem.detail,
    )
    if exc.problem.code in ("token_expired", "token_invalid") or exc.problem.status == 401:
        signed_out(request)
        return await _sign_in_first(request, exc)
    return render(request, "error.html", status=exc.problem.status, problem=exc.problem)


async def _unreachable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Unreachable)
    log.warning("portal.service_unreachable", service=exc.service, error=str(exc))
    problem = Problem(503, "unreachable", str(exc))
    return render(request, "error.html", status=503, problem=problem)


async def _failed(request: Request, exc: Exception) -> Response:
    """A fault of the portal itself: a page that says so (the details go to the log)."""
    log.error("portal.failed", path=request.url.path, error=repr(exc), exc_info=exc)
    problem = Problem(500, "error", "the portal failed to show this page")
    return render(request, "error.html", status=500, problem=problem)
