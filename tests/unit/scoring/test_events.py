"""The public contract: every event registered, JSON round-trips, replay is a pure function."""

from __future__ import annotations

import json

from services.scoring.domain import commands as c
from services.scoring.domain import initial, replay
from services.scoring.domain.protocol import canonical, document
from services.scoring.events import registry
from tests.unit.scoring.builders import EDITION, RURAL, regional_desk, register, score_by, sitting

CONTRACT = {
    "CommissionFormed",
    "MemberReplaced",
    "MemberRecused",
    "CandidateRegistered",
    "CandidateQuestionnaireCorrected",
    "CandidateComplaintsRecorded",
    "SurveyResultReceived",
    "EthicsResultRecorded",
    "FeedbackAssessmentRecorded",
    "SittingOpened",
    "AttendanceRecorded",
    "ScoreRecorded",
    "ScoreCorrected",
    "RankingComputed",
    "CastingVoteRecorded",
    "CandidateNominated",
    "FinalistSelected",
    "NoFinalistRecorded",
    "MaterialsSentToAgency",
    "ProjectDefenceRegistered",
    "WinnersDecided",
    "StageClosed",
    "StageReopened",
    "ProtocolSigned",
    "RegionTrusted",
    "FinalistAdmitted",
    "FinalistHeld",
    "FinalistRefused",
}


def test_every_event_of_the_contract_is_registered_once() -> None:
    assert {t.event_type for t in registry.types()} == CONTRACT


def test_a_nomination_log_survives_json_and_replays_to_the_same_protocol() -> None:
    desk = regional_desk()
    for i, q in enumerate((20, 15, 10, 10)):
        register(desk, f"c{i + 1}", questionnaire=q, rural=RURAL[i], trilingual=i == 2)
    sitting(desk)
    for cid in ("c1", "c2", "c3", "c4"):
        score_by(desk, ("m1", "m2", "m3"), cid, value=7)
    desk.do(c.NominateDistrict(sitting_id="s1", district="103200000"))
    wire = json.dumps([[e.event_type, e.schema_version, e.to_payload()] for e in desk.log])
    rebuilt = replay((registry.decode(t, v, p) for t, v, p in json.loads(wire)), initial())
    assert canonical(document(rebuilt, "s1")) == canonical(document(desk.state, "s1"))
    assert rebuilt == desk.state


def test_a_malformed_value_is_a_422_not_a_crash() -> None:
    desk = regional_desk()
    error = desk.refuse(
        c.RegisterCandidate(
            candidate_id="c1",
            application_id="a1",
            edition_id=EDITION,
            name="Akim",
            rural_district="1032300",
            district="103200000",
            region="100000000",
            questionnaire_score=10,
            implements_complex_projects=False,
            trilingual=False,
            justified_complaints=0,
        )
    )
    assert (error.code, error.status) == ("invalid_value", 422)
    assert error.errors[0].field == "rural_district"
