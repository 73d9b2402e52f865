"""The notifications API follows the house's OpenAPI contract (the checks every service's
document passes, tests/unit/contract), though it is not in the embedded SERVICES yet."""

from __future__ import annotations

import httpx
import pytest

from shared.auth import issue_dev_token
from tests.unit.contract import test_openapi as contract


@pytest.mark.parametrize(
    "check",
    [
        contract.test_every_refusal_is_documented_as_problem_json,
        contract.test_statuses_follow_from_what_the_route_is,
        contract.test_request_validation_is_400_and_fastapis_422_schema_is_gone,
        contract.test_the_bearer_scheme_is_http_bearer_jwt,
    ],
)
def test_the_document_passes_the_contract_checks(check) -> None:  # type: ignore[no-untyped-def]
    check("notifications")


def test_every_route_needs_a_token() -> None:
    assert all(op.get("security") for _, _, op in contract.operations("notifications"))
    assert "POST /v1/contacts" in contract.secured("notifications")


async def test_a_contact_without_a_valid_reference_is_the_documented_400() -> None:
    token = issue_dev_token(contract.SETTINGS, "organiser-1", ["organiser"])
    transport = httpx.ASGITransport(app=contract.runtime("notifications").app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        body = {"recipient": "someone@example.kz", "email": "someone@example.kz"}
        r = await client.post(
            "/v1/contacts", json=body, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 400
    assert r.json()["code"] == "request_invalid"
