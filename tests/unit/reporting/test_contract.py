"""The committed contract documents are exactly what the code generates (no drift)."""

from __future__ import annotations

import json

from services.reporting.contract import asyncapi, json_schemas
from tests.conftest import ROOT

DOCS = ROOT / "docs"


def test_committed_json_schemas_match_the_contract_in_code() -> None:
    for name, schema in json_schemas().items():
        committed = json.loads((DOCS / "results" / name).read_text(encoding="utf-8"))
        assert committed == schema, f"docs/results/{name} is stale: run `uzdik docs`"


def test_committed_asyncapi_matches_and_names_every_result_event() -> None:
    generated = asyncapi()
    assert json.loads((DOCS / "asyncapi.json").read_text(encoding="utf-8")) == generated
    channels = " ".join(generated["channels"])
    for event in (
        "NomineesPublished",
        "FinalistsPublished",
        "WinnersAnnounced",
        "ProtocolPublished",
    ):
        assert event in channels
