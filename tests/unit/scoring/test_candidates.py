"""Candidates from nominations: registration facts and the secretary's later correction."""

from __future__ import annotations

from services.scoring.domain import commands as c
from services.scoring.events import CandidateQuestionnaireCorrected
from services.scoring.intake import registration, tie_facts
from tests.unit.scoring.builders import (
    DISTRICT,
    RURAL,
    regional_desk,
    register,
    score_by,
    sitting,
)


def test_a_corrected_questionnaire_score_counts_in_later_rankings() -> None:
    desk = regional_desk()
    register(desk, "c1", questionnaire=10)
    register(desk, "c2", questionnaire=12, rural=RURAL[1])
    (corrected,) = desk.do(c.CorrectCandidateQuestionnaire("c1", 20, "state award missed"))
    assert isinstance(corrected, CandidateQuestionnaireCorrected)
    assert (corrected.previous_score, corrected.questionnaire_score) == (10, 20)
    assert desk.do(c.CorrectCandidateQuestionnaire("c1", 20, "again")) == []  # same: nothing
    sitting(desk)
    for cid in ("c1", "c2"):
        score_by(desk, ("m1", "m2", "m3"), cid, value=5)
    ranking, *_ = desk.do(c.NominateDistrict(sitting_id="s1", district=DISTRICT))
    assert [(e.candidate_id, str(e.total)) for e in ranking.entries] == [  # type: ignore[attr-defined]
        ("c1", "70.0000"),
        ("c2", "62.0000"),
    ]


def test_a_correction_out_of_range_or_for_a_stranger_is_refused() -> None:
    desk = regional_desk()
    register(desk, "c1")
    assert desk.refuse(c.CorrectCandidateQuestionnaire("c1", 30, "x")).code == "score_out_of_range"
    assert desk.refuse(c.CorrectCandidateQuestionnaire("zz", 3, "x")).code == "candidate_unknown"
    assert desk.refuse(c.CorrectCandidateQuestionnaire("c1", 3, " ")).code == "reason_required"


def test_the_tie_break_facts_are_read_from_the_questionnaire() -> None:
    questionnaire = {
        "implements_complex_projects": True,
        "projects": [{"role": "implemented"}, {"role": "developed"}, {"role": "implemented"}],
        "languages": [
            {"language": "state", "level": "fluent"},
            {"language": "russian", "level": "fluent"},
            {"language": "english", "level": "intermediate"},
        ],
        "indicators": {"extra": [{"name": "justified_complaints", "value": 2.0}]},
    }
    assert tie_facts(questionnaire) == {
        "complex_projects": 2,
        "trilingual": False,
        "justified_complaints": 2,
    }
    flagged_only = {"implements_complex_projects": True}
    assert tie_facts(flagged_only)["complex_projects"] == 1
    assert tie_facts({}) == {"complex_projects": 0, "trilingual": False, "justified_complaints": 0}


def test_the_candidate_is_registered_under_its_application_id() -> None:
    doc = {
        "application_id": "a1",
        "edition_id": "e",
        "region": "100000000",
        "district": DISTRICT,
        "rural_district": RURAL[0],
        "score": 17,
        "name": "Akimov Erlan",
        "complex_projects": 1,
        "trilingual": True,
    }
    command = registration(doc)
    assert (command.candidate_id, command.application_id, command.questionnaire_score) == (
        "a1",
        "a1",
        17,
    )
    assert (command.justified_complaints, command.trilingual) == (0, True)
