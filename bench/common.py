"""Shared helpers of the benchmarks: the services, a fresh database, timing, progress, results.

Services: ``BENCH_DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS``, when set, win; otherwise the
benchmarks' own durable PostgreSQL cluster of ``deploy/local`` (port 55433, fsync and
synchronous_commit on) and the local broker are started (a no-op when they already run). A
server with fsync or synchronous_commit off is refused.
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "bench" / "README.md"
# Child processes inherit the start time, so every line is stamped on the same clock.
_STARTED = float(os.environ.setdefault("UZDIK_BENCH_STARTED", str(time.time())))


def say(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the benchmark started."""
    print(f"[{time.time() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def num(value: float) -> str:
    return f"{value:,.0f}"


def per_second(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


# --- the services -------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    database_url: str
    bootstrap: str


def _local(script: str, extra_env: dict[str, str]) -> str:
    """Start one deploy/local service and return the value of the KEY=value line it prints."""
    path = ROOT / "deploy" / "local" / script
    env = {**os.environ, **extra_env}
    subprocess.run([str(path), "start"], check=True, env=env, stdout=sys.stderr)
    line = subprocess.run([str(path), "env"], check=True, env=env, capture_output=True, text=True)
    return line.stdout.strip().split("=", 1)[1]


# The benchmarks' own PostgreSQL cluster: durable (fsync and synchronous_commit on), on its own
# port, so that the tests' fast cluster (``UZDIK_PG_FAST=1`` on 55432) is never measured and
# never reloaded by a benchmark.
BENCH_PGPORT = os.environ.get("UZDIK_BENCH_PGPORT", "55433")


def ensure_services() -> Services:
    """Addresses from ``BENCH_DATABASE_URL`` / ``KAFKA_BOOTSTRAP_SERVERS`` when set, else the
    benchmarks' own durable local cluster (started when needed) and the local broker.

    The tests' ``DATABASE_URL`` is deliberately not used: it points at a cluster tuned for
    speed with fsync off. Whatever the server, :func:`require_durable` refuses one where fsync
    or synchronous_commit is off."""
    database_url = os.environ.get("BENCH_DATABASE_URL") or _local(
        "postgres.sh", {"UZDIK_PG_FAST": "0", "PGPORT": BENCH_PGPORT}
    )
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or _local("kafka.sh", {})
    asyncio.run(require_durable(database_url))
    return Services(database_url, bootstrap)


async def server_settings(database_url: str) -> dict[str, str]:
    """The server's durability settings and version, for the benchmark's log."""
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return {
            name: str(await conn.fetchval(f"SHOW {name}"))
            for name in ("fsync", "synchronous_commit", "full_page_writes", "server_version")
        }
    finally:
        await conn.close()


async def require_durable(database_url: str) -> dict[str, str]:
    """Print the server's settings; refuse (exit 2) a server where fsync or commit is off."""
    settings = await server_settings(database_url)
    say("PostgreSQL " + ", ".join(f"{name}={value}" for name, value in settings.items()))
    if settings["fsync"] != "on" or settings["synchronous_commit"] != "on":
        say(
            "Refusing to measure: this PostgreSQL runs with fsync or synchronous_commit off, "
            "so its figures would not hold in production. Unset BENCH_DATABASE_URL to use the "
            f"benchmarks' own durable cluster (port {BENCH_PGPORT}), or turn them on."
        )
        raise SystemExit(2)
    return settings


# --- a fresh PostgreSQL database ------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """``url`` (an SQLAlchemy URL, maybe ``{service}``-templated) pointing at database ``name``."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def asyncpg_dsn(url: str) -> str:
    parsed = make_url(url.replace("{service}", "postgres"))
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def safe_name(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


async def create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await conn.execute(f"CREATE DATABASE {safe_name(name)}")
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str, attempts: int = 60) -> None:
    """DROP ... WITH (FORCE); retried while an autovacuum worker (started by the million rows
    just written) is in the database: a non-superuser may not terminate it."""
    conn = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        for attempt in range(attempts):
            try:
                await conn.execute(f"DROP DATABASE IF EXISTS {safe_name(name)} WITH (FORCE)")
                return
            except (asyncpg.InsufficientPrivilegeError, asyncpg.ObjectInUseError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(2)
    finally:
        await conn.close()


async def delete_topics(bootstrap: str, prefix: str) -> int:
    """Delete a run's topics (``<prefix>.*``) from the broker: a benchmark that left them
    behind grew the local broker by a few topics a run. Returns how many were deleted; a
    failure is said, not raised (the figures are measured by then)."""
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.kafka import client_kwargs

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    try:
        await admin.start()
        ours = [t for t in await admin.list_topics() if t.startswith(f"{prefix}.")]
        if ours:
            await admin.delete_topics(ours)
        return len(ours)
    except Exception as exc:  # noqa: BLE001 - a leftover topic is not worth the run's figures
        say(f"the topics {prefix}.* were not deleted: {exc}")
        return 0
    finally:
        await admin.close()


# --- timing and progress --------------------------------------------------------------------


@dataclass
class Phases:
    """Wall-clock seconds per named phase, in the order they ran."""

    seconds: dict[str, float] = field(default_factory=dict)
    load: dict[str, float] = field(default_factory=dict)  # 1-minute load average at the start

    @contextmanager
    def timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self.load[name] = os.getloadavg()[0]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        say(f"{name}: start (load average {load})")
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started
            say(f"{name}: {self.seconds[name]:.1f} s")

    def summary(self) -> str:
        return "  ".join(f"{name}={s:.1f}s" for name, s in self.seconds.items())


class Ticker:
    """Prints ``label done/total events, rate ev/s`` at most every ``every`` seconds."""

    def __init__(self, label: str, total: int, every: float = 2.0) -> None:
        self.label, self.total, self.every = label, total, every
        self.started = self.last = time.perf_counter()

    def tick(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self.last >= self.every:
            self.last = now
            rate = per_second(done, now - self.started)
            say(f"{self.label}: {num(done)}/{num(self.total)} events, {num(rate)} ev/s")


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident memory (MiB) of this process, or of its largest waited-for child."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def machine() -> str:
    cpus = os.cpu_count() or 0
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpus} cores, {mem:.0f} GiB, Python {platform.python_version()}"


# --- results in bench/README.md ---------------------------------------------------------------


def append_row(readme: Path, marker: str, row: list[str]) -> None:
    """Append ``row`` to the markdown table that follows the line ``<!-- marker -->``."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    tag = f"<!-- {marker} -->"
    at = lines.index(tag) + 1
    while at < len(lines) and not lines[at].startswith("|"):
        at += 1
    while at < len(lines) and lines[at].startswith("|"):
        at += 1
    lines.insert(at, "| " + " | ".join(row) + " |")
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
