"""The HTTP edge every service shares: problem+json, auth, idempotency, health and metrics."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, TokenVerifier
from shared.errors import ConcurrencyError, ConnectionLost, DomainError, ErrorItem, Unauthorized
from shared.ids import uuid4
from shared.logging import get_logger
from shared.metrics import HTTP_REQUESTS
from shared.store import schema
from shared.store.eventstore import EventStore, UnitOfWork

PROBLEM = "application/problem+json"
CLIENT_CLOSED = 499  # the client went away before it was answered (nginx's convention)
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # polled constantly: not logged
log = get_logger("uzdik.http")
ReadyCheck = Callable[[], Awaitable[None]]


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[ErrorItem] = (),
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://uzdik.example/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    body.update({k: v for k, v in extra.items() if k not in body})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _domain_error(_: Request | None, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    response = problem(exc.status, exc.code, exc.problem_title, exc.detail, exc.errors, **exc.extra)
    if exc.status == 429 and "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def _validation_error(_: Request | None, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = [
        ErrorItem(
            code=str(e.get("type", "invalid")),
            detail=str(e.get("msg", "")),
            field=".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
        )
        for e in exc.errors()
    ]
    return problem(
        400,
        "request_invalid",
        "The request is malformed",
        f"{len(items)} field(s) failed validation",
        items,
    )


def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), str(exc.detail))


def principal(request: Request) -> Principal:
    """FastAPI dependency: the verified bearer token's principal (401 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("token_missing", "an Authorization: Bearer <token> header is required")
    verifier: TokenVerifier = request.app.state.verifier
    found = verifier.verify(token.strip())
    structlog.contextvars.bind_contextvars(actor=found.sub)
    return found


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
    answer, nothing appended) and retrying a lost optimistic-concurrency race.

    ``body_hash`` identifies the request when its body was streamed elsewhere (an upload)."""
    key = request.headers.get("idempotency-key")
    body_hash = body_hash or hashlib.sha256(await request.body()).hexdigest()
    for attempt in range(attempts):
        try:
            async with store.transaction() as uow:
                if key and (stored := await _stored(uow, scope, key, body_hash)):
                    return stored
                result = await run(uow)
                content = (
                    result.model_dump(mode="json") if hasattr(result, "model_dump") else result
                )
                if key:
                    await uow.conn.execute(
                        schema.idempotency_keys.insert().values(
                            scope=scope,
                            key=key,
                            request_hash=body_hash,
                            status_code=status,
                            response=json.dumps(content, ensure_ascii=False),
                        )
                    )
                return JSONResponse(content, status_code=status)
        except (ConcurrencyError, ConnectionLost):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


async def _stored(uow: UnitOfWork, scope: str, key: str, body_hash: str) -> JSONResponse | None:
    t = schema.idempotency_keys.c
    row = (
        await uow.conn.execute(
            sa.select(t.request_hash, t.status_code, t.response).where(
                t.scope == scope, t.key == key
            )
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != body_hash:
        raise DomainError(
            code="idempotency_key_reused",
            status=422,
            detail="this Idempotency-Key was already used with a different request body",
        )
    return JSONResponse(
        json.loads(row.response),
        status_code=row.status_code,
        headers={"Idempotent-Replayed": "true"},
    )


class Correlate:
    """Pure ASGI middleware (no per-request Request/Response objects: it is on the hot path
    of the survey): the correlation id in, the response header, metrics and one log line."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-correlation-id"), None
        ) or str(uuid4())
        scope.setdefault("state", {})["correlation_id"] = cid
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=cid, service=self.service)
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", cid.encode("latin-1")),
                ]
            await send(message)

        try:  # Starlette's ServerErrorMiddleware answers 500 and re-raises: still counted
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["state"].get("client_disconnected") and status[0] == 500:
                status[0] = CLIENT_CLOSED  # nothing was answered: not the server's failure
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, scope["method"], str(status[0])).observe(elapsed)
            if scope["path"] not in PROBES:
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status[0],
                    ms=round(elapsed * 1000, 1),
                )


class RawRequest:
    """What a :class:`FastRoute` handler sees of its request: path parameters, headers, peer
    and the body (read whole, at most ``limit`` bytes: 413 ``payload_too_large`` beyond)."""

    __slots__ = ("_receive", "params", "scope")

    def __init__(self, scope: Scope, receive: Receive, params: dict[str, str]) -> None:
        self.scope, self.params, self._receive = scope, params, receive

    def header(self, name: bytes) -> str | None:
        """The first value of a header (``name`` in lower case)."""
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    @property
    def peer(self) -> str | None:
        client = self.scope.get("client")
        return str(client[0]) if client else None

    async def body(self, limit: int) -> bytes:
        return await bounded_body(self._chunks(), limit)

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return


class PayloadTooLarge(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            code="payload_too_large", status=413, detail=f"the request body exceeds {limit} bytes"
        )


async def bounded_body(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """A request body read whole but at most ``limit`` bytes (413 beyond): a fast route's
    (:meth:`RawRequest.body`) or a FastAPI route's (``bounded_body(request.stream(), n)``)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        parts.append(chunk)
    return b"".join(parts)


@dataclass(frozen=True)
class FastRoute:
    """A hot endpoint served as pure ASGI ahead of FastAPI's routing, dependency injection and
    response models (the survey's responses under a national vote). It answers with the same
    problem+json as every route (a :class:`DomainError` or a ``RequestValidationError`` raised
    by the handler), inside the same correlation, metrics and log line; its FastAPI twin stays
    for the OpenAPI document and calls the same code."""

    method: str
    path: re.Pattern[str]  # full match; named groups are the path parameters
    handler: Callable[[RawRequest], Awaitable[Response]]


class FastLane:
    """Pure ASGI middleware: a request matching a :class:`FastRoute` is answered here."""

    def __init__(self, app: ASGIApp, routes: Sequence[FastRoute]) -> None:
        self.app, self.routes = app, tuple(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                if scope["method"] == route.method and (
                    match := route.path.fullmatch(scope["path"])
                ):
                    await self._serve(route, match.groupdict(), scope, receive, send)
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _serve(
        route: FastRoute, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            response = await route.handler(RawRequest(scope, receive, params))
        except DomainError as exc:
            response = _domain_error(None, exc)
        except RequestValidationError as exc:
            response = _validation_error(None, exc)
        except ClientDisconnect:
            scope.setdefault("state", {})["client_disconnected"] = True
            return
        except Exception:  # outside Starlette's ServerErrorMiddleware: answer as it would
            log.exception("http.unhandled", path=scope["path"])
            response = problem(500, "internal_error", "Internal error", "an unexpected error")
        await response(scope, receive, send)


class ServiceApp(FastAPI):
    """A service's FastAPI application with its edge outermost: :class:`Correlate` (and the
    :class:`FastLane` within it) run before Starlette's own middleware stack, so a hot route
    pays for none of it (each layer is a coroutine and a wrapped ``send`` per request)."""

    def __init__(self, service: str, fast_routes: Sequence[FastRoute] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        inner: ASGIApp = super().__call__
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
    app = ServiceApp(service, fast_routes, title=f"uzdik {service}", version="1", **fastapi_kwargs)
    app.state.verifier = verifier
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
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
    return app
