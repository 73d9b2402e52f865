"""``make bench-audit``: ``uzdik audit verify`` over a national edition against a reference.

One build (kept with ``--keep``, used again with ``--reuse STAMP``): the edition of
``bench.replay`` (``--events``, default 1,000,000 or ``BENCH_EVENTS``; same generator, same
seed) written twice, as the services write it: into the event stores of three fresh databases
``uzdik_bench_audit_<stamp>_{nominations,scoring,survey}`` (COPY of the very rows
``UnitOfWork`` stores: the payload's and the metadata's canonical texts, positions, the hash
chain) and onto the topics ``bench<stamp>a.<service>.events`` (the relay's records), with the
relay's published mark at each store's head. Then ``--runs`` times (default 1, or
``BENCH_RUNS``): (a) the reference — one process reads the same rows of the three stores
(asyncpg, the columns ``audit verify`` reads, in position order) and the same records of the
three topics (aiokafka, like the replay's reference), and computes the SHA-256 of each row and
of each record's value; (b) ``uzdik audit verify`` as an auditor runs it (a subprocess, every
chain, the signed protocols, every topic against its store), timed from outside; (c) the
reference again — the better of the two is used. Last line on stdout:
``audit_verify events=<n> events_per_s=<n> reference_events_per_s=<n> ratio=<n> ok=<bool>``
(of the median run when there are several); each run is recorded in bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench.common import (
    README,
    ROOT,
    Phases,
    Ticker,
    append_row,
    asyncpg_dsn,
    create_database,
    drop_database,
    ensure_services,
    machine,
    num,
    per_second,
    say,
    with_database,
)
from bench.replay import DEFAULT_EVENTS, SERVICES, Sink, generate
from shared.relay import Record, topic_for

COLUMNS = (
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
)
READ_SQL = (
    f"SELECT {', '.join(COLUMNS)} FROM events WHERE global_position > $1 "
    "ORDER BY global_position LIMIT $2"
)


# --- the build: stores and topics ---------------------------------------------------------------


def stored_row(record: Record) -> tuple[Any, ...]:
    """The event row the store wrote for the event the relay published as ``record``: its
    value is the envelope's canonical JSON with the stored payload and metadata texts spliced
    in (``relay.record_of_row``), so the texts are cut out of it, not encoded again."""
    value, h = record.value, record.headers
    meta_at = value.index(b',"metadata":') + len(b',"metadata":')
    payload_at = value.index(b',"payload":', meta_at)
    end = value.rindex(b',"prev_hash":"')
    prev = value[end + len(b',"prev_hash":"') :][:64]
    return (
        int(h["global_position"]),
        record.key.decode(),
        int(h["stream_version"]),
        h["event_type"],
        int(h["schema_version"]),
        h["event_id"],
        value[payload_at + len(b',"payload":') : end].decode(),
        value[meta_at:payload_at].decode(),
        prev.decode(),
        h["hash"],
    )


class StoreWriter:
    """COPYs one service's rows into its events table, a batch while the next is made."""

    def __init__(self, conn: Any, batch: int = 20000) -> None:
        self.conn, self.batch = conn, batch
        self.rows: list[tuple[Any, ...]] = []
        self.copying: asyncio.Task[Any] | None = None
        self.head, self.checked = 0, 0

    async def add(self, record: Record) -> None:
        row = stored_row(record)
        if row[0] % 1000 == 1:  # the row links and hashes as audit verify will check it
            from shared.audit import check_row

            problem = check_row(row, row[8], row[0])
            if problem:
                raise SystemExit(f"the bench wrote a bad row at {row[0]}: {problem}")
            self.checked += 1
        self.rows.append(row)
        self.head = max(self.head, row[0])
        if len(self.rows) >= self.batch:
            await self.flush()

    async def flush(self) -> None:
        if self.copying is not None:
            await self.copying
        rows, self.rows = self.rows, []
        self.copying = asyncio.create_task(
            self.conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        )

    async def close(self, topic: str) -> None:
        await self.flush()
        assert self.copying is not None
        await self.copying
        await self.conn.execute(
            "INSERT INTO relay_state (name, published_position) VALUES ($1, $2)", topic, self.head
        )
        await self.conn.execute("ANALYZE events")
        await self.conn.close()


def fill(params: dict[str, Any]) -> dict[str, Any]:
    try:
        return asyncio.run(_fill(**params))
    except BaseException as exc:  # domain errors do not unpickle: hand the traceback back
        import traceback

        raise RuntimeError("".join(traceback.format_exception(exc))) from None


async def _fill(
    events: int, seed: int, prefix: str, bootstrap: str, urls: dict[str, str]
) -> dict[str, Any]:
    import asyncpg

    started = time.perf_counter()
    generated = generate(events, seed)
    say(f"fill: edition planned in {time.perf_counter() - started:.1f} s: {generated.summary}")
    sink = Sink(bootstrap, prefix, None)
    await sink.start()
    writers = {s: StoreWriter(await asyncpg.connect(asyncpg_dsn(urls[s]))) for s in SERVICES}
    ticker = Ticker("fill (stores and topics)", events)
    done = 0
    for service, record in generated.records:
        await sink.send(service, record)
        await writers[service].add(record)
        done += 1
        ticker.tick(done)
    ticker.tick(done, force=True)
    await sink.close()
    for service, writer in writers.items():
        await writer.close(topic_for(service, prefix))
    return {
        "events": done,
        "heads": {s: w.head for s, w in writers.items()},
        "checked": sum(w.checked for w in writers.values()),
        "value_bytes": sink.bytes,
        "summary": generated.summary,
    }


async def partitions_of(bootstrap: str, topic: str) -> list[Any]:
    from aiokafka import TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.kafka import client_kwargs

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]


async def stores_from_topics(bootstrap: str, prefix: str, urls: dict[str, str]) -> dict[str, Any]:
    """The stores of an edition already on topics (a ``bench.replay --keep`` run's): every
    record read back and its row COPYed into its service's store (rows in any order: the
    table's primary key orders them)."""
    import asyncpg

    from services.reporting.adapters.kafka_source import reading_consumer

    total = 0
    for service in SERVICES:
        topic = topic_for(service, prefix)
        writer = StoreWriter(await asyncpg.connect(asyncpg_dsn(urls[service])))
        consumer = reading_consumer(bootstrap)
        await consumer.start()
        try:
            parts = await partitions_of(bootstrap, topic)
            consumer.assign(parts)
            end = await consumer.end_offsets(parts)
            await consumer.seek_to_beginning(*parts)
            ticker = Ticker(f"stores from topics ({service})", sum(end.values()))
            remaining, done = {tp for tp in parts if end[tp] > 0}, 0
            while remaining:
                got = await consumer.getmany(timeout_ms=1000, max_records=20000)
                for tp, records in got.items():
                    for r in records:
                        if r.offset < end[tp]:
                            headers = {k: v.decode() for k, v in r.headers}
                            await writer.add(Record(key=r.key, value=r.value, headers=headers))
                            done += 1
                    if records and records[-1].offset >= end[tp] - 1:
                        remaining.discard(tp)
                ticker.tick(done)
            ticker.tick(done, force=True)
        finally:
            await consumer.stop()
        await writer.close(topic)
        total += done
    return {"events": total}


# --- the measurements ---------------------------------------------------------------------------


async def reference(urls: dict[str, str], bootstrap: str, topics: list[str]) -> dict[str, Any]:
    """One process: every stored row of the three stores, then every record of the three
    topics, read and hashed (SHA-256 of the row's fields, of the record's value)."""
    import asyncpg

    from bench.replay import reference as read_topics

    started = time.perf_counter()
    rows = 0
    for url in urls.values():
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            after = 0
            while found := await conn.fetch(READ_SQL, after, 20000):
                for r in found:
                    hashlib.sha256(
                        (
                            f"{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}\t{r[4]}\t{r[5]}\t{r[6]}\t{r[7]}\t"
                            f"{r[8]}\t{r[9]}"
                        ).encode()
                    ).digest()
                rows += len(found)
                after = found[-1][0]
        finally:
            await conn.close()
    stores_s = time.perf_counter() - started
    records, topics_s = await read_topics(bootstrap, topics, hashed=True)
    return {
        "rows": rows,
        "records": records,
        "stores_s": stores_s,
        "topics_s": topics_s,
        "seconds": time.perf_counter() - started,
    }


def run_verify(urls: dict[str, str], prefix: str, bootstrap: str) -> dict[str, Any]:
    """``uzdik audit verify`` as an auditor runs it, timed from outside."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update({f"UZDIK_{s.upper()}_DATABASE_URL": url for s, url in urls.items()})
    env.update({"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "UZDIK_TOPIC_PREFIX": prefix})
    env["COLUMNS"] = "250"  # one line per check (rich wraps at 80 columns without a terminal)
    uzdik = Path(sys.executable).parent / "uzdik"
    with tempfile.TemporaryDirectory() as data_dir, tempfile.TemporaryFile() as out:
        env["UZDIK_DATA_DIR"] = data_dir  # no embedded notifications log is picked up
        started = time.perf_counter()
        proc = subprocess.Popen(
            [str(uzdik), "audit", "verify"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    matched = sum(" matches the store" in line for line in lines)
    chains = sum(line.startswith("ok ") and "chain head" in line for line in lines)
    code = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": wall,
        "exit": code,
        "ok": code == 0 and matched == len(SERVICES) and chains == len(SERVICES),
        "lines": [line for line in lines if line.startswith(("ok", "FAIL", "--"))],
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


# --- setup and teardown ---------------------------------------------------------------------------


def names(
    stamp: str, admin_url: str, replay_topics: bool = False
) -> tuple[str, dict[str, str], list[str]]:
    """(topic prefix, the stores' URLs, the topics) of a build; ``replay_topics``: the
    topics are those of a ``bench.replay --keep`` run of that stamp."""
    prefix = f"bench{stamp}" if replay_topics else f"bench{stamp}a"
    urls = {s: with_database(admin_url, f"uzdik_bench_audit_{stamp}_{s}") for s in SERVICES}
    return prefix, urls, [topic_for(s, prefix) for s in SERVICES]


async def setup(admin_url: str, stamp: str, bootstrap: str, make_topics: bool = True) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from shared.kafka import client_kwargs
    from shared.migrations import upgrade
    from shared.store.eventstore import make_engine

    _, urls, topics = names(stamp, admin_url)
    for service, url in urls.items():
        await create_database(admin_url, f"uzdik_bench_audit_{stamp}_{service}")
        engine = make_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
    if not make_topics:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()


async def teardown(admin_url: str, stamp: str, bootstrap: str, topics: bool = True) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    from shared.kafka import client_kwargs

    for service in SERVICES:
        await drop_database(admin_url, f"uzdik_bench_audit_{stamp}_{service}")
    if not topics:
        return  # a replay run's: its own --keep keeps them
    _, _, names_of_topics = names(stamp, admin_url)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics(names_of_topics)
    finally:
        await admin.close()


async def heads(urls: dict[str, str]) -> int:
    import asyncpg

    total = 0
    for url in urls.values():
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            total += int(await conn.fetchval("SELECT count(*) FROM events"))
        finally:
            await conn.close()
    return total


# --- the command ----------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.audit", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("BENCH_EVENTS", DEFAULT_EVENTS)),
        help="events in the edition (default 1,000,000 or BENCH_EVENTS)",
    )
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument(
        "--runs",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", "1")),
        help="measurements over the one build (default 1 or BENCH_RUNS)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases and the topics")
    parser.add_argument(
        "--reuse", metavar="STAMP", help="measure a build kept by --keep (its stamp) again"
    )
    parser.add_argument(
        "--from-replay",
        metavar="STAMP",
        help="build the stores from the topics a `bench.replay --keep` run kept (its stamp): "
        "one edition for both benchmarks, built once (with --reuse: those stores, built before)",
    )
    parser.add_argument("--no-readme", action="store_true", help="do not record in bench/README.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    found = ensure_services()
    stamp = args.reuse or args.from_replay or time.strftime("%Y%m%d%H%M%S", time.gmtime())
    replay_topics = bool(args.from_replay)
    prefix, urls, topics = names(stamp, found.database_url, replay_topics)
    phases = Phases()
    keep = args.keep or bool(args.reuse)
    runs: list[dict[str, Any]] = []
    try:
        if args.reuse:
            events = asyncio.run(heads(urls))
            say(f"bench-audit: the kept build {stamp}: {num(events)} events")
        else:
            events = build(args, found.database_url, found.bootstrap, stamp, phases)
        for n in range(1, args.runs + 1):
            runs.append(measure(n, urls, prefix, found.bootstrap, topics, events, phases))
            if not args.no_readme:
                record(runs[-1])
    finally:
        if keep:
            again = (
                f"--from-replay {stamp} --reuse {stamp}" if replay_topics else f"--reuse {stamp}"
            )
            say(f"kept: measure again with `python -m bench.audit {again}`")
        else:
            asyncio.run(teardown(found.database_url, stamp, found.bootstrap, not replay_topics))
    say(f"phases: {phases.summary()}")
    if not runs:
        return 0
    middle = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
    if len(runs) > 1:
        ratios = [r["ratio"] for r in runs]
        say(
            f"{len(runs)} runs: ratio {min(ratios):.2f}–{statistics.median(ratios):.2f}–"
            f"{max(ratios):.2f} (min–median–max); the last line is the median run's"
        )
    print(
        f"audit_verify events={middle['events']} events_per_s={middle['rate']:.0f} "
        f"reference_events_per_s={middle['reference_rate']:.0f} ratio={middle['ratio']:.2f} "
        f"ok={str(middle['ok']).lower()}",
        flush=True,
    )
    return 0 if all(r["ok"] for r in runs) else 1


def build(
    args: argparse.Namespace, admin_url: str, bootstrap: str, stamp: str, phases: Phases
) -> int:
    """The stores and the topics of one edition; returns its number of events."""
    replay_topics = bool(args.from_replay)
    prefix, urls, _ = names(stamp, admin_url, replay_topics)
    asyncio.run(setup(admin_url, stamp, bootstrap, make_topics=not replay_topics))
    if replay_topics:
        say(f"bench-audit: the stores of the edition on the topics {prefix}.* (a replay run's)")
        with phases.timed("build"):
            built = asyncio.run(stores_from_topics(bootstrap, prefix, urls))
    else:
        say(f"bench-audit: {num(args.events)} events, stamp {stamp} (topics {prefix}.*)")
        with (
            phases.timed("build"),
            ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool,
        ):
            params = {
                "events": args.events,
                "seed": args.seed,
                "prefix": prefix,
                "bootstrap": bootstrap,
                "urls": urls,
            }
            built = pool.submit(fill, params).result()
    say(f"build: {built}")
    return int(built["events"])


def measure(
    n: int,
    urls: dict[str, str],
    prefix: str,
    bootstrap: str,
    topics: list[str],
    events: int,
    phases: Phases,
) -> dict[str, Any]:
    refs = []
    with phases.timed(f"reference-{n}a"):
        refs.append(asyncio.run(reference(urls, bootstrap, topics)))
    with phases.timed(f"verify-{n}"):
        verified = run_verify(urls, prefix, bootstrap)
    with phases.timed(f"reference-{n}b"):
        refs.append(asyncio.run(reference(urls, bootstrap, topics)))
    for ref in refs:
        if ref["rows"] != events or ref["records"] != events:
            raise SystemExit(f"the reference read {ref['rows']} rows and {ref['records']} records")
    best = min(refs, key=lambda r: r["seconds"])
    rate, reference_rate = (
        per_second(events, verified["wall_s"]),
        per_second(events, best["seconds"]),
    )
    for line in verified["lines"]:
        say(f"verify-{n}: {line}")
    say(
        f"run {n}: reference "
        + ", ".join(
            f"{r['seconds']:.1f} s (stores {r['stores_s']:.1f} s, topics {r['topics_s']:.1f} s)"
            for r in refs
        )
        + f" (the better is used) = {num(reference_rate)} ev/s; audit verify "
        f"{verified['wall_s']:.1f} s = {num(rate)} ev/s, exit {verified['exit']}, peak RSS "
        f"{verified['peak_rss_mb']:,.0f} MiB; ratio {rate / reference_rate:.2f}"
    )
    return {
        "events": events,
        "rate": rate,
        "reference_rate": reference_rate,
        "ratio": rate / reference_rate if reference_rate else 0.0,
        "ok": verified["ok"],
        "wall_s": verified["wall_s"],
        "reference_s": best["seconds"],
        "stores_s": best["stores_s"],
        "topics_s": best["topics_s"],
        "load": phases.load[f"verify-{n}"],
    }


MARKER = "bench-audit:results"


def record(run: dict[str, Any]) -> None:
    """Append a row to the table of the section "Audit verify" of bench/README.md."""
    append_row(
        README,
        MARKER,
        [
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            num(run["events"]),
            f"{run['reference_s']:.1f} s ({run['stores_s']:.1f} + {run['topics_s']:.1f})",
            num(run["reference_rate"]),
            f"{run['wall_s']:.1f} s",
            num(run["rate"]),
            f"{run['ratio']:.2f}",
            str(run["ok"]).lower(),
            f"{run['load']:.1f}",
            machine(),
        ],
    )


if __name__ == "__main__":
    sys.exit(main())
