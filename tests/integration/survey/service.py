"""The survey service as a real process (``uzdik serve survey``) for the integration and browser
tests: its own PostgreSQL database and topic prefix, a free port, its log captured to a file;
and helpers to read a topic whole and to publish another service's events."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared.auth import issue_dev_token
from shared.events import Actor, Envelope, Event
from shared.kafka import KafkaPublisher
from shared.migrations import upgrade
from shared.relay import to_record, topic_for
from shared.settings import Settings
from shared.store.eventstore import open_store
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
UZDIK = ROOT / ".venv" / "bin" / "uzdik"
PEPPER = "integration-test-pepper"


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def create_database(admin_url: str) -> str:
    name = f"uzdik_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{admin_url.rpartition('/')[0]}/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    """Drop, retried while an autovacuum worker (which our role may not end) holds it."""
    name = url.rpartition("/")[2]
    conn = await asyncpg.connect(dsn(admin_url))
    try:
        for attempt in range(20):
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except asyncpg.InsufficientPrivilegeError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.5)
    finally:
        await conn.close()


class SurveyProcess:
    """``uzdik serve survey`` on a free port; stop() ends it (SIGTERM, then SIGKILL)."""

    def __init__(
        self,
        database_url: str,
        bootstrap: str,
        prefix: str,
        log_path: Path,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("serve", "survey"),
    ) -> None:
        self.command = command
        self.database_url, self.bootstrap, self.prefix = database_url, bootstrap, prefix
        self.log_path = log_path
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            kafka_bootstrap_servers=bootstrap, topic_prefix=prefix, survey_pepper=PEPPER
        )
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("UZDIK_")},
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "UZDIK_TOPIC_PREFIX": prefix,
            "UZDIK_HTTP_HOST": "127.0.0.1",
            "UZDIK_HTTP_PORT": str(self.port),
            "UZDIK_SURVEY_PEPPER": PEPPER,
            "UZDIK_RELAY_IDLE_SECONDS": "0.02",
            "UZDIK_SURVEY_TRUSTED_PROXIES": "127.0.0.1/32",
            "UZDIK_SURVEY_CLOSE_EVERY_S": "0.5",
            "UZDIK_LOG_LEVEL": "DEBUG",
            **(env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(UZDIK), *self.command],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self, timeout: float = 45.0) -> None:
        self.process = self.spawn()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the service exited: {self.log()[-3000:]}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the service did not become ready: {self.log()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def token(self, sub: str, roles: list[str], region: str | None = None) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, roles, region=region)
        return {"Authorization": f"Bearer {token}"}

    @property
    def topic(self) -> str:
        return topic_for("survey", self.prefix)


async def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Envelope]], bool] = lambda _: False,
    timeout: float = 30.0,
    quiet: float = 1.0,
) -> list[Envelope]:
    """Every record of ``topic`` from offset zero: until ``until`` holds, or nothing new came
    for ``quiet`` seconds after the end was reached, or ``timeout``."""
    from aiokafka import AIOKafkaConsumer

    from shared.kafka import decode

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[Envelope] = []
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            records = [r for rs in batch.values() for r in rs]
            if records:
                out.extend(decode(r.value) for r in records)
                last = time.monotonic()
                if until(out):
                    break
            elif out and time.monotonic() - last > quiet:
                break
    finally:
        await consumer.stop()
    return out


async def raw_topic(bootstrap: str, topic: str, timeout: float = 20.0) -> list[bytes]:
    """Every record of ``topic`` as bytes (key, headers and value), for grepping."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        end = await consumer.end_offsets(list(consumer.assignment()))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in end}
            if all(positions[tp] >= end[tp] for tp in end):
                break
            batch = await consumer.getmany(timeout_ms=200, max_records=5000)
            for records in batch.values():
                for r in records:
                    headers = b"".join(k.encode() + v for k, v in r.headers)
                    out.append((r.key or b"") + headers + (r.value or b""))
    finally:
        await consumer.stop()
    return out


async def publish_events(
    bootstrap: str,
    prefix: str,
    service: str,
    events: Sequence[tuple[str, Event]],
    store_dir: Path,
    occurred_at: datetime | None = None,
    actor: Actor | None = None,
) -> list[Envelope]:
    """Append ``(stream, event)`` pairs to a scratch event store of ``service`` (so they get
    real envelopes) and publish them to its topic, as its relay would."""
    store = open_store(service, f"sqlite+aiosqlite:///{store_dir / f'{service}.db'}")
    await upgrade(store.engine)
    envelopes: list[Envelope] = []
    who = actor or Actor(id="secretary-1", role="secretary")
    try:
        for stream, event in events:
            async with store.transaction() as uow:
                current = await uow.stream_version(stream)
                envelopes += await uow.append(
                    stream, current, [event], who, str(uuid.uuid4()), occurred_at=occurred_at
                )
    finally:
        await store.close()
    publisher = KafkaPublisher(bootstrap, client_id="test-publisher")
    try:
        await publisher.publish(topic_for(service, prefix), [to_record(e) for e in envelopes])
    finally:
        await publisher.close()
    return envelopes


async def republish(bootstrap: str, prefix: str, service: str, envelopes: list[Envelope]) -> None:
    """Deliver the same events again (at-least-once delivery)."""
    publisher = KafkaPublisher(bootstrap, client_id="test-publisher")
    try:
        await publisher.publish(topic_for(service, prefix), [to_record(e) for e in envelopes])
    finally:
        await publisher.close()


async def dump_database(url: str) -> str:
    """Every row of every table of the database, as text."""
    conn = await asyncpg.connect(dsn(url))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname NOT IN "
            "('pg_catalog', 'information_schema')"
        )
        parts: list[str] = []
        for row in tables:
            name = row["tablename"]
            rows = await conn.fetch(f'SELECT * FROM "{name}"')
            parts.append(f"-- {name}: {len(rows)} rows")
            parts.extend(repr(tuple(r.values())) for r in rows)
        return "\n".join(parts)
    finally:
        await conn.close()


def form_answers(values: Sequence[int]) -> dict[str, Any]:
    return {f"a{i}": str(v) for i, v in enumerate(values, start=1)}
