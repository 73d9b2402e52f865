"""The HTTP application every service shares: problem handlers, idempotent commands, health,
readiness and metrics, behind the edge of :mod:`shared.edge`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import (
    Awaitable,
    Callable,
    Sequence,
)
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import TokenVerifier
from shared.edge import BodyGuard, BodyTooLarge, Correlate, FastLane, FastRoute, PayloadTooLarge
from shared.errors import ConcurrencyError, DomainError, RunAgain
from shared.ids import uuid4
from shared.logging import get_logger
from shared.openapi import document
from shared.problems import domain_error, problem, validation_error
from shared.store import idempotency
from shared.store.eventstore import EventStore, UnitOfWork

log = get_logger("uzdik.http")


ReadyCheck = Callable[[], Awaitable[None]]


def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyTooLarge):
        return domain_error(None, PayloadTooLarge(exc.limit))
    codes = {400: "request_invalid", 404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")  # 400: a body FastAPI could not parse
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail))


def fingerprint(key: bytes, body: bytes) -> str:
    """What an idempotency record keeps of a request body: ``HMAC-SHA256(key, body)`` in hex,
    ``key`` the service's secret pepper. Never a plain digest: a body may hold an IIN, and a
    plain SHA-256 of a short body gives it back by brute force in seconds."""
    if not key:
        raise ValueError("the fingerprint key (UZDIK_SURVEY_PEPPER) must not be empty")
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def correlation_id(request: Request) -> str:
    return str(getattr(request.state, "correlation_id", uuid4()))


async def command(
    request: Request,
    store: EventStore,
    scope: str,
    run: Callable[[UnitOfWork], Awaitable[Any]],
    status: int = 201,
    attempts: int = 3,
    body_hash: str | None = None,
) -> JSONResponse:
    """Run a command in one transaction, honouring ``Idempotency-Key`` (same key+body: same
    answer, nothing appended; :mod:`shared.store.idempotency`) and retrying a lost
    optimistic-concurrency race or a transaction the database rolled back (a lost connection,
    a deadlock it broke). The key is the caller's own: ``scope`` is qualified by the
    authenticated principal, so another principal's key never replays.

    ``body_hash`` identifies the request when its body was streamed elsewhere (an upload);
    otherwise the body's :func:`fingerprint` does."""
    key = request.headers.get("idempotency-key")
    if key is not None:
        key = idempotency.check_key(key)
        scope = _owned(request, scope)
    body_hash = body_hash or fingerprint(request.app.state.fingerprint_key, await request.body())
    for attempt in range(attempts):
        try:
            async with store.transaction() as uow:
                if key and (stored := await idempotency.recall(uow, scope, key, body_hash)):
                    return _replayed(stored)
                result = await run(uow)
                content = (
                    result.model_dump(mode="json") if hasattr(result, "model_dump") else result
                )
                if key:
                    await idempotency.remember(uow, scope, key, body_hash, content, status)
                return JSONResponse(content, status_code=status)
        except (ConcurrencyError, RunAgain):
            if attempt == attempts - 1:
                raise
        except DomainError:
            # A retry racing its own first attempt (a client that stopped waiting) is refused
            # by what that attempt did (already recorded, duplicate); once it has committed,
            # its stored answer is this request's answer too.
            if key and (stored := await _recall(store, scope, key, body_hash)):
                return _replayed(stored)
            raise
    raise AssertionError("unreachable")


def _owned(request: Request, scope: str) -> str:
    """``scope`` qualified by the authenticated principal's subject (hashed when long)."""
    who = request.scope.get("state", {}).get("principal")
    if who is None:
        return scope
    sub = str(who.sub)
    owner = sub if len(sub) <= 120 else hashlib.sha256(sub.encode()).hexdigest()
    return f"{scope}:{owner}"


async def _recall(
    store: EventStore, scope: str, key: str, body_hash: str
) -> idempotency.Answer | None:
    async with store.transaction() as uow:
        return await idempotency.recall(uow, scope, key, body_hash)


def _replayed(stored: idempotency.Answer) -> JSONResponse:
    return JSONResponse(
        stored.response, status_code=stored.status, headers={"Idempotent-Replayed": "true"}
    )


class ServiceApp(FastAPI):
    """A service's FastAPI application with its edge outermost: :class:`Correlate` (and the
    :class:`FastLane` within it) run before Starlette's own middleware stack, so a hot route
    pays for none of it (each layer is a coroutine and a wrapped ``send`` per request)."""

    def __init__(
        self,
        service: str,
        fast_routes: Sequence[FastRoute] = (),
        max_body_bytes: int = 1 << 20,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.body_guard = BodyGuard(super().__call__, self, max_body_bytes)
        inner: ASGIApp = self.body_guard
        self._edge = Correlate(FastLane(inner, fast_routes) if fast_routes else inner, service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._edge(scope, receive, send)


def create_app(
    service: str,
    verifier: TokenVerifier,
    routers: Sequence[APIRouter],
    ready_checks: Sequence[ReadyCheck] = (),
    fast_routes: Sequence[FastRoute] = (),
    **fastapi_kwargs: Any,
) -> FastAPI:
    app = ServiceApp(
        service,
        fast_routes,
        verifier.settings.max_body_bytes,
        title=f"uzdik {service}",
        version="1",
        **fastapi_kwargs,
    )
    app.state.verifier = verifier
    app.state.fingerprint_key = verifier.settings.survey_pepper.encode()
    document(app)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        for check in ready_checks:
            try:
                await check()
            except Exception as exc:
                return problem(503, "not_ready", "Service not ready", f"{check.__name__}: {exc}")
        return JSONResponse({"status": "ready", "service": service})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    from shared.docs_ui import install_docs  # Swagger UI and ReDoc from the package

    install_docs(app)
    app.body_guard.learn_routes()
    return app
