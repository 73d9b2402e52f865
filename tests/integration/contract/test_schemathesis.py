"""Schemathesis over the five services' OpenAPI documents, served live on PostgreSQL: generated
requests (valid and invalid by the schema), with no token and with a valid one, must never get
a server error (5xx), and every answer must be documented — its status code, its content type,
its headers and its body's schema (problem+json for every refusal).

Bounded: a few examples per operation, no shrinking, no example database; the whole run takes
about a minute and a half on 2 cores."""

from __future__ import annotations

from functools import cache
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.registry import SERVICES, spec
from shared.runtime import ServiceRuntime
from shared.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def document(service: str) -> dict[str, Any]:
    """The service's OpenAPI as it serves it (built without I/O)."""
    app = ServiceRuntime(spec(service), Settings(), url="sqlite+aiosqlite:///:memory:").app
    return app.openapi()


SCHEMAS = {name: schemathesis.openapi.from_dict(document(name)) for name in SERVICES}


def service_of(case: Any) -> str:
    title: str = case.operation.schema.raw_schema["info"]["title"]
    return title.removeprefix("uzdik ")


@cache
def session() -> requests.Session:
    return requests.Session()


@schemathesis.pytest.parametrize(**SCHEMAS)
@bounded(5)  # without a token, every secured operation stops at the 401
def test_no_token(case: Any, live: dict[str, str]) -> None:
    case.call_and_validate(base_url=live[service_of(case)], session=session(), checks=CHECKS)


@schemathesis.pytest.parametrize(**SCHEMAS)
@bounded(12)
def test_valid_token(case: Any, live: dict[str, str], contract_token: str) -> None:
    case.call_and_validate(
        base_url=live[service_of(case)],
        session=session(),
        headers={"Authorization": f"Bearer {contract_token}"},
        checks=CHECKS,
    )
