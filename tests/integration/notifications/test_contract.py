"""Schemathesis over the notifications API, served live on PostgreSQL (as the other services'
in tests/integration/contract): no generated request, with or without a token, gets a 5xx,
and every answer is documented."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
import requests
import schemathesis

from services.registry import spec
from shared.auth import ROLES, issue_dev_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.contract.live import LiveService
from tests.integration.contract.test_schemathesis import CHECKS, bounded

SETTINGS = Settings()
SCHEMA = schemathesis.openapi.from_dict(
    ServiceRuntime(
        spec("notifications"), SETTINGS, url="sqlite+aiosqlite:///:memory:"
    ).app.openapi()
)


@pytest.fixture(scope="module")
def live(pg_admin_url: str) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("UZDIK_NOTIFY_SEND_EVERY_SECONDS", "0")  # nothing to send to here
        with LiveService("notifications", pg_admin_url, SETTINGS) as server:
            yield server.base_url


# Schemathesis's own negative-case generation calls `random` inside a strategy for some of
# these schemas (a HypothesisDeprecationWarning, an error under the house's filterwarnings):
# it is the library's doing, not the service's, and says nothing of the answers checked.
QUIET = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


@cache
def session() -> requests.Session:
    return requests.Session()


@QUIET
@SCHEMA.parametrize()
@bounded(5)
def test_no_token(case: Any, live: str) -> None:
    case.call_and_validate(base_url=live, session=session(), checks=CHECKS)


@QUIET
@SCHEMA.parametrize()
@bounded(12)
def test_valid_token(case: Any, live: str) -> None:
    token = issue_dev_token(SETTINGS, "contract-1", sorted(ROLES))
    case.call_and_validate(
        base_url=live,
        session=session(),
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
    )
