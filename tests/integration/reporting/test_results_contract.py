"""Integrators: what reporting publishes on ``<prefix>.results`` is read by a non-Python client
(Debian's kcat) and validates against the committed JSON Schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import jsonschema

from services.scoring.domain.signatures import generate_key_pair, sign_digest
from services.scoring.events import (
    CommissionFormed,
    Person,
    ProtocolSigned,
    Signature,
    Winner,
    WinnersDecided,
)
from shared.events import Actor
from tests.builders import candidate_registered
from tests.conftest import ROOT
from tests.harness import Distributed

ORGANISER = Actor(id="organiser-1", role="organiser")


def kcat_messages(bootstrap: str, topic: str, expect: int) -> list[dict[str, Any]]:
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat, "kcat is needed (scripts/test.sh installs it)"
    got: list[dict[str, Any]] = []
    for _ in range(30):
        run = subprocess.run(
            [
                kcat,
                "-C",
                "-b",
                bootstrap,
                "-t",
                topic,
                "-o",
                "beginning",
                "-e",
                "-q",
                "-f",
                "%s\\n",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        got = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
        if len(got) >= expect:
            return got
    return got


async def test_results_reach_kcat_and_validate_against_the_published_schemas(
    pg_url_factory: Any, kafka_bootstrap: str, topic_prefix: str
) -> None:
    members = tuple(Person(person_id=f"m{i}", name=f"Member {i}") for i in range(1, 10))
    key, public = generate_key_pair()
    digest = "ab" * 32
    async with Distributed(pg_url_factory, kafka_bootstrap, topic_prefix) as system:
        scoring = system.runtimes["scoring"].store
        await scoring.append(
            "commission-rep",
            0,
            [
                CommissionFormed(
                    commission_id="rep",
                    edition_id="e2020",
                    level="republican",
                    region=None,
                    members=members,
                    chair_id="m1",
                    secretary=Person(person_id="s1", name="Secretary"),
                )
            ],
            ORGANISER,
        )
        for n in range(1, 4):
            await scoring.append(
                f"candidate-c{n}",
                0,
                [
                    candidate_registered(
                        f"c{n}", application_id=f"a{n}", edition_id="e2020", name=f"Akim {n}"
                    )
                ],
                ORGANISER,
            )
        await system.settled()  # registered long before the winners, as in any edition
        await scoring.append(
            "commission-rep",
            1,
            [
                WinnersDecided(
                    commission_id="rep",
                    sitting_id="s-final",
                    by_casting_vote=False,
                    winners=tuple(
                        Winner(
                            candidate_id=f"c{n}",
                            place=n,
                            mean=Decimal(100 - n),
                            sum=900 - 9 * n,
                            sheets=9,
                        )
                        for n in range(1, 4)
                    ),
                ),
                ProtocolSigned(
                    commission_id="rep",
                    sitting_id="s-final",
                    digest=digest,
                    signed_at="2020-09-20T18:00:00+06:00",  # type: ignore[arg-type]
                    signatures=(
                        Signature(
                            role="chair",
                            person_id="m1",
                            public_key=public,
                            signature=sign_digest(key, digest),
                        ),
                        Signature(
                            role="secretary",
                            person_id="s1",
                            public_key=public,
                            signature=sign_digest(key, digest),
                        ),
                    ),
                ),
            ],
            ORGANISER,
        )
        await system.settled()
        messages = kcat_messages(kafka_bootstrap, f"{topic_prefix}.results", expect=2)
    by_type = {m["event_type"]: m for m in messages}
    assert set(by_type) == {"WinnersAnnounced", "ProtocolPublished"}
    for message in messages:
        schema = json.loads(
            (
                ROOT
                / "docs"
                / "results"
                / f"{message['event_type']}.v{message['schema_version']}.schema.json"
            ).read_text(encoding="utf-8")
        )
        jsonschema.validate(message, schema)
    winners = by_type["WinnersAnnounced"]["payload"]["winners"]
    assert [(w["place"], w["name"], w["mean"]) for w in winners] == [
        (1, "Akim 1", "99"),
        (2, "Akim 2", "98"),
        (3, "Akim 3", "97"),
    ]
    assert by_type["ProtocolPublished"]["payload"]["digest"] == digest
