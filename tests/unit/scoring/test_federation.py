"""The republic's examination of a region's finalist, on the edges a real run rarely meets
(the whole path, with real dossiers altered on their way, is tests/integration/federation)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.scoring.domain.federation import examine
from services.scoring.events import FinalistHeld, FinalistRefused, RegionTrusted, TrustedKey

DEADLINE = datetime(2020, 8, 15, 12, 30, tzinfo=UTC)  # 18:30 in Almaty
KEY = "11" * 32
TRUST = RegionTrusted(
    edition_id="e1",
    region="620000000",
    issuer="https://idp.example.kz/realms/region-620000000",
    commission_id="c1",
    keys=(TrustedKey(role="chair", person_id="p1", public_key=KEY),),
)
DOSSIER = {
    "edition_id": "e1",
    "region": "620000000",
    "issuer": "https://idp.example.kz/realms/region-620000000",
    "candidate": {"candidate_id": "a1", "name": "Akim"},
}


def test_a_late_dossier_that_does_not_verify_is_held_not_refused() -> None:
    """Refused (for good, on both sides) is only a verified finalist: a late arrival that
    proves nothing is held, so nothing unsigned can close a region's way to stage II."""
    late = datetime(2020, 8, 15, 12, 31, tzinfo=UTC)
    found = examine(DOSSIER, TRUST, deadline=DEADLINE, arrived_at=late, seal_problem=None)
    assert isinstance(found, FinalistHeld)
    assert not isinstance(found, FinalistRefused)
    assert [p.code for p in found.problems] == ["dossier_malformed"]


def test_a_dossier_without_its_protocol_is_held_and_says_so() -> None:
    at = datetime(2020, 8, 1, tzinfo=UTC)
    found = examine(DOSSIER, TRUST, deadline=DEADLINE, arrived_at=at, seal_problem=None)
    assert isinstance(found, FinalistHeld)
    assert [p.code for p in found.problems] == ["dossier_malformed"]


def test_an_untrusted_region_and_a_foreign_issuer_are_named() -> None:
    at = datetime(2020, 8, 1, tzinfo=UTC)
    untrusted = examine(DOSSIER, None, deadline=DEADLINE, arrived_at=at, seal_problem=None)
    assert isinstance(untrusted, FinalistHeld)
    assert untrusted.problems[0].code == "region_not_trusted"
    foreign = {**DOSSIER, "issuer": "https://idp.example.kz/realms/elsewhere"}
    found = examine(foreign, TRUST, deadline=DEADLINE, arrived_at=at, seal_problem=None)
    assert isinstance(found, FinalistHeld)
    assert found.problems[0].code == "issuer_unknown"
