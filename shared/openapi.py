"""The OpenAPI document every service serves, with its refusals documented once, here.

FastAPI documents a route's success and, wrongly for us, a ``422 HTTPValidationError`` (the
kernel answers a request that fails validation with ``400 request_invalid``). :func:`document`
post-processes the generated document from what each route is:

* every route can be malformed: ``400`` (``request_invalid`` for its parameters or body; the
  edge's ``invalid_text`` for a control character in any path or query string, parameters or
  not);
* a route that needs the bearer token (FastAPI documents its ``security`` and the ``bearer``
  scheme, HTTP bearer JWT, from :data:`BEARER_SCHEME`): ``401`` and ``403``;
* a path that names a resource, or a command (which may name one in its body): ``404``;
* a command (POST, PUT, PATCH, DELETE): ``409`` (state, duplicate, concurrency) and ``422``
  (a rule, or an ``Idempotency-Key`` reused with another body);
* a command, with a body of its own or not (the edge caps every command's body): ``413``;
* whatever a route declares itself (``responses=problems(429)``), with its description.

Every refusal is ``application/problem+json`` with the :class:`Problem` schema (RFC 9457).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
BEARER = "bearer"
BEARER_SCHEME = HTTPBearer(
    scheme_name=BEARER,
    bearerFormat="JWT",
    description="claims sub, name, roles, region (KATO), commission, exp",
    auto_error=False,  # the kernel answers a missing or bad token itself (401 problem+json)
)
"""Declares the scheme: a route depending on :func:`shared.edge.principal` needs a token."""
WRITES = frozenset({"post", "put", "patch", "delete"})
MEANING = {
    400: "malformed: a path, query or body that fails validation (request_invalid, "
    "invalid_text, …)",
    401: "no bearer token, or one that is not valid (token_missing, token_invalid, …)",
    403: "the token's role, region or commission may not do this",
    404: "an unknown resource",
    409: "conflicts with the state: closed, duplicate, already decided, concurrency",
    413: "the request body is too large",
    422: "well-formed but breaks a rule (late, out of range, Idempotency-Key reused, …)",
    429: "too many requests: retry after the Retry-After header's seconds",
}


class ProblemItem(BaseModel):
    """One failed rule among several."""

    code: str = Field(description="stable code of the failed rule")
    detail: str = Field(description="the rule and the facts, in words")
    field: str | None = Field(None, description="the field at fault, when there is one")


class Problem(BaseModel):
    """RFC 9457 problem details with a stable ``code`` (API.md "Errors"); a refusal may add
    members of its own (``stream_id``, ``retry_after``, …)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="a URI naming the problem")
    title: str = Field(description="short human summary")
    status: int = Field(description="the HTTP status")
    code: str = Field(description="stable code clients and tests rely on")
    detail: str = Field(description="what happened, with the facts")
    errors: list[ProblemItem] = Field([], description="every failed rule, when several failed")


def problems(*statuses: int | tuple[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=`` for refusals :func:`document` does not derive (a 403 of a route
    without a token, a 429), or described more precisely: ``problems((404, "survey_unknown"))``."""
    found: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, text = status if isinstance(status, tuple) else (status, MEANING[status])
        found[code] = {"description": text}
    return found


def document(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI with every refusal documented (computed once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            _complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(schema: dict[str, Any]) -> None:
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_problem_schemas())
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            _refusals(operation, method)
    if "HTTPValidationError" not in str(schema.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _refusals(operation: dict[str, Any], method: str) -> None:
    """The operation's 4xx: derived, plus its own; each one a problem+json."""
    needs_token = any(BEARER in requirement for requirement in operation.get("security", []))
    responses: dict[str, Any] = operation.setdefault("responses", {})
    validation = responses.get("422", {}).get("content", {}).get("application/json", {})
    if "HTTPValidationError" in str(validation):  # FastAPI's, for a status we never answer
        del responses["422"]
    params = operation.get("parameters", [])
    body = "requestBody" in operation
    write = method in WRITES
    derived = {
        400: True,  # the edge refuses a control character in any path or query (invalid_text)
        401: needs_token,
        403: needs_token,
        404: write or any(p.get("in") == "path" for p in params),
        409: write,
        413: body or write,  # the edge caps the body of every command, declared or not
        422: write,
    }
    for status in (s for s, applies in derived.items() if applies):
        responses.setdefault(str(status), {"description": MEANING[status]})
    for key, response in responses.items():
        if key.startswith("4"):
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": _ref("Problem")}}}
            if key == "401":
                response["headers"] = {
                    "WWW-Authenticate": {"required": True, "schema": {"type": "string"}}
                }
    operation["responses"] = dict(sorted(responses.items()))


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _problem_schemas() -> dict[str, Any]:
    """:class:`Problem` and the models it uses, as components."""
    found = Problem.model_json_schema(ref_template=_ref("{model}"))
    nested: dict[str, Any] = found.pop("$defs", {})
    return {"Problem": found, **nested}
