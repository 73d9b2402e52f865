"""One nominations service for these tests, distributed: its own PostgreSQL database, the real
Kafka broker (topics under a prefix of its own), the relay, and a business clock they move."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.nominations.bootstrap import SPEC
from services.nominations.domain.values import ALMATY
from shared.runtime import ServiceRuntime
from shared.settings import Settings

from .support import Nominations

IN_WINDOW = datetime(2020, 6, 10, 12, 0, tzinfo=ALMATY)


class Clock:
    """The business clock of the service under test (``ServiceContext.now``)."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment


async def _admin(admin_url: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database(pg_admin_url: str) -> AsyncIterator[str]:
    name = f"uzdik_t_nominations_{uuid.uuid4().hex[:10]}"
    await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
    yield f"{pg_admin_url.rpartition('/')[0]}/{name}"
    await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def session_clock() -> Clock:
    return Clock(IN_WINDOW)


@pytest.fixture(scope="session")
async def runtime(
    database: str,
    kafka_bootstrap: str,
    session_clock: Clock,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ServiceRuntime]:
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        relay_idle_seconds=0.02,
        blob_dir=tmp_path_factory.mktemp("blobs"),
    )
    rt = ServiceRuntime(SPEC, settings, url=database, clock=session_clock)
    await rt.start_distributed()
    yield rt
    await rt.stop()


@pytest.fixture
def clock(session_clock: Clock) -> Clock:
    """The clock, back inside the 2020 application window for each test."""
    session_clock.set(IN_WINDOW)
    return session_clock


@pytest.fixture
async def api(runtime: ServiceRuntime, clock: Clock) -> AsyncIterator[Nominations]:
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://nominations") as client:
        yield Nominations(client, runtime.settings, clock)


@pytest.fixture
def blob_dir(runtime: ServiceRuntime) -> Path:
    assert runtime.settings.blob_dir is not None
    return runtime.settings.blob_dir
