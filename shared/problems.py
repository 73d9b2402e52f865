"""RFC 9457 problem+json answers: a domain error, a malformed request, as every route gives them."""

from __future__ import annotations

from collections.abc import (
    Sequence,
)
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from shared.errors import DomainError, ErrorItem

PROBLEM = "application/problem+json"


INVALID_TEXT = "invalid_text"


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


def domain_error(_: Request | None, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    response = problem(exc.status, exc.code, exc.problem_title, exc.detail, exc.errors, **exc.extra)
    if exc.status == 429 and "retry_after" in exc.extra:
        response.headers["Retry-After"] = str(exc.extra["retry_after"])
    return response


def validation_error(_: Request | None, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    items = [
        ErrorItem(
            code=str(e.get("type", "invalid")),
            detail=str(e.get("msg", "")),
            field=".".join(str(p) for p in e.get("loc", ()) if p != "body") or None,
        )
        for e in exc.errors()
    ]
    text = bool(items) and all(i.code == INVALID_TEXT for i in items)
    return problem(
        400,
        INVALID_TEXT if text else "request_invalid",
        "The request is malformed",
        f"{len(items)} field(s) failed validation",
        items,
    )
