"""``uzdik audit verify``: every hash chain, and (with Kafka) every topic against its store."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from rich.console import Console

from shared.audit import verify_chain
from shared.relay import topic_for
from shared.settings import Settings
from shared.store.canonical import event_hash
from shared.store.eventstore import EventStore, open_store


async def verify_all(
    settings: Settings,
    services: list[str],
    console: Console,
    tick: Callable[[str, int], None] | None = None,
) -> bool:
    """``tick(service, events checked)`` as each chain is walked (a progress display)."""
    ok = True
    for service in services:
        store = open_store(service, settings.database_url_for(service))
        try:
            if tick is not None:
                tick(service, 0)
            report = await verify_chain(
                store, tick=None if tick is None else functools.partial(tick, service)
            )
            if report.discrepancy:
                console.print(f"[red]FAIL[/red] {report.discrepancy}")
                ok = False
                continue
            console.print(
                f"ok   {service}: {report.events} events, chain head {report.head_hash[:16]}"
            )
            if service == "scoring":
                signed: list[str] = []
                for broken in await verify_protocols(store, signed):
                    console.print(f"[red]FAIL[/red] scoring: {broken}")
                    ok = False
                if signed:
                    console.print(
                        f"ok   scoring: {len(signed)} signed protocol(s): each rebuilt from the "
                        "log, its digest and both signatures verified"
                    )
            if settings.kafka_bootstrap_servers:
                topic = topic_for(service, settings.topic_prefix)
                problem = await compare_topic(store, settings.kafka_bootstrap_servers, topic)
                if problem:
                    console.print(f"[red]FAIL[/red] {service} topic {topic}: {problem}")
                    ok = False
                else:
                    console.print(f"ok   {service}: topic {topic} matches the store")
        finally:
            await store.close()
    return ok


def _recompute(e: dict[str, Any]) -> str:
    return event_hash(e["prev_hash"], e)


async def compare_topic(store: EventStore, bootstrap: str, topic: str) -> str | None:
    """The topic must hold every stored event (same hash, content intact), per-stream order
    ascending, and nothing the store does not have. Returns the first discrepancy."""
    from services.reporting.adapters.kafka_source import KafkaSource

    on_topic: dict[str, dict[str, Any]] = {}
    last_version: dict[str, int] = {}
    async for batch in KafkaSource(bootstrap, [topic]).batches():
        for e in batch:
            if e["metadata"]["event_id"] in on_topic:
                continue  # at-least-once: a redelivered copy
            if _recompute(e) != e["hash"]:
                return f"event {e['metadata']['event_id']} on the topic was altered"
            if e["stream_version"] < last_version.get(e["stream_id"], 0):
                return (
                    f"event {e['metadata']['event_id']} is out of order in stream {e['stream_id']}"
                )
            last_version[e["stream_id"]] = e["stream_version"]
            on_topic[e["metadata"]["event_id"]] = e
    after = 0
    published = await _published(store, topic)
    while rows := await store.read_all(after=after, limit=5000):
        for env in rows:
            if env.global_position > published:
                return None  # not yet relayed: the relay's backlog, not a discrepancy
            found = on_topic.pop(str(env.event_id), None)
            if found is None:
                return f"event {env.event_id} at position {env.global_position} is missing"
            if found["hash"] != env.hash:
                return f"event {env.event_id} at position {env.global_position} differs"
        after = rows[-1].global_position
    if on_topic:
        extra = next(iter(on_topic))
        return f"event {extra} is on the topic but not in the store"
    return None


async def _published(store: EventStore, topic: str) -> int:
    from shared.relay import Relay

    class _Null:
        async def publish(self, topic: str, records: Any) -> int:
            return 0

    return await Relay(store, _Null(), topic=topic).published_position()


async def verify_protocols(store: EventStore, checked: list[str] | None = None) -> list[str]:
    """Every ProtocolSigned in scoring's log: rebuild the sitting's protocol from the log up
    to the signature, recompute its digest, check both Ed25519 signatures. The sittings
    checked are appended to ``checked``; the problems are returned."""
    from services.scoring.domain import initial, replay
    from services.scoring.domain.protocol import document, verify
    from services.scoring.events import ProtocolSigned, registry

    problems: list[str] = []
    after = 0
    while rows := await store.read_all(after=after, limit=5000):
        for env in rows:
            if env.event_type != "ProtocolSigned":
                continue
            signed = registry.load(env)
            assert isinstance(signed, ProtocolSigned)
            if checked is not None:
                checked.append(signed.sitting_id)
            history = [
                registry.load(e)
                for e in await store.load(env.stream_id)
                if e.stream_version < env.stream_version
            ]
            try:
                doc = document(replay(history, initial()), signed.sitting_id)
            except Exception as exc:  # the log no longer yields that sitting at all
                problems.append(f"protocol of sitting {signed.sitting_id}: cannot rebuild ({exc})")
                continue
            found = verify(doc, signed).problems
            if found:
                problems.append(
                    f"protocol of sitting {signed.sitting_id} (event {env.event_id}): "
                    f"{', '.join(found)}"
                )
        after = rows[-1].global_position
    return problems


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
