"""One distributed system (the five services on PostgreSQL + Kafka, in this process) for all the
scoring integration tests: each test works in an edition of its own, so they do not meet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.registry import WRITERS
from tests.conftest import _admin
from tests.harness import Distributed
from tests.integration.scoring.world import World


@pytest.fixture(scope="package")
async def system(pg_admin_url: str, kafka_bootstrap: str) -> AsyncIterator[Distributed]:
    made: list[str] = []

    async def make() -> str:
        name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
        await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{pg_admin_url.rpartition('/')[0]}/{name}"

    async with Distributed(make, kafka_bootstrap, f"t{uuid.uuid4().hex[:10]}") as running:
        yield running
    for name in made:
        await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def world(system: Distributed) -> World:
    stores = {name: system.runtimes[name].store for name in WRITERS}
    return World(system.clients, stores, system.settings)
