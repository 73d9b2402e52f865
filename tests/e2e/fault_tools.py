"""What the fault test (``test_faults.py``) does to a deployment: a Kafka broker of its own that it
may stop and start, ``uzdik serve`` processes it may SIGKILL and start again on the same port,
and readers of what ended up on a topic and in a database.

The broker is ``deploy/local/kafka.sh`` with ports and a data directory of the test's own, so
the shared broker (``KAFKA_BOOTSTRAP_SERVERS``, used by every other test) is never touched. Its
jars are the ones ``make test`` (``kafka.sh start`` of the shared broker) cached in
``<repo>/.cache/kafka/libs``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.reporting.adapters.kafka_source import KafkaSource, reading_consumer
from shared.kafka import client_kwargs
from tests.conftest import ROOT
from tests.e2e.test_processes import UZDIK, Deployment, Process
from tests.ports import free_port

KAFKA_SH = ROOT / "deploy" / "local" / "kafka.sh"
BROKER_TIMEOUT = 150.0  # kafka.sh's own start timeout is 90 s; stop is SIGTERM then SIGKILL
READY_TIMEOUT = 120.0  # four processes starting at once on two busy cores take their time


@dataclass
class PrivateBroker:
    """A single-node KRaft broker on free ports, its data kept in ``data_dir`` across restarts."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        while self.controller_port == self.port:
            self.controller_port = free_port()

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        await self._run("start")

    async def stop(self, check: bool = True) -> None:
        await self._run("stop", check)

    async def _run(self, action: str, check: bool = True) -> None:
        env = {
            **os.environ,
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_DATA_DIR": str(self.data_dir),
            "KAFKA_HEAP": "384m",
        }
        try:
            done = await asyncio.to_thread(
                subprocess.run,
                ["bash", str(KAFKA_SH), action],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=BROKER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            assert not check, f"kafka.sh {action} took more than {BROKER_TIMEOUT} s"
            return
        assert done.returncode == 0 or not check, (
            f"kafka.sh {action} (private broker {self.bootstrap}, data {self.data_dir}) "
            f"exited {done.returncode}:\n{done.stderr[-3000:]}"
        )


@dataclass
class Fleet:
    """The deployment's processes, each on a port of its own that a restart keeps."""

    deployment: Deployment
    logs: Path
    ports: dict[str, int] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)

    def launch(self, service: str) -> Process:
        port = self.ports.setdefault(service, free_port())
        stderr = self.logs / f"{service}.log"
        with (self.logs / f"{service}.out").open("ab") as out, stderr.open("ab") as err:
            popen = subprocess.Popen(
                [str(UZDIK), "serve", service],
                env={**self.deployment.env, "UZDIK_HTTP_PORT": str(port)},
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,  # signals to the test's process group are not theirs
            )
        process = Process(service, port, popen, stderr)
        self.deployment.processes[service] = process
        return process

    def base(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    async def ready(self, client: httpx.AsyncClient, *services: str) -> None:
        names = services or tuple(self.deployment.processes)
        await asyncio.gather(*(self.wait_ready(client, s) for s in names))

    async def wait_ready(self, client: httpx.AsyncClient, service: str) -> None:
        process = self.deployment[service]
        deadline, last = time.monotonic() + READY_TIMEOUT, "no answer"
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(
                    f"{service} exited with {process.popen.returncode} before it was ready:\n"
                    f"{process.log_tail()}"
                )
            try:
                r = await client.get(f"{process.base}/readyz")
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text}"
            except httpx.TransportError as exc:
                last = repr(exc)
            await asyncio.sleep(0.3)
        raise AssertionError(
            f"{service} not ready in {READY_TIMEOUT} s ({last}):\n{process.log_tail()}"
        )

    async def sigkill_and_restart(
        self, client: httpx.AsyncClient, service: str, down_for: float
    ) -> None:
        """SIGKILL (no graceful stop: no relay flush, no consumer commit), a pause during which
        clients find nobody, then the same command again, until /readyz answers."""
        old = self.deployment[service].popen
        old.kill()
        await asyncio.to_thread(old.wait, 10)
        await asyncio.sleep(down_for)
        self.restarts[service] += 1
        self.launch(service)
        await self.ready(client, service)

    async def stop_all(self) -> None:
        for process in self.deployment.processes.values():
            if process.popen.poll() is None:
                process.popen.kill()
                await asyncio.to_thread(process.popen.wait, 10)


# --- what ended up where ---------------------------------------------------------------------


@dataclass
class TopicCopies:
    """A topic read from offset zero: the envelopes by event id, and how many copies of each."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: Counter[str] = field(default_factory=Counter)

    @property
    def duplicated(self) -> int:
        """Messages beyond the first of their event id (at-least-once redeliveries)."""
        return sum(n - 1 for n in self.copies.values())


async def read_topic(bootstrap: str, topic: str) -> TopicCopies:
    found = TopicCopies()
    async for batch in KafkaSource(bootstrap, [topic]).batches():
        for envelope in batch:
            event_id = envelope["metadata"]["event_id"]
            found.copies[event_id] += 1
            found.events.setdefault(event_id, envelope)
    return found


async def republish(bootstrap: str, topic: str, count: int) -> int:
    """Send the first ``count`` messages of ``topic`` again as they are (partition, key, value,
    headers): what a relay does when it dies between Kafka's acknowledgement and its own mark.
    Returns how many were sent again."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
    consumer = reading_consumer(bootstrap)
    await consumer.start()
    try:
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        records: list[Any] = []
        left = {tp for tp in parts if ends[tp] > 0}
        deadline = time.monotonic() + 30
        while left and len(records) < count and time.monotonic() < deadline:
            got = await consumer.getmany(timeout_ms=1000, max_records=count)
            for tp, batch in got.items():
                records += [r for r in batch if r.offset < ends[tp]]
                if batch and batch[-1].offset >= ends[tp] - 1:
                    left.discard(tp)
    finally:
        await consumer.stop()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **client_kwargs())
    await producer.start()
    try:
        for r in records[:count]:
            await producer.send_and_wait(
                topic, r.value, key=r.key, partition=r.partition, headers=list(r.headers)
            )
    finally:
        await producer.stop()
    return len(records[:count])


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def fetch(url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(url))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@dataclass(frozen=True)
class Stored:
    """One event of a service's store."""

    event_id: str
    event_type: str
    payload: dict[str, Any]
    global_position: int = 0


async def stored_events(url: str) -> list[Stored]:
    rows = await fetch(
        url, "SELECT event_id, event_type, payload, global_position FROM events ORDER BY 1"
    )
    return [
        Stored(r["event_id"], r["event_type"], json.loads(r["payload"]), r["global_position"])
        for r in rows
    ]


async def applied_of(url: str, consumer: str, source: str) -> Any:
    """What ``consumer`` recorded it applied of ``source`` (shared.store.tracking.Applied)."""
    from shared.store.tracking import Applied

    rows = await fetch(
        url,
        "SELECT position, applied_above FROM checkpoints WHERE consumer = $1 AND source = $2",
        consumer,
        source,
    )
    return Applied.stored(rows[0]["position"], rows[0]["applied_above"]) if rows else Applied()


async def eventually_true(probe: Any, what: Any, timeout: float) -> None:
    """Poll ``probe()`` until truthy; on timeout fail with ``what()`` (what is still missing)."""
    deadline = time.monotonic() + timeout
    while not await probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s: {await what()}")
        await asyncio.sleep(0.5)
