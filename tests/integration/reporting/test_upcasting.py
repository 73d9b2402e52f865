"""A v1 event stored before its v2 class existed is read as v2 by every reader: the aggregate
that owns it, another service's projection (through the registries the composition root
wires), and the auditors' replay — while the stored row, and so the hash chain, stay v1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from services.registry import readers
from services.reporting.entrypoints.consumers import projector
from services.reporting.replay import StoreSource, replay
from services.scoring.domain.aggregate import replay as fold_commission
from services.scoring.domain.state import initial
from services.scoring.events import registry as scoring_events
from shared.audit import verify_chain
from shared.consumers import Tailer
from shared.events import SYSTEM, Event
from shared.migrations import upgrade
from shared.store.eventstore import open_store
from tests.builders import candidate_registered


class CandidateRegisteredV1(Event):
    """The registration as version 1 wrote it: a count of complex projects, no complaints."""

    model_config = ConfigDict(frozen=True, extra="allow")
    event_type = "CandidateRegistered"
    schema_version = 1


def v1_payload(candidate_id: str) -> dict[str, Any]:
    v2 = candidate_registered(candidate_id).to_payload()
    dropped = ("implements_complex_projects", "justified_complaints", "complaints_source")
    return {**{k: v for k, v in v2.items() if k not in dropped}, "complex_projects": 2}


async def test_a_v1_event_reaches_the_aggregate_the_projection_and_the_replay_as_v2(
    tmp_path: Path,
) -> None:
    scoring = open_store("scoring", f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}")
    reporting = open_store("reporting", f"sqlite+aiosqlite:///{tmp_path / 'reporting.db'}")
    try:
        for store in (scoring, reporting):
            await upgrade(store.engine)
        stream = "commission-upcast"
        await scoring.append(stream, 0, [CandidateRegisteredV1(**v1_payload("c-1"))], SYSTEM)
        [row] = await scoring.read_rows()
        assert (row.event_type, row.schema_version) == ("CandidateRegistered", 1)

        # the aggregate: decoded through its own registry, folded
        events = [scoring_events.load(e) for e in await scoring.load(stream)]
        state = fold_commission(events, initial())
        registration = state.candidates["c-1"].registration
        assert registration.schema_version == 2
        assert registration.implements_complex_projects is True
        assert registration.justified_complaints is None

        # another service's projection: the consumer reads through the wired registries
        consumer = projector(reporting)
        consumer.readers = readers()
        assert await Tailer(consumer, scoring).step() == 1
        async with reporting.reader() as uow:
            doc = await uow.docs.get("candidates", "c-1")
        assert doc is not None
        assert doc["implements_complex_projects"] is True and doc["justified_complaints"] is None
        assert "complex_projects" not in doc

        # the replay: identical to the live read models only if it upcasts as the consumer did
        report = await replay(StoreSource([scoring]), reporting, swap=False, readers=readers())
        assert report.identical, report.differing()
        raw = await replay(StoreSource([scoring]), reporting, swap=False)
        assert not raw.identical  # without the registries the v1 shape would be folded

        # what is stored is what was written: the chain verifies, the row is still v1
        assert (await verify_chain(scoring)).ok
        assert (await scoring.read_rows())[0].schema_version == 1
    finally:
        await scoring.close()
        await reporting.close()


def test_every_consumer_a_runtime_builds_reads_through_every_services_registry() -> None:
    from services.registry import SERVICES, spec
    from shared.runtime import ServiceRuntime
    from shared.settings import Settings

    for name in SERVICES:
        runtime = ServiceRuntime(spec(name), Settings(), url="sqlite+aiosqlite:///:memory:")
        for consumer in runtime.consumers:
            assert set(consumer.readers) == set(SERVICES), (name, consumer.name)
            assert consumer.readers["scoring"] is scoring_events
