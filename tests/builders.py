"""Events other services' tests need as input, built once."""

from __future__ import annotations

from typing import Any

from services.scoring.events import CandidateRegistered


def candidate_registered(candidate_id: str, **fields: Any) -> CandidateRegistered:
    """A registered candidate of a rural district of region 110000000 (fields override)."""
    values: dict[str, Any] = {
        "candidate_id": candidate_id,
        "application_id": "a-1",
        "edition_id": "edition-2020",
        "name": "Akim",
        "rural_district": "111033000",
        "district": "111000000",
        "region": "110000000",
        "questionnaire_score": 20,
        "implements_complex_projects": True,
        "trilingual": True,
        "justified_complaints": 0,
        "complaints_source": "akimat register of appeals",
    }
    return CandidateRegistered(**{**values, **fields})
