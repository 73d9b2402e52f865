"""A service served for real: uvicorn on 127.0.0.1 in a thread of its own (its own event loop),
on a fresh PostgreSQL database of its own, migrated; no Kafka (nothing here needs it).

Schemathesis calls it over HTTP from the test's thread, synchronously, so the service must not
share the test session's event loop."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from typing import Any

import uvicorn
import uvloop

from services.registry import spec
from shared.runtime import ServiceRuntime
from shared.settings import Settings
from tests.conftest import _admin


class LiveService:
    def __init__(self, service: str, admin_url: str, settings: Settings) -> None:
        self.service, self.admin_url, self.settings = service, admin_url, settings
        self.database = f"uzdik_t_{uuid.uuid4().hex[:12]}"
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.server: uvicorn.Server | None = None
        self.failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"live-{service}", daemon=True)

    def __enter__(self) -> LiveService:
        self._thread.start()
        deadline = time.monotonic() + 60
        while not (self.server is not None and self.server.started):
            if self.failure is not None or not self._thread.is_alive():
                raise RuntimeError(f"{self.service} did not start") from self.failure
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.service} did not start in 60 s")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self._thread.join(timeout=30)
        if self.failure is not None:
            raise RuntimeError(f"{self.service} failed while serving") from self.failure

    def _run(self) -> None:
        try:  # uvloop, as `uzdik serve` runs: asyncio's own loop answers a thread ~40 ms late
            uvloop.run(self._serve())
        except BaseException as exc:  # reported to the test's thread by __enter__/__exit__
            self.failure = exc

    async def _serve(self) -> None:
        await _admin(self.admin_url, f'CREATE DATABASE "{self.database}"')
        url = f"{self.admin_url.rpartition('/')[0]}/{self.database}"
        runtime = ServiceRuntime(spec(self.service), self.settings, url=url)
        try:
            await runtime.migrate()
            config = uvicorn.Config(
                runtime.app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                ws="none",
                proxy_headers=False,
            )
            self.server = uvicorn.Server(config)
            await self.server.serve(sockets=[self.socket])
        finally:
            await runtime.stop()
            await _admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
