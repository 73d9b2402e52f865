"""``make bench-latency``: how long a member's score takes to reach the rating, over Kafka.

One run:

1. PostgreSQL and Kafka from ``BENCH_DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS``, else the
   benchmarks' durable local cluster and the local broker (:func:`bench.common.ensure_services`);
   a database per service and a topic prefix of the run's own.
2. An edition rehearsed to admission in one region with the demo's scenario, nominations and
   scoring in this process on those databases and topics (``tests/e2e/portal/stack.py``).
3. ``uzdik serve scoring``, ``uzdik serve reporting`` and ``uzdik serve survey`` as processes;
   the region's commission opens a stage-I sitting and records a quorate attendance over HTTP.
4. Sheets at a steady pace (one every ``--interval`` seconds, ``--sheets`` a phase, each phase
   at a fresh quorate sitting of its own so that its protocol grows from nothing): each present
   member's sheet for each candidate (``POST /v1/sittings/{id}/sheets``), then corrections of
   the live sheets (``POST /v1/sheets/{id}/corrections``, a new sheet each). Each is timed
   from its 201 to the commit of reporting's transaction that folds it into the read models: a
   trigger on reporting's ``audit_trail`` (written in the same transaction as the sitting's
   protocol document) sends ``NOTIFY`` with the request's correlation id, for scoring's sheet
   events only, and this process LISTENs. No polling: the measurement adds no wait of its own.
5. Two phases: idle, then with residents answering a survey in the background (``wrk`` paced
   to ``--background`` responses/s over 32 connections; what it sustained is printed).
6. All of it twice, with the processes restarted in between: the reference, the consumers as
   they were (``UZDIK_KAFKA_CONSUMER=faststream``: FastStream's batch subscriber, a 50 ms poll
   then a 50 ms sleep when empty, every topic in one batch), then the path as it is
   (``--now-first``: the other way round). Before each, the CPU of each idle process over
   ``--idle-seconds``; after, where the time went: the record's timestamp on scoring's topic
   (the relay's send) splits 201 → send and send → reporting's commit.

Last line: ``score_to_rating events=<n> p50_ms=<n> p99_ms=<n> background_rps=<n>``, the loaded
phase of the path as it is; the line before it, the idle phase's (``background_rps=0``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import (
    Services,
    asyncpg_dsn,
    create_database,
    delete_topics,
    drop_database,
    ensure_services,
    say,
)
from demo.scoring.api import open_quorate_sitting
from shared.auth import issue_dev_token
from shared.logging import configure_logging
from shared.migrations import upgrade
from shared.relay import topic_for
from shared.settings import Settings
from shared.store.eventstore import make_engine
from tests.e2e.portal.stack import Rehearsed, clients, dev_bearer, rehearse, serving
from tests.e2e.test_processes import Deployment, process_env

REGION = "620000000"  # 5 districts: 5 candidates
SERVICES = ("scoring", "reporting", "survey")
DATABASES = ("nominations", *SERVICES)
CHANNEL = "bench_latency"
CONNECTIONS = 32  # wrk's, for the background survey
LIMITS = {"per_survey": {"capacity": 100_000_000, "refill_per_minute": 600_000_000}}

TRIGGER = f"""
CREATE OR REPLACE FUNCTION bench_latency_notify() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('{CHANNEL}', NEW.correlation_id);
  RETURN NULL;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER bench_latency AFTER INSERT ON audit_trail FOR EACH ROW
  WHEN (NEW.service = 'scoring' AND NEW.event_type IN ('ScoreRecorded', 'ScoreCorrected'))
  EXECUTE FUNCTION bench_latency_notify();
"""

LUA = r"""
-- bench/latency.py: residents answering a survey at a steady pace in the background
local W1 = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
local W2 = {3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
local threads, next_tid = {}, 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

local function iin(n)
  local k = math.floor(n / 10000)
  local dd = 1 + k % 28; k = math.floor(k / 28)
  local mm = 1 + k % 12; k = math.floor(k / 12)
  local head = string.format("%02d%02d%02d", 30 + k % 60, mm, dd)
  local serial = string.format("%04d", n % 10000)
  for _, sex in ipairs({3 + n % 2, 4 - n % 2}) do
    local s = head .. sex .. serial
    for _, w in ipairs({W1, W2}) do
      local sum = 0
      for i = 1, 11 do sum = sum + (string.byte(s, i) - 48) * w[i] end
      if sum % 11 ~= 10 then return s .. (sum % 11) end
    end
  end
  error("no check digit for " .. n)
end

function init(args)
  path, pause, base = args[1], tonumber(args[2]), tonumber(args[3])
  sent, created, rng = 0, 0, tid * 7919 + 17
end

function delay() return pause end

function request()
  sent = sent + 1
  local n = base + tid * 10000000 + sent
  local a = {}
  for i = 1, 16 do
    rng = (rng * 1103515245 + 12345) % 2147483648
    a[i] = rng % 11
  end
  local body = '{"iin":"' .. iin(n) .. '","answers":[' .. table.concat(a, ",") .. ']}'
  local ip = string.format("10.%d.%d.%d",
    math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", path,
    {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("created") or 0) end
  io.write(string.format('WRK {"duration_us": %d, "created": %d, "requests": %d}\n',
    summary.duration, total, summary.requests))
end
"""


@dataclass
class Phase:
    name: str
    samples: list[Sample]
    background_rps: float = 0.0
    load: float = 0.0
    where: str = ""

    @property
    def delays_ms(self) -> list[float]:
        return [s.ms for s in self.samples]

    def split(self, sent: dict[str, float]) -> str:
        """Where the time went: 201 → the relay's send (the record's timestamp, ms), and the
        send → reporting's commit."""
        relay = [max(0.0, sent[s.correlation_id] - s.answered) * 1000 for s in self.samples]
        rest = [max(0.0, s.arrived - sent[s.correlation_id]) * 1000 for s in self.samples]
        return (
            f"201 → relay's send p50 {quantile(relay, 0.5):.1f} / p99 {quantile(relay, 0.99):.1f}"
            f" ms; send → reporting's commit p50 {quantile(rest, 0.5):.1f} / "
            f"p99 {quantile(rest, 0.99):.1f} ms"
        )

    @property
    def p50(self) -> float:
        return statistics.median(self.delays_ms)

    @property
    def p99(self) -> float:
        return quantile(self.delays_ms, 0.99)

    def line(self) -> str:
        return (
            f"score_to_rating events={len(self.delays_ms)} p50_ms={self.p50:.1f} "
            f"p99_ms={self.p99:.1f} background_rps={self.background_rps:.0f}"
        )


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Arrivals:
    """When reporting committed each sheet, by the correlation id of its request (NOTIFY)."""

    seen: dict[str, float] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[float]] = field(default_factory=dict)

    def heard(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        now = time.time()  # wall clock: compared with Kafka's record timestamps too
        self.seen.setdefault(payload, now)
        future = self.waiting.pop(payload, None)
        if future is not None and not future.done():
            future.set_result(now)

    async def of(self, correlation_id: str, timeout: float = 60.0) -> float:
        if correlation_id in self.seen:
            return self.seen[correlation_id]
        future = self.waiting.setdefault(correlation_id, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(future, timeout)


class Sheets:
    """Members' sheets one after another: each (member, candidate) once, then corrections of
    the live sheets, round and round."""

    def __init__(self, up: Rehearsed, sitting: str, present: list[str], criteria: list[Any]):
        self.up, self.sitting, self.rng = up, sitting, random.Random(21)
        self.criteria = criteria
        self.pairs = [(m, c["candidate_id"]) for c in up.candidates for m in present]
        self.live: dict[tuple[str, str], str] = {}
        self.count = 0

    def scores(self) -> dict[str, int]:
        return {c["key"]: self.rng.randint(1, min(5, c.get("max") or 5)) for c in self.criteria}

    def next(self) -> tuple[str, dict[str, Any], dict[str, str]]:
        member, candidate = pair = self.pairs[self.count % len(self.pairs)]
        self.count += 1
        sheet_id = str(uuid.uuid4())
        headers = self.up.board.as_member(dev_bearer, member)
        live = self.live.get(pair)
        self.live[pair] = sheet_id
        if live is None:
            body = {"candidate_id": candidate, "kind": "project", "scores": self.scores()}
            return f"/v1/sittings/{self.sitting}/sheets", {**body, "sheet_id": sheet_id}, headers
        body = {
            "sitting_id": self.sitting,
            "scores": self.scores(),
            "reason": "Пересмотр оценки после обсуждения на заседании",
            "sheet_id": sheet_id,
        }
        return f"/v1/sheets/{live}/corrections", body, headers


@dataclass(frozen=True)
class Sample:
    correlation_id: str
    answered: float  # the 201, wall clock
    arrived: float  # reporting's commit, as this process heard it

    @property
    def ms(self) -> float:
        return max(0.0, self.arrived - self.answered) * 1000


async def timed_sheets(
    scoring: httpx.AsyncClient, sheets: Sheets, arrivals: Arrivals, n: int, interval: float
) -> list[Sample]:
    """``n`` sheets ``interval`` seconds apart (±20 %); each one's 201 and arrival."""
    waits: list[asyncio.Task[Sample]] = []
    rng = random.Random(n)

    async def delay(correlation_id: str, answered: float) -> Sample:
        return Sample(correlation_id, answered, await arrivals.of(correlation_id))

    for _ in range(n):
        await asyncio.sleep(interval * rng.uniform(0.8, 1.2))
        path, body, headers = sheets.next()
        correlation_id = str(uuid.uuid4())
        r = await scoring.post(
            path, json=body, headers={**headers, "X-Correlation-Id": correlation_id}
        )
        answered = time.time()
        if r.status_code != 201:
            raise SystemExit(f"the sheet was refused: {r.status_code} {r.text}")
        waits.append(asyncio.create_task(delay(correlation_id, answered)))
    return list(await asyncio.gather(*waits))


# --- the services ---------------------------------------------------------------------------


def database_url(admin: str, stem: str) -> str:
    return f"{admin.rpartition('/')[0]}/{stem}_{{service}}"


async def prepare_reporting(url: str) -> None:
    """Reporting's tables (its process then finds them at head) and the NOTIFY trigger."""
    engine = make_engine(url)
    await upgrade(engine)
    await engine.dispose()
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute(TRIGGER)
    finally:
        await conn.close()


async def caught_up(urls: dict[str, str], timeout: float = 600.0) -> None:
    """Until reporting applied every event scoring and survey stored (counted: partitions are
    applied side by side, so the highest position applied says nothing of the others)."""
    conns = {name: await asyncpg.connect(asyncpg_dsn(url)) for name, url in urls.items()}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            behind = 0
            for name in ("scoring", "survey"):
                stored = await conns[name].fetchval("SELECT count(*) FROM events")
                seen = await conns["reporting"].fetchval(
                    "SELECT count(*) FROM audit_trail WHERE service = $1", name
                )
                behind += stored - seen
            if behind <= 0:
                return
            await asyncio.sleep(0.5)
        raise SystemExit(f"reporting did not catch up within {timeout:.0f} s")
    finally:
        for conn in conns.values():
            await conn.close()


def cpu_seconds_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle_cpu(deployment: Deployment, seconds: float) -> dict[str, float]:
    """Each process's CPU over ``seconds`` with nothing to do, in % of a core."""
    pids = {name: p.popen.pid for name, p in deployment.processes.items()}
    before = {name: cpu_seconds_of(pid) for name, pid in pids.items()}
    await asyncio.sleep(seconds)
    return {
        name: 100 * (cpu_seconds_of(pid) - before[name]) / seconds for name, pid in pids.items()
    }


async def open_survey(survey: httpx.AsyncClient) -> str:
    token = issue_dev_token(Settings(), "bench-organiser", ["organiser"])
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
    r = await survey.post("/v1/surveys", json=body, headers={"Authorization": f"Bearer {token}"})
    if r.status_code != 201:
        raise SystemExit(f"opening the survey failed: {r.status_code} {r.text}")
    return survey_id


class Background:
    """wrk answering a survey, paced: each connection waits ``pause`` ms between answers."""

    def __init__(self, base: str, survey_id: str, work: Path, first: int) -> None:
        self.base, self.survey_id, self.work, self.first = base, survey_id, work, first
        self.script = work / "latency.lua"
        self.script.write_text(LUA, encoding="utf-8")
        self.process: subprocess.Popen[str] | None = None

    def start(self, pause_ms: int, seconds: int = 3600) -> None:
        wrk = shutil.which("wrk")
        if wrk is None:
            raise SystemExit("wrk is not installed (apt-get install wrk): it drives the survey")
        self.first += 1_000_000
        self.process = subprocess.Popen(
            [
                wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
                "-s", str(self.script), self.base, "--",
                f"/v1/surveys/{self.survey_id}/responses", str(pause_ms), str(self.first),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def stop(self) -> float:
        """Stop wrk; the answers per second it got (201s over its duration)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=60)
        line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
        if line is None:
            raise SystemExit(f"wrk printed no result: {out}\n{err}")
        summary = json.loads(line[4:])
        return float(summary["created"]) / float(summary["duration_us"] / 1e6)

    async def paced(self, rate: float) -> int:
        """The pause per connection that gives about ``rate`` answers/s, from a short trial."""
        pause = max(0, int(1000 * CONNECTIONS / rate))
        for _ in range(2):
            self.start(pause)
            await asyncio.sleep(5)
            got = self.stop()
            say(f"background: pause {pause} ms per connection → {got:,.0f} responses/s")
            if got <= 0:
                break
            per_request = 1000 * CONNECTIONS / got - pause  # the answer's own time, ms
            pause = max(0, int(1000 * CONNECTIONS / rate - per_request))
        return pause


# --- the run --------------------------------------------------------------------------------


@dataclass
class Options:
    sheets: int
    interval: float
    background: float
    idle_seconds: float
    seed: int
    now_first: bool = False


async def measure(
    label: str,
    env: dict[str, str],
    up: Rehearsed,
    urls: dict[str, str],
    opts: Options,
    work: Path,
    kept: list[Sheets],
) -> tuple[Phase, Phase, dict[str, float]]:
    """Start the processes with ``env``; idle CPU, the idle phase, the loaded phase. The
    sitting is opened by the first call and its sheets go on in the next (``kept``)."""
    arrivals = Arrivals()
    listener = await asyncpg.connect(asyncpg_dsn(urls["reporting"]))
    await listener.add_listener(CHANNEL, arrivals.heard)
    try:
        async with serving(env, work / label, services=SERVICES) as deployment:
            async with clients(deployment) as api:
                scoring = api["scoring"]

                async def sitting() -> Sheets:
                    """A fresh quorate sitting (the same members present each time): every
                    phase's protocol grows from nothing, whichever configuration runs first."""
                    found, present = await open_quorate_sitting(
                        scoring, dev_bearer, random.Random(opts.seed), up.board, "stage1_selection"
                    )
                    if not kept:
                        kept.append(Sheets(up, found, present, await criteria(scoring, up)))
                    kept[0].sitting = found
                    return kept[0]

                await timed_sheets(scoring, await sitting(), arrivals, 5, 0.2)  # warm-up
                await caught_up(urls)
                cpu = await idle_cpu(deployment, opts.idle_seconds)
                say(f"{label}: idle CPU over {opts.idle_seconds:.0f} s: " + ", ".join(
                    f"{name} {pct:.2f} %" for name, pct in cpu.items()))  # fmt: skip
                idle = await phase(f"{label} idle", scoring, await sitting(), arrivals, opts, None)
                survey_id = await open_survey(api["survey"])
                background = Background(deployment["survey"].base, survey_id, work, opts.seed)
                pause = await background.paced(opts.background)
                sheets = await sitting()
                loaded = await phase(
                    f"{label} loaded", scoring, sheets, arrivals, opts, (background, pause)
                )
                await caught_up(urls)
        sent = await sent_times(env["KAFKA_BOOTSTRAP_SERVERS"], env["UZDIK_TOPIC_PREFIX"])
        for result in (idle, loaded):
            result.where = result.split(sent)
            say(f"{result.name}: {result.where}")
    finally:
        await listener.close()
    return idle, loaded, cpu


async def sent_times(bootstrap: str, prefix: str) -> dict[str, float]:
    """When scoring's relay sent each record (its timestamp), by the command's correlation id."""
    from aiokafka import AIOKafkaConsumer

    kafka = AIOKafkaConsumer(
        topic_for("scoring", prefix),
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await kafka.start()
    sent: dict[str, float] = {}
    try:
        for _ in range(100):  # the assignment comes with the first fetch
            if kafka.assignment():
                break
            await kafka.getmany(timeout_ms=100)
        partitions = list(kafka.assignment())
        end = await kafka.end_offsets(partitions)
        await kafka.seek_to_beginning(*partitions)
        while [tp for tp in partitions if await kafka.position(tp) < end[tp]]:
            for records in (await kafka.getmany(timeout_ms=500)).values():
                for r in records:
                    cid = json.loads(r.value)["metadata"].get("correlation_id")
                    sent[cid] = r.timestamp / 1000
    finally:
        await kafka.stop()
    return sent


async def criteria(scoring: httpx.AsyncClient, up: Rehearsed) -> list[Any]:
    path = f"/v1/commissions/{up.board.commission_id}/rubrics"
    r = await scoring.get(path, headers=up.board.as_secretary(dev_bearer))
    if r.status_code != 200:
        raise SystemExit(f"the rubrics: {r.status_code} {r.text}")
    project = next(s for s in r.json()["sheets"] if s["kind"] == "project")
    return [c for c in project["criteria"] if not c["derived"]]


async def phase(
    name: str,
    scoring: httpx.AsyncClient,
    sheets: Sheets,
    arrivals: Arrivals,
    opts: Options,
    background: tuple[Background, int] | None,
) -> Phase:
    load = os.getloadavg()[0]
    say(f"{name}: {opts.sheets} sheets, one every {opts.interval * 1000:.0f} ms (load {load:.1f})")
    if background is not None:
        background[0].start(background[1])
        await asyncio.sleep(3)  # the load settles
    try:
        delays = await timed_sheets(scoring, sheets, arrivals, opts.sheets, opts.interval)
    finally:
        rps = background[0].stop() if background is not None else 0.0
    result = Phase(name, delays, rps, load)
    say(f"{name}: {result.line()} (load {os.getloadavg()[0]:.1f} at the end)")
    return result


async def run(opts: Options, services: Services) -> list[str]:
    admin = services.database_url
    stem = f"uzdik_lat_{uuid.uuid4().hex[:8]}"
    prefix = f"benchlat{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="uzdik-bench-latency-"))
    url = database_url(admin, stem)
    urls = {name: url.replace("{service}", name) for name in DATABASES}
    for name in DATABASES:
        await create_database(admin, f"{stem}_{name}")
    env = process_env(url, services.bootstrap, prefix, work / "data")
    env.update(
        UZDIK_LOG_LEVEL="WARNING",
        UZDIK_SURVEY_TRUSTED_PROXIES="127.0.0.1/32",
        UZDIK_SURVEY_LIMITS=json.dumps(LIMITS),
    )
    try:
        say(f"rehearsal: an edition to admission in region {REGION} (databases {stem}_*)")
        up = await rehearse(env, REGION, seed=opts.seed)
        await prepare_reporting(urls["reporting"])
        kept: list[Sheets] = []
        results = {}
        for label in ("now", "reference") if opts.now_first else ("reference", "now"):
            consumer = "faststream" if label == "reference" else "feed"
            with_consumer = {**env, "UZDIK_KAFKA_CONSUMER": consumer}
            results[label] = await measure(label, with_consumer, up, urls, opts, work, kept)
        ref, now = results["reference"], results["now"]
    finally:
        for name in DATABASES:
            await drop_database(admin, f"{stem}_{name}")
        await delete_topics(services.bootstrap, prefix)
        shutil.rmtree(work, ignore_errors=True)
    lines = []
    for (label, a), b in zip((("idle", ref[0]), ("loaded", ref[1])), (now[0], now[1]), strict=True):
        lines.append(
            f"{label}: p50 {b.p50:.1f} ms, p99 {b.p99:.1f} ms (reference {a.p50:.1f} / "
            f"{a.p99:.1f} ms); background {b.background_rps:,.0f}/s (reference "
            f"{a.background_rps:,.0f}/s); load {b.load:.1f} (reference {a.load:.1f})"
        )
    for result in (ref[0], ref[1], now[0], now[1]):
        lines.append(f"{result.name}: {result.where}")
    for name in ref[2]:
        lines.append(
            f"idle CPU {name}: {now[2][name]:.2f} % of a core (reference {ref[2][name]:.2f} %)"
        )
    lines += [
        f"reference {ref[0].line()} (idle)",
        f"reference {ref[1].line()}",
        now[0].line(),
        now[1].line(),
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sheets", type=int, default=200, help="sheets per phase")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between sheets")
    parser.add_argument("--background", type=float, default=1000.0, help="survey answers/s")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="idle CPU measured")
    parser.add_argument("--seed", type=int, default=62)
    parser.add_argument("--now-first", action="store_true", help="measure the reference last")
    args = parser.parse_args()
    opts = Options(
        args.sheets, args.interval, args.background, args.idle_seconds, args.seed, args.now_first
    )
    configure_logging(json=False, level="WARNING")  # the rehearsal's services in this process
    services = ensure_services()  # before the event loop: it runs one of its own
    for line in asyncio.run(run(opts, services)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
