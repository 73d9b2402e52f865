"""``uzdik serve`` with nothing configured: the five services in one process, on one port.

The embedded deployment (:class:`~services.embedded.Embedded`: SQLite per service, the
in-process bus tailing the stores) behind one ASGI app. Each service's API is mounted under
its name (``/nominations/v1/...``, ``/scoring/...``, ``/survey/...``, ``/reporting/...``, each
with its own ``/docs``, ``/redoc`` and ``/openapi.json``); the root serves a start page, the
dev sign-in (``/dev/token``, while the dev issuer is on), the business clock (``/clock``) and
``/bus/settle``, which delivers every pending event at once (the bus also tails on its own).
"""

from __future__ import annotations

import asyncio
import html
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from services.embedded import Embedded
from services.notifications.service import service_of
from services.portal.app import create_portal
from services.portal.backends import SERVICES as PORTAL_READS
from services.portal.backends import Backends
from services.registry import SERVICES
from shared.auth import ROLES, Principal, TokenVerifier, issue_dev_token
from shared.clock import BusinessClock
from shared.edge import principal
from shared.errors import NotFound
from shared.http import create_app
from shared.logging import get_logger
from shared.serving import CoalescingHttp
from shared.settings import Settings

log = get_logger("uzdik.allinone")
TAIL_SECONDS = 0.05
BROWSABLE = ("protocols/", "ratings.")
PASSED_HEADERS = {"content-type", "content-disposition", "etag", "cache-control"}


class ClockView(BaseModel):
    now: datetime
    simulated: bool


class MoveClock(BaseModel):
    now: datetime


class Settled(BaseModel):
    delivered: int


class OneSystem:
    """The ASGI app of the whole system: ``/<service>/...`` to that service's own app (its
    path without the prefix, the prefix as ``root_path``), everything else to the start app."""

    def __init__(self, settings: Settings, data_dir: Path, clock: BusinessClock) -> None:
        self.settings, self.clock = settings, clock
        self.embedded = Embedded(settings, data_dir, clock=clock.now)
        self.apps: dict[str, ASGIApp] = {n: rt.app for n, rt in self.embedded.runtimes.items()}
        self.prefixes = {f"/{name}": name for name in SERVICES}
        self.portal = create_portal(
            settings,
            Backends({n: c for n, c in self.embedded.clients.items() if n in PORTAL_READS}),
        )
        self.apps["portal"] = self.portal
        self.prefixes["/portal"] = "portal"
        self.lock = asyncio.Lock()
        self.home = create_app(
            "uzdik",
            TokenVerifier(settings),
            [self._router()],
            ready_checks=[rt.database_ready for rt in self.embedded.runtimes.values()],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            path: str = scope["path"]
            head = "/" + path.split("/", 2)[1] if path.startswith("/") else path
            name = self.prefixes.get(head)
            if name is not None:
                rest = path[len(head) :] or "/"
                raw: bytes = scope.get("raw_path") or path.encode()
                child = dict(
                    scope,
                    path=rest,
                    raw_path=raw[len(head.encode()) :] or b"/",
                    root_path=scope.get("root_path", "") + head,
                )
                await self.apps[name](child, receive, send)
                return
        await self.home(scope, receive, send)

    async def _as_auditor(self, path: str, params: dict[str, Any] | None = None) -> Any:
        token = issue_dev_token(self.settings, "uzdik-browser", ["auditor"], name="browser")
        client = self.embedded.clients["reporting"]
        return await client.get(
            path, params=params or {}, headers={"Authorization": f"Bearer {token}"}
        )

    async def _model(self, model: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 1000}
        while True:
            r = await self._as_auditor(f"/v1/read-models/{model}", params)
            if r.status_code != 200:
                return items
            page = r.json()
            items += page["items"]
            if not page.get("next"):
                return items
            params["after"] = page["next"]

    async def _edition_summary(self) -> str:
        """The edition as reporting shows it: its figures, winners, finalists, protocols."""
        editions = await self._model("editions")
        if not editions:
            return "<h2>Edition</h2><p>No edition yet: announce one (nominations).</p>"
        candidates = {c["candidate_id"]: c for c in await self._model("candidates")}
        results = {r.get("purpose", ""): r for r in await self._model("results")}
        finalists = await self._model("finalists")
        protocols = await self._model("protocols")
        counts = {m: len(await self._model(m)) for m in ("applications", "surveys")}
        e = html.escape

        def name(cid: str) -> str:
            return e(str(candidates.get(cid, {}).get("name") or cid))

        parts = [
            f"<h2>{e(str(ed.get('title') or ed.get('year')))}</h2>"
            f"<p>applications {counts['applications']}, candidates {len(candidates)}, "
            f"surveys {counts['surveys']}, protocols {len(protocols)}</p>"
            for ed in editions
        ]
        parts += _winners(results.get("winners", {}), name)
        parts += _finalists(finalists, name)
        parts += _protocols(protocols)
        parts.append(
            "<p>Ratings: <a href='/browse/ratings.csv'>CSV</a> "
            "<a href='/browse/ratings.xlsx'>XLSX</a></p>"
        )
        return "\n".join(parts)

    async def settle(self) -> int:
        async with self.lock:
            return await self.embedded.drain()

    async def tail(self, stop: asyncio.Event) -> None:
        """Deliver events between the services as they are stored (as Kafka would)."""
        while not stop.is_set():
            try:
                moved = await self.settle()
            except Exception as exc:  # the failed event is retried next round
                log.error("embedded.consume_failed", error=str(exc))
                moved = 0
            if moved == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=TAIL_SECONDS)
                except TimeoutError:
                    pass

    def _router(self) -> APIRouter:
        router = APIRouter(tags=["system"])
        settings, clock = self.settings, self.clock

        @router.get("/", response_class=HTMLResponse, include_in_schema=False)
        async def start_page() -> HTMLResponse:
            summary = "" if settings.production else await self._edition_summary()
            return HTMLResponse(_start_page(settings, clock, summary))

        @router.get("/browse/{path:path}", include_in_schema=False)
        async def browse(path: str, request: Request) -> Response:
            """Reporting's documents for a browser (protocols, ratings), read as the dev
            auditor: a browser sends no bearer token. Off in production."""
            if settings.production or not path.startswith(BROWSABLE):
                raise NotFound("not_found", f"nothing to browse at {path!r}")
            r = await self._as_auditor(f"/v1/{path}", dict(request.query_params))
            kept = {k: v for k, v in r.headers.items() if k.lower() in PASSED_HEADERS}
            return Response(r.content, status_code=r.status_code, headers=kept)

        @router.get("/clock")
        async def read_clock() -> ClockView:
            """Business time, and whether it is a rehearsal's simulated clock."""
            return ClockView(now=clock.now(), simulated=clock.simulated)

        @router.put("/clock")
        async def move_clock(
            body: MoveClock, who: Annotated[Principal, Depends(principal)]
        ) -> ClockView:
            """Move a rehearsal's business clock forward (organiser). 409 ``clock_backwards``
            before the current business time, ``clock_not_simulated`` on the real clock."""
            who.act_as("organiser")
            clock.move_to(body.now)
            log.info("clock.moved", now=clock.now().isoformat(), actor=who.sub)
            return ClockView(now=clock.now(), simulated=clock.simulated)

        @router.post("/bus/settle")
        async def settle() -> Settled:
            """Deliver every pending event to every consumer now; answers when none is left."""
            return Settled(delivered=await self.settle())

        @router.get("/dev/token", response_class=PlainTextResponse)
        async def dev_token(
            sub: Annotated[str, Query(min_length=1, max_length=100)],
            role: Annotated[list[str], Query()],
            region: Annotated[str | None, Query(max_length=9)] = None,
            commission: Annotated[str | None, Query(max_length=100)] = None,
        ) -> PlainTextResponse:
            """The dev sign-in: a token from the dev issuer, for the docs' Authorize button
            (served only while the dev issuer is on; never in production)."""
            if settings.production:
                raise NotFound("dev_issuer_disabled", "the dev sign-in is off in production")
            roles = [r for r in role if r]
            unknown = sorted(set(roles) - ROLES)
            if unknown or not roles:
                raise NotFound("role_unknown", f"unknown role(s) {unknown}; one of {sorted(ROLES)}")
            token = issue_dev_token(
                settings,
                sub,
                roles,
                region=region or None,
                commission=commission or None,
                ttl=timedelta(hours=8),
            )
            return PlainTextResponse(token)

        return router


def _start_page(settings: Settings, clock: BusinessClock, summary: str = "") -> str:
    rows = "".join(
        f"<tr><th>{name}</th><td><a href='/{name}/docs'>Swagger UI</a></td>"
        f"<td><a href='/{name}/redoc'>ReDoc</a></td>"
        f"<td><a href='/{name}/openapi.json'>OpenAPI</a></td></tr>"
        for name in SERVICES
    )
    options = "".join(f"<option>{r}</option>" for r in sorted(ROLES))
    sign_in = (
        ""
        if settings.production
        else f"""<h2>Dev sign-in</h2>
<p>A token from the dev issuer: paste it into a service's <em>Authorize</em> button.</p>
<form action="/dev/token" method="get">
<label>person <input name="sub" value="organiser-1" required></label>
<label>role <select name="role">{options}</select></label>
<label>region (KATO) <input name="region" size="9"></label>
<button>Issue token</button></form>"""
    )
    kind = "simulated (rehearsal)" if clock.simulated else "the real one"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>uzdik</title><style>body{{font-family:sans-serif;max-width:52em;margin:2em auto}}
th,td{{padding:.2em 1em;text-align:left;vertical-align:top}}label{{margin-right:1em}}
</style></head><body>
<h1>uzdik: Best Rural Akim</h1>
<p><a href="/portal/">The portal</a>: the commissions' workspace (sign in, sittings, scoring,
decisions, protocols) in Kazakh, Russian and English.</p>
<p>All five services in one process (embedded, data in
<code>{html.escape(str(settings.data_dir))}</code>). Business clock: {kind},
<code>{html.escape(clock.now().isoformat(timespec="seconds"))}</code>.</p>
{summary}
<h2>APIs</h2>
<table>{rows}</table>
<p>Each service's API is under its name, for example
<code>/reporting/v1/read-models/editions</code>.</p>
{sign_in}
</body></html>"""


async def serve_all(settings: Settings, data_dir: Path, clock: BusinessClock) -> None:
    """Migrate the five embedded databases, tail the bus, serve HTTP until SIGINT/SIGTERM."""
    from services.serve import Server

    system = OneSystem(settings, data_dir, clock)
    async with system.embedded:
        _send_mail_if_configured(system.embedded)
        stop = asyncio.Event()
        tailing = asyncio.create_task(system.tail(stop))
        config = uvicorn.Config(
            system,
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
            access_log=False,
            log_config=None,
            lifespan="off",
            proxy_headers=False,
            http=CoalescingHttp,
        )
        log.info("system.started", port=settings.http_port, data_dir=str(data_dir), **_clock(clock))
        try:
            await Server(config).serve()
        finally:
            stop.set()
            await tailing
            log.info("system.stopped")


def _send_mail_if_configured(embedded: Embedded) -> None:
    """Embedded, the notifications are queued and listed (``/notifications/v1/notifications``);
    they are sent only when a mail relay is named (``UZDIK_NOTIFY_SMTP_HOST``): a rehearsal on a
    laptop tells nobody by accident, and nothing queued is lost until then."""
    if os.environ.get("UZDIK_NOTIFY_SMTP_HOST"):
        service_of(embedded.runtimes["notifications"].ctx).start()
        log.info("notifications.sender_started", smtp_host=os.environ["UZDIK_NOTIFY_SMTP_HOST"])


def _clock(clock: BusinessClock) -> dict[str, Any]:
    return {"clock": clock.now().isoformat(timespec="seconds"), "simulated": clock.simulated}


Name = Callable[[str], str]


def _winners(winners: dict[str, Any], name: Name) -> list[str]:
    if not winners.get("winners"):
        return []
    e = html.escape
    rows = "".join(
        f"<tr><td>{w['place']}</td><td>{name(w['candidate_id'])}</td>"
        f"<td>{e(str(w.get('mean')))}</td></tr>"
        for w in winners["winners"]
    )
    note = winners.get("not_awarded_reason")
    return [
        "<h3>Winners</h3><table><tr><th>place</th><th>winner</th><th>mean</th></tr>"
        f"{rows}</table>" + (f"<p>{e(str(note))}</p>" if note else "")
    ]


def _finalists(finalists: list[dict[str, Any]], name: Name) -> list[str]:
    if not finalists:
        return []
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(f.get('region') or ''))}</td>"
        f"<td>{name(f['candidate_id'])}</td>"
        f"<td>{e(str(f.get('regional_total') or ''))}</td></tr>"
        for f in finalists
        if f.get("candidate_id")
    )
    return [
        "<h3>Regional finalists</h3><table><tr><th>region</th><th>finalist</th>"
        f"<th>regional total</th></tr>{rows}</table>"
    ]


def _protocols(protocols: list[dict[str, Any]]) -> list[str]:
    if not protocols:
        return []
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(str(p.get('purpose') or p.get('stage')))}</td>"
        f"<td>{e(str(p.get('opened_at') or '')[:10])}</td>"
        f"<td><a href='/browse/protocols/{e(p['sitting_id'])}.html?lang=ru'>ru</a> "
        f"<a href='/browse/protocols/{e(p['sitting_id'])}.html?lang=kk'>kk</a> "
        f"<a href='/browse/protocols/{e(p['sitting_id'])}.pdf'>PDF</a></td></tr>"
        for p in sorted(protocols, key=lambda p: str(p.get("opened_at")))
    )
    return [f"<h3>Protocols</h3><table>{rows}</table>"]
