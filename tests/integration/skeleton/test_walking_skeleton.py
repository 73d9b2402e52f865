"""One command per service travels the whole path: HTTP → event store → relay → Kafka →
reporting's consumer → read model over HTTP. And the embedded mode agrees with it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from demo.scenario import Scenario
from services.embedded import Embedded
from services.reporting.adapters.kafka_source import KafkaSource
from services.reporting.replay import replay
from shared.auth import issue_dev_token
from shared.relay import topic_for
from shared.settings import Settings
from shared.store.eventstore import open_store
from tests.conftest import run_uzdik
from tests.harness import Distributed

SMALL_DEMO = ("--region", "620000000", "--per-district", "1", "--responses", "2", "--pdf", "none")
VOLATILE = {
    "recorded_at",
    "recorded_by",
    "event_id",
    "hash",
    "correlation_id",
    "position",
    "occurred_at",
    "causation_id",
}


async def read_model(client: Any, settings: Settings, model: str) -> list[dict[str, Any]]:
    token = issue_dev_token(settings, "auditor-1", ["auditor"])
    r = await client.get(f"/v1/read-models/{model}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def stable(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in VOLATILE}


async def models_of(client: Any, settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in ("editions", "commissions", "surveys"):
        out[model] = [stable(d) for d in await read_model(client, settings, model)]
    trail = await read_model(client, settings, "audit")
    out["audit"] = sorted(
        (
            d["service"],
            d["event_type"],
            d["stream_id"],
            d["stream_version"],
            d["actor"]["id"],
            d["actor"]["role"],
        )
        for d in trail
    )
    return out


async def test_each_service_command_reaches_reporting_over_kafka_and_postgres(
    pg_url_factory: Any, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    async with Distributed(pg_url_factory, kafka_bootstrap, topic_prefix) as system:
        await Scenario(system.clients, system.settings, now=now).run()
        await system.settled()
        distributed = await models_of(system.clients["reporting"], system.settings)
        assert [len(distributed[m]) for m in ("editions", "commissions", "surveys")] == [1, 1, 1]
        assert {row[1] for row in distributed["audit"]} == {
            "EditionAnnounced",
            "CommissionFormed",
            "SurveyOpened",
        }
        assert {row[4] for row in distributed["audit"]} == {"organiser-1"}  # the actor recorded

        # replay from offset zero of every topic rebuilds exactly the live read models
        topics = [topic_for(s, topic_prefix) for s in ("nominations", "scoring", "survey")]
        reporting = open_store("reporting", system.url("reporting"))
        report = await replay(KafkaSource(kafka_bootstrap, topics), reporting)
        await reporting.close()
        assert report.events == 3 and report.identical, report.differing()

    embedded_settings = Settings()
    async with Embedded(embedded_settings, tmp_path / "embedded") as embedded:
        await Scenario(embedded.clients, embedded_settings, now=now).run(drain=embedded.drain)
        await embedded.drain()
        local = await models_of(embedded.clients["reporting"], embedded_settings)
    assert local == distributed  # same commands, same read models, whatever the transport


def uzdik(*args: str) -> subprocess.CompletedProcess[str]:
    """Embedded: this environment without service addresses."""
    return run_uzdik(*args, timeout=120)


def test_the_demo_runs_then_audit_verify_names_an_altered_event(tmp_path: Path) -> None:
    demo = uzdik("demo", *SMALL_DEMO, "--data-dir", str(tmp_path))
    assert demo.returncode == 0, demo.stderr
    clean = uzdik("audit", "verify", "--data-dir", str(tmp_path))
    assert clean.returncode == 0, clean.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'nominations.db'}")
    with engine.begin() as conn:
        event_id = conn.scalar(sa.text("SELECT event_id FROM events WHERE global_position = 1"))
        conn.execute(
            sa.text(
                "UPDATE events SET payload = replace(payload, '2020', '2021') WHERE global_position = 1"
            )
        )
    engine.dispose()
    tampered = uzdik("audit", "verify", "--data-dir", str(tmp_path))
    assert tampered.returncode == 1
    assert str(event_id) in tampered.stderr + tampered.stdout
    assert "altered" in tampered.stderr + tampered.stdout


def test_replay_in_the_embedded_mode_rebuilds_identical_read_models(tmp_path: Path) -> None:
    import json

    assert uzdik("demo", *SMALL_DEMO, "--data-dir", str(tmp_path)).returncode == 0
    result = uzdik("replay", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["identical"] is True and summary["events"] >= 100
