"""The OpenAPI document of each service documents every refusal it answers, as problem+json,
and the bearer scheme of the routes that need a token (shared/openapi.py)."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
import pytest

from services.registry import SERVICES, spec
from shared.auth import issue_dev_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings

SETTINGS = Settings(dev_jwt_secret="unit-test-secret-that-is-long-enough-for-hs256")
WRITES = {"post", "put", "patch", "delete"}
PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@cache
def runtime(service: str) -> ServiceRuntime:
    return ServiceRuntime(spec(service), SETTINGS, url="sqlite+aiosqlite:///:memory:")


def document(service: str) -> dict[str, Any]:
    return runtime(service).app.openapi()


def operations(service: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, ops in document(service)["paths"].items()
        for method, op in ops.items()
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_every_refusal_is_documented_as_problem_json(service: str) -> None:
    doc = document(service)
    assert set(doc["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "code",
        "detail",
    }
    for path, method, op in operations(service):
        refusals = {s: r for s, r in op["responses"].items() if s.startswith("4")}
        assert refusals or path == "/v1/territories", f"{method} {path} documents no refusal"
        for status, response in refusals.items():
            assert response["content"] == PROBLEM, f"{method} {path} {status}"
            assert response["description"], f"{method} {path} {status}"


@pytest.mark.parametrize("service", SERVICES)
def test_statuses_follow_from_what_the_route_is(service: str) -> None:
    for path, method, op in operations(service):
        documented = set(op["responses"])
        where = f"{method.upper()} {path}"
        assert "400" in documented, where  # the edge's invalid_text: any path or query
        if "requestBody" in op or method in WRITES:
            assert "413" in documented, where  # the edge caps every command's body
        if method in WRITES:
            assert {"404", "409", "422"} <= documented, where
        if "{" in path:
            assert "404" in documented, where
        if op.get("security"):
            assert op["security"] == [{"bearer": []}], where
            assert {"401", "403"} <= documented, where
            assert op["responses"]["401"]["headers"]["WWW-Authenticate"]["required"], where
        else:
            assert "401" not in documented, where


@pytest.mark.parametrize("service", SERVICES)
def test_request_validation_is_400_and_fastapis_422_schema_is_gone(service: str) -> None:
    doc = document(service)
    assert "HTTPValidationError" not in str(doc)
    assert "ValidationError" not in doc["components"]["schemas"]
    for path, method, op in operations(service):
        if method not in WRITES:
            assert "422" not in op["responses"], f"{method} {path}"


@pytest.mark.parametrize("service", SERVICES)
def test_the_bearer_scheme_is_http_bearer_jwt(service: str) -> None:
    schemes = document(service)["components"]["securitySchemes"]
    assert set(schemes) == {"bearer"}
    assert schemes["bearer"]["type"] == "http"
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["bearer"]["bearerFormat"] == "JWT"


def secured(service: str) -> set[str]:
    return {f"{m.upper()} {p}" for p, m, op in operations(service) if op.get("security")}


def test_which_routes_need_a_token() -> None:
    """Public: an edition, the territory and Annex 3 (nominations), a survey and a resident's
    answer (survey), the published results and the surveys' index (reporting); everything else
    needs a bearer token."""
    public = {
        f"{m.upper()} {p}" for s in SERVICES for p, m, op in operations(s) if not op.get("security")
    }
    assert public == {
        "GET /v1/editions/{edition_id}",
        "GET /v1/territories",
        "GET /v1/territories/{kato}",
        "GET /v1/questionnaire-rubrics/{rubric_id}",
        "GET /v1/surveys/{survey_id}",
        "POST /v1/surveys/{survey_id}/responses",
        "GET /v1/public/results",
        "GET /v1/public/surveys",
        "GET /v1/public/editions",
    }
    assert "POST /v1/editions" in secured("nominations")
    assert "GET /v1/read-models/{model}" in secured("reporting")


def test_the_residents_answer_documents_its_own_refusals() -> None:
    responses = document("survey")["paths"]["/v1/surveys/{survey_id}/responses"]["post"][
        "responses"
    ]
    assert {"400", "403", "404", "409", "413", "422", "429"} <= set(responses)
    assert "not_on_roll" in responses["403"]["description"]


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [
        ("nominations", "/v1/editions", {"edition_id": "not a uuid"}),
        ("scoring", "/v1/commissions", {"commission_id": 7}),
        ("survey", "/v1/surveys", {"survey_id": []}),
    ],
)
async def test_a_body_that_fails_validation_is_the_documented_400(
    service: str, path: str, body: dict[str, Any]
) -> None:
    token = issue_dev_token(SETTINGS, "organiser-1", ["organiser"])
    transport = httpx.ASGITransport(app=runtime(service).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "request_invalid"
    assert "400" in document(service)["paths"][path]["post"]["responses"]


def test_files_are_documented_with_their_media_types() -> None:
    """A file is not JSON: its 200 names the media types it is served as."""

    def ok(service: str, path: str) -> set[str]:
        return set(document(service)["paths"][path]["get"]["responses"]["200"]["content"])

    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert ok("reporting", "/v1/ratings.{fmt}") == {"text/csv", xlsx}
    assert ok("reporting", "/v1/protocols/{sitting_id}.pdf") == {"application/pdf"}
    assert ok("reporting", "/v1/protocols/{sitting_id}.html") == {"text/html"}
    assert ok("nominations", "/v1/applications/{application_id}/documents/{kind}") == {"*/*"}


@pytest.mark.parametrize(
    ("service", "method", "path", "headers", "status", "code"),
    [
        ("nominations", "get", "/v1/territories?q=%00", {}, 400, "invalid_text"),
        ("survey", "post", "/v1/survey-closures?x=%01", {"token": ""}, 400, "invalid_text"),
        (
            "scoring",
            "post",
            "/v1/commissions/c-1/stages/stage1/close",
            {"token": "", "content-length": str(2 << 20)},
            413,
            "body_too_large",
        ),
        (
            "survey",
            "post",
            "/v1/survey-closures",
            {"token": "", "content-length": str(2 << 20)},
            413,
            "body_too_large",
        ),
    ],
)
async def test_what_the_edge_answers_a_route_without_parameters_or_body_is_documented(
    service: str, method: str, path: str, headers: dict[str, str], status: int, code: str
) -> None:
    """Issue 13, item 16: the edge refuses a control character in any query (400) and a
    command's body over the limit (413), whether or not the route declares parameters or a
    body; the route's OpenAPI says so."""
    if headers.pop("token", None) is not None:
        token = issue_dev_token(SETTINGS, "organiser-1", ["organiser"])
        headers["Authorization"] = f"Bearer {token}"
    transport = httpx.ASGITransport(app=runtime(service).app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.request(method, path, headers=headers)
    assert (r.status_code, r.json()["code"]) == (status, code)
    route = (
        path.split("?")[0].replace("/c-1/", "/{commission_id}/").replace("/stage1/", "/{stage}/")
    )
    assert str(status) in document(service)["paths"][route][method]["responses"]
