"""``uzdik audit verify``: every hash chain, and (with Kafka) every topic against its store."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import sys
from collections.abc import AsyncGenerator, Callable
from typing import Any, cast

import orjson
import sqlalchemy as sa
from rich.console import Console

from shared.audit import event_rows, verify_chain
from shared.events import Envelope
from shared.relay import topic_for
from shared.settings import Settings
from shared.store import schema
from shared.store.canonical import event_hash
from shared.store.eventstore import EventStore, open_store
from shared.store.rows import StoredRow, row_to_envelope


async def verify_all(
    settings: Settings,
    services: list[str],
    console: Console,
    tick: Callable[[str, int], None] | None = None,
) -> bool:
    """``tick(service, events checked)`` as each chain is walked (a progress display).

    With Kafka, the topics are compared with their stores by a second process while this one
    walks the chains (both cores: the chain and the topic of a log are independent reads)."""
    ok = True
    topics = _TopicChecks(settings, services) if settings.kafka_bootstrap_servers else None
    try:
        if topics is not None:
            await topics.start()  # at once: it runs beside the chains
        for service in services:
            ok = await _verify_one(settings, service, console, tick, topics) and ok
    finally:
        if topics is not None:
            await topics.close()
    return ok


LAYOUT = "layout"  # a share found a record off its key's partition: check the topic whole


def topic_shares() -> int:
    """How many processes compare the topics (each a share of every topic's partitions): a
    core each beside the chains' process (at least one, at most four);
    ``UZDIK_AUDIT_TOPIC_PROCESSES`` says otherwise. On two cores that is one: measured on the
    1,000,000-event edition with PostgreSQL and Kafka on the same machine, two cost 10 s more
    CPU (each reads the store) for no shorter wait (bench/README.md, "Audit verify")."""
    asked = os.environ.get("UZDIK_AUDIT_TOPIC_PROCESSES", "").strip()
    if asked.isdigit() and int(asked) > 0:
        return int(asked)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores - 1))


class _TopicChecks:
    """Child processes (``python -c``, importing only this module) comparing each service's
    topic with its store, a share of the topic's partitions each (see :func:`compare_topic`);
    a JSON line per service on each one's stdout."""

    def __init__(self, settings: Settings, services: list[str], shares: int = 0) -> None:
        assert settings.kafka_bootstrap_servers
        self.settings = settings
        self.shares = shares or topic_shares()
        self.jobs = [
            (
                s,
                settings.database_url_for(s),
                settings.kafka_bootstrap_servers,
                topic_for(s, settings.topic_prefix),
            )
            for s in services
        ]
        self.procs: list[asyncio.subprocess.Process] = []
        self.done: list[dict[str, str | None]] = [{} for _ in range(self.shares)]

    async def start(self) -> list[asyncio.subprocess.Process]:
        if not self.procs:
            for share in range(self.shares):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-c",
                    "import services.audit as a; a.compare_topics_main()",
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                assert proc.stdin is not None
                said = {"jobs": self.jobs, "share": [share, self.shares]}
                proc.stdin.write(json.dumps(said).encode() + b"\n")
                await proc.stdin.drain()
                proc.stdin.close()
                self.procs.append(proc)
        return self.procs

    async def result(self, service: str) -> str | None:
        """The first discrepancy between the service's topic and its store (None: none)."""
        problems = [
            await self._answer(proc, done, service)
            for proc, done in zip(await self.start(), self.done, strict=True)
        ]
        if LAYOUT in problems:  # records not where their keys put them now: all at once
            store = open_store(service, self.settings.database_url_for(service))
            try:
                bootstrap = self.settings.kafka_bootstrap_servers
                assert bootstrap
                return await compare_topic(
                    store, bootstrap, topic_for(service, self.settings.topic_prefix)
                )
            finally:
                await store.close()
        return next((p for p in problems if p), None)

    @staticmethod
    async def _answer(
        proc: asyncio.subprocess.Process, done: dict[str, str | None], service: str
    ) -> str | None:
        assert proc.stdout is not None
        while service not in done:
            line = await proc.stdout.readline()
            if not line:
                code = await proc.wait()
                raise RuntimeError(
                    f"the topic check of {service} stopped before its answer (exit {code})"
                )
            answer = json.loads(line)
            done[answer["service"]] = answer["problem"]
        return done[service]

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


def compare_topics_main() -> None:
    """A child of :class:`_TopicChecks`: its jobs and share on stdin, a JSON line per job on
    stdout."""

    async def run() -> None:
        said = json.loads(sys.stdin.readline())
        share = (int(said["share"][0]), int(said["share"][1]))
        for service, url, bootstrap, topic in said["jobs"]:
            store = open_store(service, url)
            try:
                problem = await compare_topic(store, bootstrap, topic, share=share)
            finally:
                await store.close()
            print(json.dumps({"service": service, "problem": problem}), flush=True)

    asyncio.run(run())


async def _verify_one(
    settings: Settings,
    service: str,
    console: Console,
    tick: Callable[[str, int], None] | None,
    topics: _TopicChecks | None,
) -> bool:
    store = open_store(service, settings.database_url_for(service))
    try:
        if tick is not None:
            tick(service, 0)
        report = await verify_chain(
            store, tick=None if tick is None else functools.partial(tick, service)
        )
        if report.discrepancy:
            console.print(f"[red]FAIL[/red] {report.discrepancy}")
            return False
        console.print(f"ok   {service}: {report.events} events, chain head {report.head_hash[:16]}")
        ok = True
        if service == "scoring":
            ok = await _verify_signed(store, console)
    finally:
        await store.close()
    if topics is not None:
        topic = topic_for(service, settings.topic_prefix)
        problem = await topics.result(service)
        if problem:
            console.print(f"[red]FAIL[/red] {service} topic {topic}: {problem}")
            return False
        console.print(f"ok   {service}: topic {topic} matches the store")
    return ok


async def _verify_signed(store: EventStore, console: Console) -> bool:
    signed: list[str] = []
    problems = await verify_protocols(store, signed)
    for broken in problems:
        console.print(f"[red]FAIL[/red] scoring: {broken}")
    if signed and not problems:
        console.print(
            f"ok   scoring: {len(signed)} signed protocol(s): each rebuilt from the "
            "log, its digest and both signatures verified"
        )
    elif signed:
        console.print(
            f"[red]FAIL[/red] scoring: {len(problems)} of {len(signed)} signed protocol(s) "
            "do not verify (above)"
        )
    return not problems


def _recompute(e: dict[str, Any]) -> str:
    return event_hash(e["prev_hash"], e)


def _sorted_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _intact(e: dict[str, Any]) -> bool:
    """The event's content gives its hash. First with orjson's sorted encoding of the payload
    and the metadata (the canonical text for every event the services write); an event that
    does not match that way is recomputed the exact way (``canonical_json``)."""
    try:
        fast = event_hash(
            e["prev_hash"],
            e,
            payload_text=_sorted_json(e["payload"]),
            metadata_text=_sorted_json(e["metadata"]),
        )
        if fast == e["hash"]:
            return True
    except (TypeError, orjson.JSONEncodeError):
        pass
    return bool(_recompute(e) == e["hash"])


async def compare_topic(
    store: EventStore, bootstrap: str, topic: str, share: tuple[int, int] = (0, 1)
) -> str | None:
    """The topic must hold every stored event (same hash, content intact), per-stream order
    ascending, and nothing the store does not have. Returns the first discrepancy.

    The store is read first: for each published row, the SHA-256 of the record the relay
    publishes for it (``record_value_of_row``). A record on the topic whose value has that
    digest is that row as stored — no decoding, not even of its headers. Any other record
    (another encoding, altered, unknown, a redelivered copy) is decoded and checked the exact
    way. Whether each stored row gives its own hash is the chain's check (``verify_chain``,
    which ``uzdik audit verify`` runs on every row beside this one): a row altered in the
    store has a record that no topic record matches, so its topic record takes the exact way
    and is judged against the row's stored hash, as before.

    ``share`` (i, n): only the partitions p with p % n == i, and only the rows whose key the
    relay's partitioner puts on one of them (n processes check a topic together). A record
    that is not its row's exact record and sits on another partition than its key's (the
    topic's partitions were added to since, or another producer wrote it) gives
    :data:`LAYOUT`: the caller checks that topic whole instead."""
    from services.reporting.adapters.kafka_source import KafkaSource

    published = await _published(store, topic)  # before the end offsets: all of it is read
    source = KafkaSource(bootstrap, [topic])
    place: Callable[[bytes | None], int] | None = None
    mine: Callable[[str], bool] | None = None
    index, count = share
    if count > 1:
        spans = await source.spans_of()
        place = _placement(sorted(p for _, p, _, _ in spans))
        source.only([s for s in spans if s[1] % count == index])
        where = place
        mine = functools.lru_cache(maxsize=None)(
            lambda stream: where(stream.encode()) % count == index
        )
    rows, backlog = await _expected_records(store, published, mine)
    expected = _Expected(rows, backlog, place)
    records = cast(AsyncGenerator[list[Any]], source.records())
    async with contextlib.aclosing(records):
        async for batch in records:
            problem = expected.check(batch)
            if problem:
                return problem
    return expected.missing()


def _placement(partitions: list[int]) -> Callable[[bytes | None], int]:
    """The partition the relay's producer gives a key (its own ``KeyPartitioner``); -1 for
    none."""
    from shared.kafka import KeyPartitioner

    partitioner = KeyPartitioner()

    def place(key: bytes | None) -> int:
        if key is None or not partitions:
            return -1
        return partitioner(key, partitions, partitions)

    return place


# record digest -> (event id, position, stream, version, hash), for each published row
Rows = dict[bytes, tuple[str, int, str, int, str]]


async def _expected_records(
    store: EventStore, published: int, mine: Callable[[str], bool] | None = None
) -> tuple[Rows, bool]:
    """The published rows' expected records (those of the streams ``mine`` says, if given);
    and whether rows wait beyond the mark."""
    from shared.relay import record_value_of_row
    from shared.store.canonical import json_string

    expected: Rows = {}
    backlog = False
    service, sha256 = json_string(store.service), hashlib.sha256
    by_server = getattr(store, "record_digests", None)  # PostgreSQL: digests made there
    if by_server is not None:
        after = 0
        while batch := await by_server(service, after, published):
            for event_id, position, stream, version, hash_, digest in batch:
                if mine is None or mine(stream):
                    expected[digest] = (event_id, position, stream, version, hash_)
            after = batch[-1][1]
        return expected, await store.head() > published
    async for rows in event_rows(store):
        for row in rows:
            if row.global_position > published:
                backlog = True  # not yet relayed: the relay's backlog, not a discrepancy
                break
            if mine is not None and not mine(row.stream_id):
                continue
            digest = sha256(record_value_of_row(service, row)).digest()
            expected[digest] = (
                row.event_id,
                row.global_position,
                row.stream_id,
                row.stream_version,
                row.hash,
            )
        if backlog:
            break
    return expected, backlog


class _Expected:
    """The published rows (all of them, by their record's digest) and those found so far."""

    def __init__(
        self, rows: Rows, backlog: bool, place: Callable[[bytes | None], int] | None = None
    ) -> None:
        self.rows, self.backlog, self.place = rows, backlog, place
        self.matched: set[bytes] = set()  # digests of the rows found on the topic
        self.last_version: dict[str, int] = {}
        self._by_id: dict[str, bytes] | None = None  # event id -> digest, made when needed

    def check(self, batch: list[Any]) -> str | None:
        rows, matched, last, sha256 = self.rows, self.matched, self.last_version, hashlib.sha256
        for r in batch:
            digest = sha256(r.value).digest()
            found = rows.get(digest)
            if found is None:
                problem = self._exactly(r, digest)
                if problem:
                    return problem
                continue
            if digest in matched:
                continue  # at-least-once: a redelivered copy
            matched.add(digest)
            stream, version = found[2], found[3]
            if version < last.get(stream, 0):
                return f"event {found[0]} is out of order in stream {stream}"
            last[stream] = version
        return None

    def _exactly(self, r: Any, digest: bytes) -> str | None:
        """A record that is no published row's exact record: another encoding of a row (or a
        copy of one), or a discrepancy; or, for a share, a record off its key's partition."""
        if self.place is not None and self.place(r.key) != r.partition:
            return LAYOUT
        e = orjson.loads(r.value) if r.value else {}
        event_id = e["metadata"]["event_id"]
        if self._by_id is None:
            self._by_id = {v[0]: d for d, v in self.rows.items()}
        stored_digest = self._by_id.get(event_id)
        if stored_digest is not None and stored_digest in self.matched:
            return None  # a copy of a row already found
        if not _intact(e):
            return f"event {event_id} on the topic was altered"
        stored = None if stored_digest is None else self.rows[stored_digest]
        if stored is None:
            return (
                None if self.backlog else f"event {event_id} is on the topic but not in the store"
            )
        assert stored_digest is not None
        self.matched.add(stored_digest)
        if stored[4] != e["hash"]:
            return f"event {event_id} at position {stored[1]} differs"
        stream, version = e["stream_id"], e["stream_version"]
        if version < self.last_version.get(stream, 0):
            return f"event {event_id} is out of order in stream {stream}"
        self.last_version[stream] = version
        return None

    def missing(self) -> str | None:
        """The first published row not found on the topic (None: all were)."""
        if len(self.matched) == len(self.rows):
            return None
        matched = self.matched
        position, event_id = min((v[1], v[0]) for d, v in self.rows.items() if d not in matched)
        return f"event {event_id} at position {position} is missing"


async def _published(store: EventStore, topic: str) -> int:
    from shared.relay import Relay

    class _Null:
        async def publish(self, topic: str, records: Any) -> int:
            return 0

    return await Relay(store, _Null(), topic=topic).published_position()


async def verify_protocols(store: EventStore, checked: list[str] | None = None) -> list[str]:
    """Every ProtocolSigned in scoring's log: rebuild the sitting's protocol from the log up
    to the signature, recompute its digest, check both Ed25519 signatures. The sittings
    checked are appended to ``checked``; the problems are returned.

    Each commission's stream is read and folded once, its protocols checked as the fold
    passes their signatures (the state before each is the replay of the events before it)."""
    by_stream: dict[str, list[Envelope]] = {}
    for env in await _signed_protocols(store):
        by_stream.setdefault(env.stream_id, []).append(env)
    found: list[tuple[int, str]] = []
    sittings: list[tuple[int, str]] = []
    for stream, signatures in by_stream.items():
        found.extend(await _verify_stream(store, stream, signatures, sittings))
    if checked is not None:
        checked.extend(sitting for _, sitting in sorted(sittings))
    return [problem for _, problem in sorted(found)]


async def _verify_stream(
    store: EventStore, stream: str, signatures: list[Envelope], sittings: list[tuple[int, str]]
) -> list[tuple[int, str]]:
    from services.scoring.domain import evolve, initial
    from services.scoring.domain.protocol import document, verify
    from services.scoring.events import ProtocolSigned, registry

    events = await store.load(stream)
    state, at, broken = initial(), 0, None
    problems: list[tuple[int, str]] = []
    for env in sorted(signatures, key=lambda e: e.stream_version):
        signed = registry.load(env)
        assert isinstance(signed, ProtocolSigned)
        sittings.append((env.global_position, signed.sitting_id))
        while at < len(events) and events[at].stream_version < env.stream_version:
            event = registry.load(events[at])
            at += 1
            if broken is None:
                try:
                    state = evolve(state, event)
                except Exception as exc:  # the log no longer folds past this event
                    broken = exc
        where = env.global_position
        try:
            if broken is not None:
                raise broken
            doc = document(state, signed.sitting_id)
        except Exception as exc:  # the log no longer yields that sitting at all
            problem = f"protocol of sitting {signed.sitting_id}: cannot rebuild ({exc})"
            problems.append((where, problem))
            continue
        wrong = verify(doc, signed).problems
        if wrong:
            problems.append(
                (
                    where,
                    f"protocol of sitting {signed.sitting_id} (event {env.event_id}): "
                    f"{', '.join(wrong)}",
                )
            )
    return problems


async def _signed_protocols(store: EventStore) -> list[Envelope]:
    """Every ProtocolSigned of the log, in position order (only those rows are read)."""
    ev = schema.events
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(*(ev.c[name] for name in StoredRow._fields))
            .where(ev.c.event_type == "ProtocolSigned")
            .order_by(ev.c.global_position)
        )
        return [row_to_envelope(store.service, StoredRow(*row)) for row in rows]


async def candidate_trail(store: EventStore, candidate_id: str) -> list[dict[str, Any]]:
    """Every scoring fact about one candidate, in log order: who scored what, when, and why."""
    out: list[dict[str, Any]] = []
    after = 0
    while rows := await store.read_all(after=after, limit=5000):
        for env in rows:
            if env.payload.get("candidate_id") != candidate_id and candidate_id not in str(
                env.payload.get("chosen", "")
            ):
                continue
            p = env.payload
            out.append(
                {
                    "position": env.global_position,
                    "event": env.event_type,
                    "occurred_at": env.metadata.occurred_at.isoformat(),
                    "recorded_at": env.metadata.recorded_at.isoformat(),
                    "actor": f"{env.actor.id} ({env.actor.role})",
                    "sitting": p.get("sitting_id"),
                    "kind": p.get("kind"),
                    "total": p.get("total", p.get("points", p.get("regional_total"))),
                    "supersedes": p.get("supersedes"),
                    "reason": p.get("reason"),
                }
            )
        after = rows[-1].global_position
    return out


async def directory(store: EventStore) -> tuple[dict[str, str], dict[str, str]]:
    """(candidate id -> name, person id -> name) from scoring's log: the candidates as
    registered, the commissions' members and secretaries (replacements included)."""
    candidates: dict[str, str] = {}
    people: dict[str, str] = {}
    after = 0
    while rows := await store.read_all(after=after, limit=5000):
        for env in rows:
            p = env.payload
            if env.event_type == "CandidateRegistered":
                candidates[str(p["candidate_id"])] = str(p.get("name", ""))
            elif env.event_type == "CommissionFormed":
                for person in [*p.get("members", []), p.get("secretary") or {}]:
                    if person.get("person_id"):
                        people[str(person["person_id"])] = str(person.get("name", ""))
            elif env.event_type == "MemberReplaced":
                incoming = p.get("incoming") or {}
                if incoming.get("person_id"):
                    people[str(incoming["person_id"])] = str(incoming.get("name", ""))
        after = rows[-1].global_position
    return candidates, people


def find_candidates(candidates: dict[str, str], query: str) -> list[tuple[str, str]]:
    """The candidates ``query`` names: its id exactly, else every name containing it (any
    case); sorted by name."""
    if query in candidates:
        return [(query, candidates[query])]
    needle = query.casefold().strip()
    return sorted(
        ((cid, name) for cid, name in candidates.items() if needle and needle in name.casefold()),
        key=lambda item: (item[1], item[0]),
    )
