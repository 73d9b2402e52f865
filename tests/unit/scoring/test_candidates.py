"""Candidates from nominations: registration facts and the secretary's later correction."""

from __future__ import annotations

from services.scoring.domain import commands as c
from services.scoring.events import CandidateComplaintsRecorded, CandidateQuestionnaireCorrected
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


def test_the_tie_break_facts_are_read_from_the_questionnaire_but_not_the_complaints() -> None:
    """§12 (1) is yes/no whatever the number of projects; (4) is not the nominator's figure:
    the questionnaire's ``justified_complaints`` indicator is no longer read (rule of issue 13,
    the assertion changed from the old count and the indicator)."""
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
    assert tie_facts(questionnaire) == {"implements_complex_projects": True, "trilingual": False}
    assert tie_facts({}) == {"implements_complex_projects": False, "trilingual": False}


def test_the_candidate_is_registered_under_its_application_id() -> None:
    doc = {
        "application_id": "a1",
        "edition_id": "e",
        "region": "100000000",
        "district": DISTRICT,
        "rural_district": RURAL[0],
        "score": 17,
        "name": "Akimov Erlan",
        "implements_complex_projects": True,
        "trilingual": True,
    }
    command = registration(doc)
    assert (command.candidate_id, command.application_id, command.questionnaire_score) == (
        "a1",
        "a1",
        17,
    )
    # never recorded by the secretary: unknown, not 0 (issue 13; was 0)
    assert (command.justified_complaints, command.complaints_source) == (None, None)
    assert (command.implements_complex_projects, command.trilingual) == (True, True)


def test_a_complaints_figure_recorded_before_registration_is_registered_with_its_source() -> None:
    doc = {
        "application_id": "a1",
        "edition_id": "e",
        "region": "100000000",
        "district": DISTRICT,
        "rural_district": RURAL[0],
        "score": 17,
        "complex_projects": 3,  # an intake document kept before the change
        "justified_complaints": 2,
        "complaints_source": "akimat register of appeals",
    }
    old_default = registration({**doc, "justified_complaints": 0, "complaints_source": None})
    assert old_default.justified_complaints is None  # 0 without a source: the old default
    command = registration(doc)
    assert command.implements_complex_projects is True
    assert (command.justified_complaints, command.complaints_source) == (
        2,
        "akimat register of appeals",
    )


def test_a_complaints_figure_after_registration_supersedes_and_counts_in_the_tie_break() -> None:
    desk = regional_desk()
    register(desk, "c1", complaints=None)
    (recorded,) = desk.do(c.RecordCandidateComplaints("c1", 3, "akimat register"))
    assert isinstance(recorded, CandidateComplaintsRecorded)
    assert (recorded.previous, recorded.justified_complaints) == (None, 3)
    assert desk.do(c.RecordCandidateComplaints("c1", 3, "akimat register")) == []  # same
    (later,) = desk.do(c.RecordCandidateComplaints("c1", 1, "prosecutor's office"))
    assert (later.previous, desk.state.candidates["c1"].justified_complaints) == (3, 1)  # type: ignore[attr-defined]
    assert desk.refuse(c.RecordCandidateComplaints("c1", 1, " ")).code == (
        "complaints_source_required"
    )
    assert desk.refuse(c.RecordCandidateComplaints("zz", 1, "x")).code == "candidate_unknown"
