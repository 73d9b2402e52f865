"""The fast lane: pure-ASGI routes ahead of FastAPI answer like any route (same problem+json,
same correlation id), and everything else still reaches FastAPI."""

from __future__ import annotations

import re

import httpx
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from shared.auth import TokenVerifier
from shared.edge import FastRoute, RawRequest, bounded_body
from shared.errors import RuleViolation
from shared.http import create_app
from shared.settings import Settings

SETTINGS = Settings(dev_jwt_secret="unit-test-secret-that-is-long-enough-for-hs256")
seen: list[str] = []


class Body(BaseModel):
    n: int


async def fast(request: RawRequest) -> Response:
    seen.append("fast")
    raw = await request.body(limit=64)
    try:
        body = Body.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
    if body.n == 13:
        raise RuntimeError("a bug")
    if body.n > 10:
        raise RuleViolation("too_many", f"{body.n} is more than 10")
    return JSONResponse(
        {
            "thing": request.params["thing"],
            "n": body.n,
            "peer": request.peer,
            "key": request.header(b"idempotency-key"),
        },
        status_code=201,
    )


def client() -> httpx.AsyncClient:
    api = APIRouter()

    @api.post("/v1/things/{thing}/counts")
    async def twin(thing: str) -> dict[str, str]:
        seen.append("fastapi")
        return {"thing": thing}

    @api.put("/v1/things/{thing}/counts")
    async def bounded(thing: str, request: Request) -> dict[str, int]:
        return {"bytes": len(await bounded_body(request.stream(), limit=64))}

    @api.get("/v1/things/{thing}/counts")
    async def read(thing: str) -> dict[str, str]:
        seen.append("fastapi")
        if thing == "bug":
            raise RuntimeError("a bug")
        return {"thing": thing}

    route = FastRoute("POST", re.compile(r"/v1/things/(?P<thing>[a-z]+)/counts"), fast)
    app = create_app("unit", TokenVerifier(SETTINGS), [api], fast_routes=[route])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


def count(status: str, method: str = "POST") -> float:
    from prometheus_client import REGISTRY

    labels = {"service": "unit", "method": method, "status": status}
    return REGISTRY.get_sample_value("uzdik_http_request_seconds_count", labels) or 0.0


async def test_a_matching_request_is_answered_by_the_fast_route_with_a_correlation_id() -> None:
    seen.clear()
    async with client() as c:
        r = await c.post(
            "/v1/things/apples/counts",
            content=b'{"n": 3}',
            headers={"Idempotency-Key": "k1", "X-Correlation-Id": "corr-1"},
        )
    assert r.status_code == 201
    assert r.json() == {"thing": "apples", "n": 3, "peer": "127.0.0.1", "key": "k1"}
    assert r.headers["x-correlation-id"] == "corr-1"
    assert seen == ["fast"]


async def test_a_domain_refusal_on_the_fast_route_is_the_usual_problem_json() -> None:
    async with client() as c:
        r = await c.post("/v1/things/apples/counts", content=b'{"n": 11}')
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_many" and "x-correlation-id" in r.headers


async def test_an_invalid_body_on_the_fast_route_names_the_field() -> None:
    async with client() as c:
        r = await c.post("/v1/things/apples/counts", content=b'{"n": "many"}')
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "request_invalid"
    assert [e["field"] for e in body["errors"]] == ["n"]


async def test_a_body_over_the_limit_is_refused_with_413() -> None:
    async with client() as c:
        r = await c.post("/v1/things/apples/counts", content=b'{"n": 1}' + b" " * 100)
    assert r.status_code == 413
    assert r.json()["code"] == "body_too_large"


async def test_other_methods_and_paths_still_reach_fastapi() -> None:
    seen.clear()
    async with client() as c:
        got = await c.get("/v1/things/apples/counts")
        other = await c.post("/v1/things/APPLES/counts")  # outside the fast route's pattern
        missing = await c.post("/v1/nothing")
    assert got.status_code == 200 and other.status_code == 200
    assert seen == ["fastapi", "fastapi"]
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


async def test_a_fastapi_twin_reads_its_body_within_the_same_limit() -> None:
    async with client() as c:
        small = await c.put("/v1/things/apples/counts", content=b"x" * 64)
        big = await c.put("/v1/things/apples/counts", content=b"x" * 65)
    assert small.status_code == 200 and small.json() == {"bytes": 64}
    assert big.status_code == 413 and big.json()["code"] == "body_too_large"


async def test_a_client_gone_before_its_body_is_counted_499_not_a_server_error() -> None:
    route = FastRoute("POST", re.compile(r"/v1/things/(?P<thing>[a-z]+)/counts"), fast)
    app = create_app("unit", TokenVerifier(SETTINGS), [], fast_routes=[route])
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/things/apples/counts",
        "headers": [],
        "query_string": b"",
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    before = (count("499"), count("500"))
    await app(scope, receive, send)
    assert sent == []  # nobody to answer
    assert (count("499"), count("500")) == (before[0] + 1, before[1])


async def test_a_bug_on_the_fast_route_is_a_500_problem_counted_and_correlated() -> None:
    before = count("500")
    async with client() as c:
        r = await c.post("/v1/things/apples/counts", content=b'{"n": 13}')
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "internal_error" and "x-correlation-id" in r.headers
    assert count("500") == before + 1


async def test_a_bug_in_a_fastapi_route_is_still_counted_as_a_500() -> None:
    before = count("500", "GET")
    async with client() as c:
        r = await c.get("/v1/things/bug/counts")
    assert r.status_code == 500 and "x-correlation-id" in r.headers
    assert count("500", "GET") == before + 1
