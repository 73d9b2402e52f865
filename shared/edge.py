"""The HTTP edge in front of a service's FastAPI application, pure ASGI: the correlation id,
metrics and the log line of every request (:class:`Correlate`); authentication and body limits
before a body is read (:class:`BodyGuard`); and the fast lane (:class:`FastLane`), the kernel's
extension point for a hot endpoint served without FastAPI's routing (the survey's responses)."""

from __future__ import annotations

import re
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

import fastapi.routing
import structlog
from fastapi import FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import Principal, TokenVerifier
from shared.errors import DomainError, ErrorItem, Unauthorized
from shared.ids import uuid4
from shared.logging import get_logger
from shared.metrics import HTTP_REQUESTS
from shared.openapi import BEARER_SCHEME
from shared.problems import INVALID_TEXT, domain_error, problem, validation_error
from shared.text import control_in

log = get_logger("uzdik.http")


CLIENT_CLOSED = 499  # the client went away before it was answered (nginx's convention)


PROBES = frozenset({"/healthz", "/readyz", "/metrics"})  # polled constantly: not logged


async def principal(
    request: Request, declared: HTTPAuthorizationCredentials | None = Security(BEARER_SCHEME)
) -> Principal:
    """FastAPI dependency: the verified bearer token's principal (401 otherwise); verified
    once per request (:class:`BodyGuard` may have done it before the body was read).
    A token verified lately is known on the event loop; the first check of one runs on a
    worker thread (it may fetch the identity provider's keys). ``declared`` is unused: it
    documents the bearer scheme on every route that depends on this one."""
    known = request.scope.get("state", {}).get("principal")
    if isinstance(known, Principal):
        return known
    verifier: TokenVerifier = request.app.state.verifier
    token = _token(request.headers.get("authorization", ""))
    found = verifier.remembered(token)
    if found is None:
        found = await run_in_threadpool(verifier.verify, token)
    structlog.contextvars.bind_contextvars(actor=found.sub)
    request.state.principal = found  # whose Idempotency-Key it is (shared.http.command)
    return found


def _token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("token_missing", "an Authorization: Bearer <token> header is required")
    return token.strip()


def _authenticate(verifier: TokenVerifier, header: str) -> Principal:
    found = verifier.verify(_token(header))
    structlog.contextvars.bind_contextvars(actor=found.sub)
    return found


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
    and the body (read whole, at most ``limit`` bytes: 413 ``body_too_large`` beyond)."""

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


BODY_TOO_LARGE = "body_too_large"


class PayloadTooLarge(DomainError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            code=BODY_TOO_LARGE, status=413, detail=f"the request body exceeds {limit} bytes"
        )


class BodyTooLarge(StarletteHTTPException):
    """Raised by :class:`BodyGuard`'s ``receive`` once a body passes its route's limit: an
    HTTP exception, so that FastAPI's body parsing lets it through (as 413 ``body_too_large``)
    instead of calling it a malformed body."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds {limit} bytes")
        self.limit = limit


F = TypeVar("F", bound=Callable[..., Any])


BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def body_limit(limit: int | None) -> Callable[[F], F]:
    """Route decorator (under ``@api.post(...)``): this route's body limit instead of
    ``UZDIK_MAX_BODY_BYTES``; ``None``: the route bounds its body itself while streaming it
    (a document upload)."""

    def mark(endpoint: F) -> F:
        setattr(endpoint, "uzdik_body_limit", limit)  # noqa: B010 - a marker the guard reads
        return endpoint

    return mark


@dataclass(frozen=True)
class _Guarded:
    route: Any  # an APIRoute, or FastAPI's view of one in an included router
    authenticated: bool  # the route depends on :func:`principal`
    limit: int | None


class BodyGuard:
    """Pure ASGI middleware in front of FastAPI: a command that needs a token is answered 401
    before its body is read (a 100 MB body without a token costs nothing), and no body is read
    past its route's limit (``UZDIK_MAX_BODY_BYTES``, or :func:`body_limit`): 413
    ``body_too_large`` from ``Content-Length`` at once, or as soon as the stream passes it."""

    def __init__(self, app: ASGIApp, api: FastAPI, default_limit: int) -> None:
        self.app, self.api, self.default_limit = app, api, default_limit
        self._routes: tuple[_Guarded, ...] = ()

    def learn_routes(self) -> None:
        """Learn the application's routes (once its routers are included), nested routers'
        too, as FastAPI resolves them (prefix, the routers' dependencies)."""
        walk = getattr(fastapi.routing, "iter_route_contexts", None)
        routes: Iterable[Any] = self.api.router.routes
        self._routes = tuple(
            _Guarded(
                route,
                dependant is not None and _depends_on(dependant, principal),
                getattr(route.endpoint, "uzdik_body_limit", self.default_limit),
            )
            for route in (routes if walk is None else walk(routes))
            if (dependant := getattr(route, "dependant", None)) is not None
            or isinstance(route, APIRoute)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (bad := _control_in_address(scope)) is not None:
            detail = f"the {bad} holds a control character"
            item = ErrorItem(INVALID_TEXT, detail, field=bad)
            await problem(400, INVALID_TEXT, "The request is malformed", detail, [item])(
                scope, receive, send
            )
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        guarded = self._route(scope)
        limit = self.default_limit if guarded is None else guarded.limit
        try:
            if guarded is not None and guarded.authenticated:
                scope.setdefault("state", {})["principal"] = _authenticate(
                    self.api.state.verifier, _header(scope, b"authorization") or ""
                )
            if limit is not None and int(_header(scope, b"content-length") or 0) > limit:
                raise PayloadTooLarge(limit)
        except DomainError as exc:
            await domain_error(None, exc)(scope, receive, send)
            return
        except ValueError:  # a Content-Length that is not a number
            await problem(400, "request_invalid", "The request is malformed", "Content-Length")(
                scope, receive, send
            )
            return
        await self.app(scope, receive if limit is None else _bounded(receive, limit), send)

    def _route(self, scope: Scope) -> _Guarded | None:
        for guarded in self._routes:
            if guarded.route.matches(scope)[0] is Match.FULL:
                return guarded
        return None


def _control_in_address(scope: Scope) -> str | None:
    """``path`` or ``query`` when it holds a control character (a NUL in an id: PostgreSQL
    would fail on it where SQLite stores it), else None."""
    if control_in(scope["path"]):
        return "path"
    if _QUERY_CONTROL.search(unquote_to_bytes(scope.get("query_string", b""))):
        return "query"
    return None


_QUERY_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _bounded(receive: Receive, limit: int) -> Receive:
    size = 0

    async def bounded() -> Message:
        nonlocal size
        message = await receive()
        size += len(message.get("body", b""))
        if size > limit:
            raise BodyTooLarge(limit)
        return message

    return bounded


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
            response = domain_error(None, exc)
        except RequestValidationError as exc:
            response = validation_error(None, exc)
        except ClientDisconnect:
            scope.setdefault("state", {})["client_disconnected"] = True
            return
        except Exception:  # outside Starlette's ServerErrorMiddleware: answer as it would
            log.exception("http.unhandled", path=scope["path"])
            response = problem(500, "internal_error", "Internal error", "an unexpected error")
        await response(scope, receive, send)
