"""The five services served live on PostgreSQL (one database each) for the contract tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.registry import SERVICES
from shared.settings import Settings

from .live import LiveService


@pytest.fixture(scope="package")
def contract_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(blob_dir=Path(tmp_path_factory.mktemp("contract-blobs")))


@pytest.fixture(scope="package")
def live(pg_admin_url: str, contract_settings: Settings) -> Iterator[dict[str, str]]:
    """Each service's base URL, served for the whole package.

    The notifications service serves its API only: no sender and no results subscription
    (the API is what is under test; aiokafka's client picks brokers with the global ``random``,
    which Hypothesis reports as a strategy using ``random`` when it runs beside generation)."""
    quiet = {"UZDIK_NOTIFY_SEND_EVERY_SECONDS": "0", "UZDIK_NOTIFY_CONSUME_RESULTS": "false"}
    saved = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)
    servers = [LiveService(name, pg_admin_url, contract_settings) for name in SERVICES]
    started: list[LiveService] = []
    try:
        for server in servers:
            started.append(server.__enter__())
        yield {server.service: server.base_url for server in started}
    finally:
        for server in reversed(started):
            server.__exit__(None, None, None)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="package")
def contract_token(contract_settings: Settings) -> str:
    """A valid token from the dev issuer with every role, republic-wide."""
    from shared.auth import ROLES, issue_dev_token

    return issue_dev_token(contract_settings, "contract-1", sorted(ROLES))
