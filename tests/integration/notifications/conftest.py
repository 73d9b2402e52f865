"""The notifications service distributed, with what it talks to — all real: its own
PostgreSQL database, the Kafka broker (topics under a prefix of the test), the nominations
service publishing through its relay, an SMTP server (aiosmtpd) and a webhook receiver
(an HTTP server in a thread), both started by the test and read back."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.nominations.bootstrap import SPEC as NOMINATIONS
from services.nominations.domain.values import ALMATY
from services.notifications.bootstrap import SPEC as NOTIFICATIONS
from shared.auth import issue_dev_token
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.integration.nominations.support import Nominations
from tests.ports import free_port

IN_WINDOW = datetime(2020, 6, 10, 12, 0, tzinfo=ALMATY)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment


class Inbox:
    """An SMTP server's handler: keeps every message it accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refused: set[str] = set()  # unknown users: 550

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: user unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        found = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(found, EmailMessage)
        self.messages.append(found)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class Smtp:
    """A real SMTP server on a port of its own; ``stop``/``start`` make an outage."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    yield server
    server.stop()


@dataclass
class Receiver:
    """A webhook endpoint: answers ``fail_first`` requests with 503, then 200."""

    fail_first: int = 0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/uzdik"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            found.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = 503 if len(found.requests) <= found.fail_first else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


RULES = {
    "backoff_first_seconds": 0.3,
    "backoff_factor": 2,
    "backoff_cap_seconds": 1.0,
    "webhook_max_attempts": 4,
    "email_max_attempts": 30,
}


@dataclass
class World:
    settings: Settings
    nominations: ServiceRuntime
    notifications: ServiceRuntime
    api: Nominations
    client: httpx.AsyncClient  # the notifications API

    def bearer(self, sub: str, roles: list[str], region: str | None = None) -> dict[str, str]:
        token = issue_dev_token(self.settings, sub, roles, region=region)
        return {"Authorization": f"Bearer {token}"}

    async def events(self, *types: str) -> list[Any]:
        found = await self.notifications.store.read_all(limit=100_000)
        return [e for e in found if not types or e.event_type in types]


@pytest.fixture
async def world(
    pg_url_factory: Callable[[], Awaitable[str]],
    kafka_bootstrap: str,
    smtp: Smtp,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[World]:
    monkeypatch.setenv("UZDIK_NOTIFY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("UZDIK_NOTIFY_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("UZDIK_NOTIFY_SMTP_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("UZDIK_NOTIFY_SEND_EVERY_SECONDS", "0.2")
    monkeypatch.setenv("UZDIK_NOTIFY_RULES", json.dumps(RULES))
    settings = Settings(
        kafka_bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}",
        relay_idle_seconds=0.02,
        blob_dir=tmp_path,
    )
    clock = Clock(IN_WINDOW)
    nominations = ServiceRuntime(NOMINATIONS, settings, url=await pg_url_factory(), clock=clock)
    notifications = ServiceRuntime(NOTIFICATIONS, settings, url=await pg_url_factory())
    await nominations.start_distributed()
    await notifications.start_distributed()
    n_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=nominations.app), base_url="http://nominations"
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=notifications.app), base_url="http://notifications"
    )
    try:
        yield World(
            settings, nominations, notifications, Nominations(n_client, settings, clock), client
        )
    finally:
        await n_client.aclose()
        await client.aclose()
        await notifications.stop()
        await nominations.stop()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("condition not reached in time")
