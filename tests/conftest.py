"""Fixtures for real services.

PostgreSQL and Kafka come from DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS (``make test`` starts
them), else from testcontainers where a Docker engine runs. Under ``make test``
(UZDIK_REQUIRE_SERVICES=1) a missing service is an error, never a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_uzdik(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The ``uzdik`` command of the project's venv, run from the repository (output captured).
    ``env`` None: this process's environment without service addresses, so an embedded run
    stays embedded."""
    if env is None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
        }
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "uzdik"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


POSTGRES_IMAGE = "postgres:16.4-alpine"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"


def _docker() -> bool:
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    )


def _unavailable(what: str) -> None:
    message = f"{what} is not available: run `make up` and export its env, or use `make test`"
    if os.environ.get("UZDIK_REQUIRE_SERVICES") or os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    if not _docker():
        _unavailable("PostgreSQL")
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer(POSTGRES_IMAGE, driver="asyncpg") as pg:
        yield pg.get_connection_url()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if servers:
        yield servers
        return
    if not _docker():
        _unavailable("Kafka")
    from testcontainers.community.kafka import KafkaContainer

    with KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka:
        yield kafka.get_bootstrap_server()


async def _admin(url: str, sql: str, attempts: int = 5) -> None:
    """Run one statement on the admin database; a DROP is retried (an autovacuum worker may
    still be in a database a test just filled, and a non-superuser cannot end it)."""
    import asyncio

    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    for attempt in range(attempts):
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
            return
        except asyncpg.PostgresError:
            if not sql.startswith("DROP") or attempt == attempts - 1:
                raise
        finally:
            await conn.close()
        await asyncio.sleep(1.0)


@pytest.fixture
async def pg_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
    await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
    base, _, _ = pg_admin_url.rpartition("/")
    yield f"{base}/{name}"
    await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def pg_url_factory(pg_admin_url: str) -> AsyncIterator[object]:
    """Fresh databases on demand (one per service); all dropped at the end of the test."""
    made: list[str] = []

    async def make() -> str:
        name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
        await _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
        made.append(name)
        return f"{pg_admin_url.rpartition('/')[0]}/{name}"

    yield make
    for name in made:
        await _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def topic_prefix() -> str:
    """Topics of one test: ``<prefix>.<service>.events`` with a prefix of its own."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The event-store suite runs against both backends."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
    await _admin(admin, f'CREATE DATABASE "{name}"')
    yield f"{admin.rpartition('/')[0]}/{name}"
    await _admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
