"""``make bench-survey``: residents' responses over HTTP into ``uzdik serve survey``, against a
reference of the same rows written by asyncpg, one transaction per row, at the same concurrency.

One run:

1. PostgreSQL and Kafka from ``BENCH_DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``, else the
   benchmarks' durable local cluster and the local broker (:func:`bench.common.ensure_services`).
2. ``uzdik serve survey`` as subprocesses (``--replicas``, default 2: the deployment's minimum,
   its HPA's ``minReplicas``; wrk's two threads talk one to each) on a fresh database and topic
   prefix; a survey opened through the API; a warm-up survey answered first.
3. The load: ``wrk`` (Debian's, installed when absent) with a Lua script that builds valid,
   unique IINs (checksum with both weight passes) and random answers, each resident from an
   address of their own (``X-Forwarded-For``: the bench stands for the akimat's reverse proxy),
   ``--connections`` at once, until exactly ``--responses`` answers came back. Each 201's
   response id is written down per wrk thread.
4. Once the relay has published everything: ``lost`` = answered 201 but missing from the event
   store or from the Kafka topic; ``duplicated`` = extra copies of a response (same response id
   or same resident) in the store or on the topic.
5. The reference: the very event rows the service stored, with their ``survey_answered`` rows,
   inserted by asyncpg into a fresh database with the same tables, one transaction per response,
   by as many connections as wrk had.

Last line on stdout: ``survey_ingest responses_per_s=<n> p99_ms=<n>
reference_rows_per_s=<n> ratio=<n> lost=<n> duplicated=<n>`` (one line).
The figures are appended to bench/README.md (section "Survey").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from bench.common import (
    README,
    ROOT,
    Services,
    append_row,
    asyncpg_dsn,
    create_database,
    delete_topics,
    drop_database,
    ensure_services,
    machine,
    num,
    say,
    with_database,
)
from shared.auth import issue_dev_token
from shared.relay import topic_for
from shared.settings import Settings

DEFAULT_RESPONSES = 30_000
DEFAULT_CONNECTIONS = 64
WARMUP = 3_000
THREADS = 2
CLOCK = os.sysconf("SC_CLK_TCK")  # /proc/<pid>/stat times are in these
MARKER = "survey-results"
# the edition's per-survey bucket (600/min) is for one rural district; the bench drives a whole
# region's worth into one survey, so the bench raises it (per-IP limits stay the edition's)
LIMITS = {"per_survey": {"capacity": 1_000_000, "refill_per_minute": 60_000_000}}

LUA = r"""
-- bench/survey.py: valid unique IINs, random answers, one address per resident; stops after
-- `quota` answers per thread and writes "<status> <response id>" per answer.
local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  -- several replicas of the service: thread i talks to replica i (mod their number)
  local ports = {}
  for p in string.gmatch(os.getenv("SURVEY_BENCH_PORTS") or "", "%d+") do
    table.insert(ports, p)
  end
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[(next_tid % #ports) + 1])[1]
  end
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local W1 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
local W2 = {3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}

local function check_digit(s)
  for _, w in ipairs({W1, W2}) do
    local sum = 0
    for i = 1, 11 do sum = sum + (string.byte(s, i) - 48) * w[i] end
    local r = sum % 11
    if r ~= 10 then return r end
  end
  return nil
end

-- n -> a valid IIN: born 19YY-MM-DD (day 1..28), digit 7 = 3/4, serial n % 10000
local function iin(n)
  local k = math.floor(n / 10000)
  local dd = 1 + k % 28; k = math.floor(k / 28)
  local mm = 1 + k % 12; k = math.floor(k / 12)
  local yy = 30 + k % 60
  local head = string.format("%02d%02d%02d", yy, mm, dd)
  local serial = string.format("%04d", n % 10000)
  for _, sex in ipairs({3 + n % 2, 4 - n % 2}) do
    local s = head .. sex .. serial
    local c = check_digit(s)
    if c then return s .. c end
  end
  error("no check digit for " .. n)
end

function init(args)
  path, quota, base, out = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  sent, answered, rng = 0, 0, tid * 7919 + 17
  -- wrk 4.1 calls request() once in thread 0's state to check the script before the run;
  -- that request is never sent, so thread 0 builds one more
  limit = quota + ((tid == 0) and 1 or 0)
  file = io.open(out .. "/answers-" .. tid .. ".txt", "w")
  filler = wrk.format("GET", "/healthz")
end

local function rand(m)
  rng = (rng * 1103515245 + 12345) % 2147483648
  return rng % m
end

function delay()
  if sent >= limit then return 50 end
  return 0
end

function request()
  if sent >= limit then return filler end
  sent = sent + 1
  local n = base + tid * 10000000 + sent
  local a = {}
  for i = 1, 16 do a[i] = rand(11) end
  local body = '{"iin":"' .. iin(n) .. '","answers":[' .. table.concat(a, ",") .. ']}'
  local ip = string.format("10.%d.%d.%d",
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local headers = {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == 200 and string.find(body, '"service"', 1, true) then return end  -- a filler
  answered = answered + 1
  local id = string.match(body, '"id":"([^"]+)"') or "-"
  file:write(status, " ", id, "\n")
  if answered >= quota then
    file:flush()
    file:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local real = 0
  for _, t in ipairs(threads) do real = real + (t:get("answered") or 0) end
  io.write(string.format(
    'WRK {"duration_us": %d, "requests": %d, "answered": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "errors": %d}\n',
    summary.duration, summary.requests, real, latency:percentile(50), latency:percentile(99),
    latency.max, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
"""


@dataclass
class Load:
    answered: int
    ok_ids: list[str]
    statuses: Counter[str]
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_seconds: float = 0.0  # wrk's own (user + system)


async def drop(admin_url: str, name: str) -> None:
    """DROP DATABASE … WITH (FORCE), retried: an autovacuum worker (a superuser process the
    benchmark's role may not terminate) may still be busy with the tables just written."""
    for attempt in range(30):
        try:
            await drop_database(admin_url, name)
            return
        except asyncpg.InsufficientPrivilegeError:
            if attempt == 29:
                raise
            await asyncio.sleep(1.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    say("wrk is absent: apt-get install -y wrk")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env, stdout=sys.stderr)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=sys.stderr
    )
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk could not be installed")
    return found


# --- the service ----------------------------------------------------------------------------


class Service:
    """``replicas`` processes of ``uzdik serve survey`` on one database (one of them relays:
    the relay is single-active), each on its own port."""

    def __init__(
        self,
        database_url: str,
        bootstrap: str,
        prefix: str,
        log: Path,
        replicas: int = 1,
        relay_process: bool = False,
    ) -> None:
        self.ports = [free_port() for _ in range(replicas)]
        self.relay_process = relay_process
        self.base = f"http://127.0.0.1:{self.ports[0]}"
        self.settings = Settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
        self.env = {
            # the caller's UZDIK_* tuning passes (e.g. UZDIK_RELAY_BATCH_SIZE), never a
            # database address of its own
            **{k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")},
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "UZDIK_TOPIC_PREFIX": prefix,
            "UZDIK_HTTP_HOST": "127.0.0.1",
            "UZDIK_LOG_LEVEL": os.environ.get("UZDIK_LOG_LEVEL", "WARNING"),
            "UZDIK_SURVEY_TRUSTED_PROXIES": "127.0.0.1/32",
            "UZDIK_SURVEY_LIMITS": json.dumps(LIMITS),
        }
        self.log = log
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        uzdik = str(ROOT / ".venv" / "bin" / "uzdik")
        wrap = shlex.split(os.environ.get("BENCH_SURVEY_WRAP", ""))  # e.g. a profiler
        serve = [*wrap, uzdik, "serve", "survey", *(["--no-relay"] if self.relay_process else [])]
        commands = [(serve, {"UZDIK_HTTP_PORT": str(port)}) for port in self.ports]
        if self.relay_process:  # the outbox relay on its own (no HTTP, no consumers)
            commands.append(([uzdik, "relay", "survey"], {"UZDIK_HTTP_PORT": str(free_port())}))
        for command, extra in commands:
            with self.log.open("ab") as out:
                self.processes.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env={**self.env, **extra},
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + 60
        waiting = list(zip(self.ports, self.processes[: len(self.ports)], strict=True))
        while waiting and time.monotonic() < deadline:
            port, process = waiting[0]
            if process.poll() is not None:
                raise SystemExit(f"uzdik serve survey exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    waiting.pop(0)
                    continue
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        if waiting:
            raise SystemExit("uzdik serve survey did not become ready")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def open_survey(self) -> str:
        token = issue_dev_token(self.settings, "bench-organiser", ["organiser"])
        now = datetime.now(UTC)
        survey_id = str(uuid.uuid4())
        body = {
            "survey_id": survey_id,
            "edition_id": str(uuid.uuid4()),
            "candidate_id": str(uuid.uuid4()),
            "settlement_kato": "111033000",
            "region_kato": "110000000",
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=1)).isoformat(),
        }
        r = httpx.post(
            f"{self.base}/v1/surveys",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        if r.status_code != 201:
            raise SystemExit(f"opening the survey failed: {r.status_code} {r.text}")
        return survey_id


def listener(port: int) -> int | None:
    """The process listening on ``port`` of this machine (``ss``), or None."""
    out = subprocess.run(
        ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    found = re.search(r"pid=(\d+)", out)
    return int(found[1]) if found else None


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds_of(pid: int) -> float:
    """CPU time (user + system) of one process; 0 when it is gone."""
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / CLOCK if fields else 0.0


def server_cpu_seconds(port: int | None) -> float:
    """CPU time of the server listening on ``port`` and its processes: the server's own, its
    live children's, and its exited children's (a PostgreSQL backend that ended). Only that
    server: other clusters and brokers of the machine (the tests', a CI run's) are not in it."""
    if port is None or (pid := listener(port)) is None:
        return 0.0
    fields = _stat(pid)
    if not fields:
        return 0.0
    total = sum(int(f) for f in fields[11:15]) / CLOCK  # utime, stime, cutime, cstime
    for child in filter(str.isdigit, os.listdir("/proc")):
        found = _stat(int(child))
        if found and int(found[1]) == pid:
            total += (int(found[11]) + int(found[12])) / CLOCK
    return total


def port_of(url: str) -> int | None:
    return urlsplit(url.replace("+asyncpg", "")).port


def cpu_by_role(service: Service, database_url: str, bootstrap: str) -> dict[str, float]:
    return {
        "service": sum(cpu_seconds_of(p.pid) for p in service.processes),
        "postgres": server_cpu_seconds(port_of(database_url)),
        "kafka": server_cpu_seconds(port_of(f"kafka://{bootstrap.split(',')[0]}")),
    }


def batch_metrics(service: Service) -> dict[str, float]:
    """The group commit's counters summed over the replicas (their /metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    total: dict[str, float] = {}
    for port in service.ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in (
                    "uzdik_survey_batch_size_sum",
                    "uzdik_survey_batch_size_count",
                    "uzdik_survey_batch_retries_total",
                ):
                    key = sample.name
                elif sample.name == "uzdik_survey_batch_seconds_sum":
                    key = f"{sample.labels['part']}_sum"  # transaction_sum, write_sum
                else:
                    continue
                total[key] = total.get(key, 0.0) + sample.value
    return total


def drive(
    wrk: str,
    service: Service,
    survey_id: str,
    responses: int,
    connections: int,
    first: int,
    work: Path,
) -> Load:
    """wrk until exactly ``responses`` answers came back (each thread its share)."""
    script = work / "survey.lua"
    script.write_text(LUA, encoding="utf-8")
    out = work / f"answers-{first}"
    out.mkdir()
    quota = responses // THREADS
    args = [
        wrk,
        f"-t{THREADS}",
        f"-c{connections}",
        "-d600s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        service.base,
        "--",
        f"/v1/surveys/{survey_id}/responses",
        str(quota),
        str(first),
        str(out),
    ]
    env = {**os.environ, "SURVEY_BENCH_PORTS": ",".join(map(str, service.ports))}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the services are not reaped
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    files = [out / f"answers-{t}.txt" for t in range(THREADS)]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
        if all(_complete(f, quota) for f in files):
            break
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (reaped.ru_utime - children.ru_utime) + (reaped.ru_stime - children.ru_stime)
    line = next((x for x in stdout.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result: {stdout}\n{stderr}")
    summary = json.loads(line[4:])
    statuses: Counter[str] = Counter()
    ok: list[str] = []
    for f in files:
        for row in f.read_text().splitlines():
            status, _, response_id = row.partition(" ")
            statuses[status] += 1
            if status == "201":
                ok.append(response_id)
    return Load(
        answered=sum(statuses.values()),
        ok_ids=ok,
        statuses=statuses,
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        max_ms=summary["max_us"] / 1000,
        cpu_seconds=wrk_cpu,
    )


def _complete(path: Path, quota: int) -> bool:
    try:
        with path.open("rb") as f:
            return sum(1 for _ in f) >= quota
    except FileNotFoundError:
        return False


# --- what was stored and published ----------------------------------------------------------


async def stored_rows(url: str, survey_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return list(
            await conn.fetch(
                "SELECT * FROM events WHERE stream_id = $1 AND event_type = 'ResponseRecorded' "
                "ORDER BY global_position",
                f"survey-{survey_id}",
            )
        )
    finally:
        await conn.close()


async def published(url: str, timeout: float = 120.0) -> None:
    """Wait until the relay published everything appended."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            head = await conn.fetchval("SELECT coalesce(max(global_position), 0) FROM events")
            mark = await conn.fetchval(
                "SELECT coalesce(max(published_position), 0) FROM relay_state"
            )
            if mark >= head:
                return
            await asyncio.sleep(0.2)
        raise SystemExit(f"the relay did not publish everything within {timeout} s")
    finally:
        await conn.close()


async def topic_responses(bootstrap: str, topic: str, survey_id: str) -> list[dict[str, Any]]:
    """The ResponseRecorded payloads of the survey on the topic, from offset zero to its end."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    stream = f"survey-{survey_id}"
    try:
        for _ in range(100):  # the assignment comes with the first fetch
            if consumer.assignment():
                break
            await consumer.getmany(timeout_ms=100)
        end = await consumer.end_offsets(list(consumer.assignment()))
        await consumer.seek_to_beginning()
        while True:
            positions = {tp: await consumer.position(tp) for tp in end}
            if all(positions[tp] >= end[tp] for tp in end):
                break
            batch = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batch.values():
                for record in records:
                    headers = dict(record.headers)
                    if headers.get("event_type") != b"ResponseRecorded":
                        continue
                    if record.key != stream.encode():
                        continue
                    found.append(json.loads(record.value)["payload"])
    finally:
        await consumer.stop()
    return found


def compare(
    ok_ids: list[str], store: list[dict[str, Any]], topic: list[dict[str, Any]]
) -> tuple[int, int]:
    """(lost, duplicated) of the acknowledged responses against the store and the topic."""
    in_store = Counter(p["response_id"] for p in store)
    on_topic = Counter(p["response_id"] for p in topic)
    acked = Counter(ok_ids)
    lost = sum(1 for rid in acked if in_store[rid] == 0 or on_topic[rid] == 0)
    duplicated = sum(n - 1 for n in acked.values() if n > 1)
    duplicated += sum(n - 1 for n in in_store.values() if n > 1)
    duplicated += sum(n - 1 for n in on_topic.values() if n > 1)
    residents = Counter(p["resident"] for p in store)
    duplicated += sum(n - 1 for n in residents.values() if n > 1)
    return lost, duplicated


# --- where PostgreSQL's backends wait -------------------------------------------------------


class WaitSampler:
    """Samples, every ``every`` seconds from a thread of its own, what the backends of database
    ``name`` are doing (``pg_stat_activity``: waiting for the WAL flush, for a lock, on the CPU,
    or idle waiting for their client), and counts the cluster's WAL flushes
    (``pg_stat_wal.wal_sync``, every database of the cluster) over the same time."""

    QUERY = (
        "SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, "
        "'CPU') ELSE 'idle' END, count(*) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1"
    )

    def __init__(self, url: str, name: str, every: float = 0.01) -> None:
        self.url, self.name, self.every = url, name, every
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.flushes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _run(self) -> None:
        conn = await asyncpg.connect(asyncpg_dsn(self.url))
        try:
            wal = "SELECT wal_sync FROM pg_stat_wal"
            first = int(await conn.fetchval(wal))
            while not self._stop.is_set():
                for state, n in await conn.fetch(self.QUERY, self.name):
                    self.counts[state] += n
                self.samples += 1
                await asyncio.sleep(self.every)
            self.flushes = int(await conn.fetchval(wal)) - first
        finally:
            await conn.close()

    def summary(self, rows: int) -> str:
        per = max(1, self.samples)
        busy = sorted((k for k in self.counts if k != "idle"), key=lambda k: -self.counts[k])
        return (
            f"backends of {self.name} ({num(self.samples)} samples): "
            + ", ".join(f"{k} {self.counts[k] / per:.1f}" for k in [*busy, "idle"])
            + f" on average; WAL flushes of the cluster {num(self.flushes)}"
            + f" ({rows / max(1, self.flushes):.1f} rows per flush)"
        )


# --- the ceiling of the write pattern alone ------------------------------------------------


async def ceiling(admin_url: str, connections: int, rows: int, rounds: int) -> None:
    """What the write pattern alone allows, without HTTP or any Python per response: the
    reference's pattern (one transaction per row, ``connections`` at once) against batches of
    rows written in one transaction under the service's append lock by closed-loop writers
    that send their next batch as soon as the last one is committed: ``connections`` / 2 rows
    by two writers (today's two replicas, each with its half of the clients), and
    ``connections`` rows by one writer (every client in every flush). Rounds interleaved;
    rows/s, ratio to the round's reference, rows per WAL flush and where the backends wait."""
    from shared.migrations import upgrade
    from shared.store.eventstore import make_engine
    from shared.store.rows import lock_key

    name = f"uzdik_bench_ceiling_{os.getpid()}"
    await drop(admin_url, name)
    await create_database(admin_url, name)
    url = with_database(admin_url, name)
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    key = lock_key("uzdik.events.survey")
    answers = json.dumps({f"q{i}": i % 11 for i in range(1, 17)})
    counter = iter(range(1, 1 << 62))

    def row() -> tuple[tuple[Any, ...], str]:
        n = next(counter)
        payload = (
            f'{{"survey_id":"{uuid.uuid4()}","resident":"{uuid.uuid4().hex * 2}",'
            f'"answers":{answers},"response_id":"{uuid.uuid4()}","channel":"online"}}'
        )
        metadata = json.dumps(
            {
                "event_id": str(uuid.uuid4()),
                "correlation_id": str(uuid.uuid4()),
                "causation_id": str(uuid.uuid4()),
                "actor": {"id": "resident", "role": "resident", "region": None},
                "occurred_at": datetime.now(UTC).isoformat(),
                "recorded_at": datetime.now(UTC).isoformat(),
            }
        )
        event = (n, f"s-{n}", 1, "ResponseRecorded", 1, str(uuid.uuid4()), payload, metadata)
        return (*event, "0" * 64, f"{n:064x}"), f"r-{n}"

    columns = "global_position, stream_id, stream_version, event_type, schema_version, "
    columns += "event_id, payload, metadata, prev_hash, hash"
    one = f"INSERT INTO events ({columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    many = (
        f"INSERT INTO events ({columns}) SELECT * FROM unnest($1::bigint[], $2::text[], "
        "$3::int[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], "
        "$10::text[])"
    )
    answered = "INSERT INTO documents (model, key, doc) VALUES ('survey_answered', $1, '{}')"
    answered_many = (
        "INSERT INTO documents (model, key, doc) SELECT 'survey_answered', k, '{}' "
        "FROM unnest($1::text[]) AS k"
    )
    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=connections, max_size=connections)
    assert pool is not None

    async def reference_pattern() -> None:
        left = [rows]

        async def writer() -> None:
            async with pool.acquire() as conn:
                while left[0] > 0:
                    left[0] -= 1
                    event, doc = row()
                    async with conn.transaction():
                        await conn.execute(one, *event)
                        await conn.execute(answered, doc)

        await asyncio.gather(*(writer() for _ in range(connections)))

    async def batches(writers: int) -> None:
        size, left = connections // writers, [rows]

        async def writer() -> None:
            async with pool.acquire() as conn:
                while left[0] > 0:
                    left[0] -= size
                    made = [row() for _ in range(size)]
                    async with conn.transaction():
                        await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
                        events = zip(*(e for e, _ in made), strict=True)
                        await conn.execute(many, *(list(column) for column in events))
                        await conn.execute(answered_many, [d for _, d in made])

        await asyncio.gather(*(writer() for _ in range(writers)))

    patterns: dict[str, Callable[[], Awaitable[None]]] = {
        f"reference: 1 row per transaction, {connections} connections": reference_pattern,
        f"2 writers x {connections // 2} rows per transaction, append lock": lambda: batches(2),
        f"1 writer x {connections} rows per transaction, append lock": lambda: batches(1),
    }
    try:
        for round_ in range(1, rounds + 1):
            base = 0.0
            for label, pattern in patterns.items():
                started = time.perf_counter()
                with WaitSampler(admin_url, name) as waits:
                    await pattern()
                rate = rows / (time.perf_counter() - started)
                base = base or rate
                say(
                    f"ceiling round {round_}: {label}: {num(rate)} rows/s, ratio "
                    f"{rate / base:.2f} (load {os.getloadavg()[0]:.1f}); {waits.summary(rows)}"
                )
    finally:
        await pool.close()
        await drop(admin_url, name)


# --- the reference --------------------------------------------------------------------------


async def reference(
    admin_url: str, rows: list[asyncpg.Record], connections: int
) -> tuple[float, float]:
    """The same event rows and their ``survey_answered`` rows, one transaction per response,
    ``connections`` at once, into a fresh database with the service's tables: rows/s, and the
    CPU seconds the client and PostgreSQL spent per row."""
    from shared.migrations import upgrade
    from shared.store.eventstore import make_engine

    name = f"uzdik_bench_ref_{os.getpid()}"
    await drop(admin_url, name)
    await create_database(admin_url, name)
    url = with_database(admin_url, name)
    try:
        engine = make_engine(url)
        await upgrade(engine)  # the very tables and indexes of a service database
        await engine.dispose()
        columns = [
            "global_position",
            "stream_id",
            "stream_version",
            "event_type",
            "schema_version",
            "event_id",
            "payload",
            "metadata",
            "prev_hash",
            "hash",
        ]
        insert_event = (
            f"INSERT INTO events ({', '.join(columns)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(columns) + 1))})"
        )
        insert_answered = (
            "INSERT INTO documents (model, key, doc) VALUES ('survey_answered', $1, '{}')"
        )
        work = [
            (
                tuple(row[c] for c in columns),
                f"{json.loads(row['payload'])['survey_id']}:{json.loads(row['payload'])['resident']}",
            )
            for row in rows
        ]
        pool = await asyncpg.create_pool(
            asyncpg_dsn(url),
            min_size=connections,
            max_size=connections,
        )
        assert pool is not None
        queue: asyncio.Queue[tuple[tuple[Any, ...], str]] = asyncio.Queue()
        for item in work:
            queue.put_nowait(item)

        async def writer() -> None:
            async with pool.acquire() as conn:
                while True:
                    try:
                        event, answered = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    async with conn.transaction():
                        await conn.execute(insert_event, *event)
                        await conn.execute(insert_answered, answered)

        cpu = server_cpu_seconds(port_of(admin_url)), time.process_time()
        started = time.perf_counter()
        with WaitSampler(admin_url, name) as waits:
            await asyncio.gather(*(writer() for _ in range(connections)))
        seconds = time.perf_counter() - started
        say("reference: " + waits.summary(len(work)))
        server = server_cpu_seconds(port_of(admin_url)) - cpu[0]
        client = time.process_time() - cpu[1]
        say(
            f"reference CPU per row: client {client * 1e6 / len(work):.0f} µs, postgres"
            f" {server * 1e6 / len(work):.0f} µs ({(client + server) / seconds:.2f} cores)"
        )
        await pool.close()
        return len(work) / seconds, (client + server) / len(work)
    finally:
        await drop(admin_url, name)


async def settings_of(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "server_version")
        }
    finally:
        await conn.close()


# --- the run --------------------------------------------------------------------------------


async def run(
    services: Services,
    responses: int,
    connections: int,
    replicas: int,
    keep: bool,
    write: bool = True,
    relay_process: bool = False,
) -> str:
    wrk = ensure_wrk()
    admin = services.database_url
    name = f"uzdik_bench_survey_{os.getpid()}"
    await drop(admin, name)
    await create_database(admin, name)
    url = with_database(admin, name)
    pg = await settings_of(url)
    say(
        f"PostgreSQL {pg['server_version']}: fsync={pg['fsync']}, commit={pg['synchronous_commit']}"
    )
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="uzdik-bench-survey-"))
    service = Service(
        url, services.bootstrap, prefix, work / "service.log", replicas, relay_process
    )
    try:
        ports = ", ".join(map(str, service.ports))
        relaying = " + uzdik relay survey" if relay_process else ""
        say(
            f"uzdik serve survey × {replicas} on {ports}{relaying}"
            f" (database {name}, topics {prefix}.*)"
        )
        service.start()
        warm = service.open_survey()
        say(f"warm-up: {num(WARMUP)} responses")
        drive(wrk, service, warm, WARMUP, connections, 90_000_000, work)
        survey_id = service.open_survey()
        load_average = os.getloadavg()[0]
        say(
            f"load: {num(responses)} responses, {connections} connections, {THREADS} wrk threads"
            f" (load average {load_average:.1f})"
        )
        roles = (service, admin, services.bootstrap)
        before, batches_before = cpu_by_role(*roles), batch_metrics(service)
        with WaitSampler(admin, name) as waits:
            load = drive(wrk, service, survey_id, responses, connections, 0, work)
        after, batches_after = cpu_by_role(*roles), batch_metrics(service)
        rate = len(load.ok_ids) / load.seconds
        say(
            f"load: {num(len(load.ok_ids))} × 201 in {load.seconds:.2f} s = {num(rate)}/s; "
            f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, max {load.max_ms:.1f} ms; "
            f"statuses {dict(load.statuses)}"
        )
        per = {k: (after[k] - before[k]) * 1e6 / max(1, load.answered) for k in after}
        wrk_us = load.cpu_seconds * 1e6 / max(1, load.answered)
        say(
            "CPU per response during the load: "
            + ", ".join(f"{k} {v:.0f} µs" for k, v in per.items())
            + f" ({(sum(after.values()) - sum(before.values())) / load.seconds:.2f} cores)"
            + f"; load generator (wrk) {wrk_us:.0f} µs"
        )
        say("load: " + waits.summary(len(load.ok_ids)))
        batches = {k: batches_after[k] - batches_before.get(k, 0.0) for k in batches_after}
        if count := batches.get("uzdik_survey_batch_size_count"):
            say(
                f"group commit: {num(count)} transactions, "
                f"{batches['uzdik_survey_batch_size_sum'] / count:.1f} responses each, "
                f"{batches['transaction_sum'] * 1000 / count:.1f} ms each, of which "
                f"{batches['write_sum'] * 1000 / count:.1f} ms in the write (the one statement "
                "that takes the append lock, from sending it to its answer); "
                f"{num(batches.get('uzdik_survey_batch_retries_total', 0))} tried again "
                "(read gone stale)"
            )
        await published(url)
        rows = await stored_rows(url, survey_id)
        store = [json.loads(r["payload"]) for r in rows]
        topic = await topic_responses(services.bootstrap, topic_for("survey", prefix), survey_id)
        lost, duplicated = compare(load.ok_ids, store, topic)
        say(f"store: {num(len(store))} responses; topic: {num(len(topic))}")
        say(f"lost {lost}, duplicated {duplicated}")
    finally:
        service.stop()
    say(f"reference: the same {num(len(rows))} rows, one transaction each, {connections} at once")
    ref, ref_cpu = await reference(admin, rows, connections)
    say(f"reference: {num(ref)} rows/s")
    say(bound(per, wrk_us, ref, ref_cpu))
    if not keep:
        await drop(admin, name)
        await delete_topics(services.bootstrap, prefix)
        shutil.rmtree(work, ignore_errors=True)
    ratio = rate / ref if ref else 0.0
    row = [
        datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        f"fsync={pg['fsync']}, synchronous_commit={pg['synchronous_commit']}",
        str(replicas),
        num(len(load.ok_ids)),
        str(connections),
        num(rate),
        f"{load.p50_ms:.1f}",
        f"{load.p99_ms:.1f}",
        num(ref),
        f"{ratio:.2f}",
        str(lost),
        str(duplicated),
        f"{load_average:.1f}",
        machine(),
    ]
    if write:
        record(row)
    return (
        f"survey_ingest responses_per_s={rate:.0f} p99_ms={load.p99_ms:.1f} "
        f"reference_rows_per_s={ref:.0f} ratio={ratio:.2f} lost={lost} duplicated={duplicated}"
    )


def bound(per: dict[str, float], wrk_us: float, ref: float, ref_cpu: float) -> str:
    """What this machine allows the service at most, whatever its Python: the CPU PostgreSQL,
    the broker and wrk spent per response in this run, on every core of the machine, against
    the reference measured here (both sides share the same cores; both are CPU-bound)."""
    cores = os.cpu_count() or 1
    floor_us = sum(v for k, v in per.items() if k != "service") + wrk_us
    most = cores * 1e6 / floor_us if floor_us else 0.0
    left_us = cores * 1e6 / (2.0 * ref) - floor_us if ref else 0.0
    return (
        f"bound: PostgreSQL, Kafka and wrk alone spent {floor_us:.0f} µs per response; on"
        f" {cores} cores that allows at most {num(most)} responses/s with no service at all ="
        f" ratio ≤ {most / ref if ref else 0.0:.2f} (the reference spent {ref_cpu * 1e6:.0f} µs"
        f" per row); a ratio of 2.0 would leave the service {left_us:.0f} µs per response"
        f" (it spent {per.get('service', 0.0):.0f})"
    )


HEADER = (
    "| date (UTC) | PostgreSQL | replicas | responses | connections | responses/s | p50 ms "
    "| p99 ms | reference rows/s | ratio | lost | duplicated | load | machine |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def record(row: list[str]) -> None:
    """Append the run to the table of bench/README.md's "Survey" section (created if absent)."""
    text = README.read_text(encoding="utf-8") if README.exists() else "# Benchmarks\n"
    if f"<!-- {MARKER} -->" not in text:
        text = (
            text.rstrip("\n")
            + f"\n\n## Survey\n\nRuns of `make bench-survey`:\n\n<!-- {MARKER} -->\n{HEADER}\n"
        )
        README.write_text(text, encoding="utf-8")
    append_row(README, MARKER, row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--responses",
        type=int,
        default=int(os.environ.get("BENCH_SURVEY_RESPONSES", DEFAULT_RESPONSES)),
    )
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS)
    parser.add_argument(
        "--replicas",
        type=int,
        default=int(os.environ.get("BENCH_SURVEY_REPLICAS", "2")),
        help="processes of the service (wrk's threads are spread over them)",
    )
    parser.add_argument(
        "--relay-process",
        action=argparse.BooleanOptionalAction,
        default=os.environ.get("BENCH_SURVEY_RELAY_PROCESS", "0") == "1",
        help="run the outbox relay as a process of its own (uzdik relay survey)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database, the topics and the files")
    parser.add_argument(
        "--ceiling",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only measure what the write pattern alone allows (no HTTP), ROUNDS times",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="do not add the run to bench/README.md"
    )
    args = parser.parse_args()
    responses = args.responses - args.responses % THREADS
    services = ensure_services()  # prints the server's settings; refuses a non-durable one
    if args.ceiling:
        asyncio.run(ceiling(services.database_url, args.connections, 20_000, args.ceiling))
        return
    line = asyncio.run(
        run(
            services,
            responses,
            args.connections,
            args.replicas,
            args.keep,
            not args.no_record,
            args.relay_process,
        )
    )
    print(line, flush=True)


if __name__ == "__main__":
    main()
