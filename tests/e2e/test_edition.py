"""A whole edition, the same commands twice: embedded (SQLite, tailing) and distributed (real
Kafka + PostgreSQL, relays and FastStream consumers). Both must choose the same nominees,
finalists and winners, and reporting's replay must rebuild its read models exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demo.scenario import Outcome, Scale, Scenario, SimClock, behind_local_proxy
from services.embedded import Embedded
from services.reporting.adapters.kafka_source import KafkaSource
from services.reporting.replay import replay
from shared.relay import topic_for
from shared.settings import Settings
from shared.store.eventstore import open_store
from tests.harness import Distributed

SCALE = Scale(
    regions=["110000000", "150000000", "550000000"], per_district=2, responses_per_survey=3, seed=7
)


def decisions(o: Outcome) -> dict[str, Any]:
    return {
        "applications": o.applications,
        "admitted": o.admitted,
        "rejected": {k: sorted(e["code"] for e in v) for k, v in o.rejected.items()},
        "nominees": {r: sorted(n["candidate_id"] for n in ns) for r, ns in o.nominees.items()},
        "finalists": {
            r: (f["candidate_id"], str(f["regional_total"])) for r, f in o.finalists.items()
        },
        "winners": [(w["place"], w["candidate_id"], str(w["mean"])) for w in o.winners],
    }


async def test_the_distributed_edition_decides_exactly_like_the_embedded_one(
    tmp_path: Path, pg_url_factory: Any, kafka_bootstrap: str, topic_prefix: str
) -> None:
    clock = SimClock()
    settings = behind_local_proxy(Settings())
    async with Embedded(settings, tmp_path / "embedded", clock=clock.now) as local:
        embedded = await Scenario(local.clients, settings, clock=clock).edition(
            SCALE, settle=local.drain
        )

    clock = SimClock()
    async with Distributed(
        pg_url_factory,
        kafka_bootstrap,
        topic_prefix,
        clock=clock.now,
        survey_trusted_proxies=settings.survey_trusted_proxies,
    ) as system:
        distributed = await Scenario(system.clients, system.settings, clock=clock).edition(
            SCALE, settle=system.quiescent
        )
        await system.quiescent()
        topics = [topic_for(s, topic_prefix) for s in ("nominations", "scoring", "survey")]
        reporting = open_store("reporting", system.url("reporting"))
        report = await replay(KafkaSource(kafka_bootstrap, topics), reporting)
        await reporting.close()

    assert len(embedded.winners) == 3
    assert decisions(distributed) == decisions(embedded)
    assert report.identical, report.differing()
