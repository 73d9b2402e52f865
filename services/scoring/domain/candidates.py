"""Candidates and the facts about them stage I weighs (§12, §14.1–§14.3).

An admitted application (nominations) becomes a CandidateRegistered with its Annex 3
questionnaire score and the §12 tie-break facts (a justified-complaints figure recorded after
the registration follows as CandidateComplaintsRecorded); the survey service's result arrives as
SurveyResultReceived; the ethics commissioner and the commission record the §14.1 and §14.2
assessments of each nominee during the interview stage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from services.scoring.domain.commands import (
    CorrectCandidateQuestionnaire,
    ReceiveSurveyResult,
    RecordCandidateComplaints,
    RecordEthicsResult,
    RecordFeedbackAssessment,
    RegisterCandidate,
)
from services.scoring.domain.commission import ensure_in_scope, ensure_nominated, require_commission
from services.scoring.domain.refusals import refuse, require_text
from services.scoring.domain.stage import ensure_open, ensure_stage_of
from services.scoring.domain.state import Candidate, Scoring
from services.scoring.events import (
    CandidateComplaintsRecorded,
    CandidateNominated,
    CandidateQuestionnaireCorrected,
    CandidateRegistered,
    EthicsResultRecorded,
    FeedbackAssessmentRecorded,
    Stage,
    SurveyResultReceived,
)
from shared.errors import Conflict, ErrorItem, NotFound
from shared.events import Event


def register(state: Scoring, cmd: RegisterCandidate) -> list[Event]:
    """Idempotent: the same admission again appends nothing; a different one is a conflict."""
    event = CandidateRegistered(**vars(cmd))
    known = state.candidates.get(cmd.candidate_id)
    if known is not None:
        if known.registration == event:
            return []
        raise Conflict("candidate_already_registered", f"{cmd.candidate_id} is registered")
    if problems := _registration_problems(state, cmd):
        refuse(problems)
    return [event]


def _registration_problems(state: Scoring, cmd: RegisterCandidate) -> list[ErrorItem]:
    top = state.rules.questionnaire_max
    nested = cmd.rural_district[:4] == cmd.district[:4] and cmd.district[:2] == cmd.region[:2]
    checks = [
        (
            not 0 <= cmd.questionnaire_score <= top,
            ErrorItem("score_out_of_range", f"questionnaire is 0..{top}", "questionnaire_score"),
        ),
        (not nested, ErrorItem("kato_inconsistent", "rural district ⊂ district ⊂ region")),
    ]
    return [item for failed, item in checks if failed]


def correct_questionnaire(state: Scoring, cmd: CorrectCandidateQuestionnaire) -> list[Event]:
    """The secretary's correction of the Annex 3 score (nominations); the same score: nothing."""
    candidate = _known(state, cmd.candidate_id)
    top = state.rules.questionnaire_max
    if not 0 <= cmd.questionnaire_score <= top:
        detail = f"questionnaire is 0..{top}"
        refuse([ErrorItem("score_out_of_range", detail, "questionnaire_score")])
    if cmd.questionnaire_score == candidate.questionnaire_score:
        return []
    reason = require_text(cmd.reason, "reason_required", "say why", "reason")
    return [
        CandidateQuestionnaireCorrected(
            candidate_id=cmd.candidate_id,
            questionnaire_score=cmd.questionnaire_score,
            previous_score=candidate.questionnaire_score,
            reason=reason,
        )
    ]


def record_complaints(state: Scoring, cmd: RecordCandidateComplaints) -> list[Event]:
    """§12 (4): the secretary's figure with its source supersedes the earlier one; the same
    figure from the same source again appends nothing."""
    candidate = _known(state, cmd.candidate_id)
    if cmd.justified_complaints < 0:
        refuse([ErrorItem("complaints_negative", "a count is 0 or more", "count")])
    source = require_text(cmd.source, "complaints_source_required", "name the source", "source")
    latest = candidate.complaints
    if latest is not None and (latest.justified_complaints, latest.source) == (
        cmd.justified_complaints,
        source,
    ):
        return []
    reg = candidate.registration
    if latest is None and (reg.justified_complaints, reg.complaints_source) == (
        cmd.justified_complaints,
        source,
    ):
        return []
    return [
        CandidateComplaintsRecorded(
            candidate_id=cmd.candidate_id,
            justified_complaints=cmd.justified_complaints,
            source=source,
            previous=candidate.justified_complaints,
        )
    ]


def receive_survey(state: Scoring, cmd: ReceiveSurveyResult) -> list[Event]:
    """§14.3: the survey's result; a repeat of the same result appends nothing."""
    candidate = _known(state, cmd.candidate_id)
    if (cmd.mean_total is None) != (cmd.responses == 0):
        refuse([ErrorItem("survey_result_inconsistent", "means exist iff there are responses")])
    event = SurveyResultReceived(**vars(cmd))
    return [] if candidate.survey == event else [event]


def record_ethics(state: Scoring, cmd: RecordEthicsResult) -> list[Event]:
    """§14.1: the ethics commissioner's result, once per nominee, in the interview stage."""
    candidate = _assessable(state, cmd.candidate_id, cmd.score, state.rules.ethics_max)
    ensure_nominated(state, cmd.candidate_id)
    if candidate.ethics is not None:
        raise Conflict("ethics_already_recorded", f"{cmd.candidate_id} has an ethics result")
    commission_id = require_commission(state).commission_id
    return [EthicsResultRecorded(commission_id=commission_id, **vars(cmd))]


def record_feedback(state: Scoring, cmd: RecordFeedbackAssessment) -> list[Event]:
    """§14.2: how the akim keeps in touch with residents, once per candidate.

    Usually taken for nominees before the interview; taken earlier (in the selection stage),
    it is "available" to the §12 tie-break (3) as well.
    """
    candidate = _assessable(state, cmd.candidate_id, cmd.score, state.rules.feedback_max)
    if candidate.feedback is not None:
        raise Conflict("feedback_already_recorded", f"{cmd.candidate_id} has an assessment")
    commission_id = require_commission(state).commission_id
    return [FeedbackAssessmentRecorded(commission_id=commission_id, **vars(cmd))]


def _assessable(state: Scoring, candidate_id: str, score: int, top: int) -> Candidate:
    """In scope, within its scale, and in an open stage: the interview once nominated."""
    ensure_in_scope(state, candidate_id)
    nominated = state.candidates[candidate_id].nomination is not None
    stage: Stage = "stage1_interview" if nominated else "stage1_selection"
    ensure_stage_of(require_commission(state), stage)
    ensure_open(state, stage)
    if not 0 <= score <= top:
        refuse([ErrorItem("score_out_of_range", f"{score} is outside 0..{top}", "score")])
    return state.candidates[candidate_id]


def _known(state: Scoring, candidate_id: str) -> Candidate:
    candidate = state.candidates.get(candidate_id)
    if candidate is None:
        raise NotFound("candidate_unknown", f"{candidate_id} is not registered")
    return candidate


# --- evolve -------------------------------------------------------------------------------


def on_registered(state: Scoring, event: CandidateRegistered) -> Scoring:
    candidates = {**state.candidates, event.candidate_id: Candidate(registration=event)}
    return replace(state, candidates=candidates)


def on_questionnaire_corrected(state: Scoring, event: CandidateQuestionnaireCorrected) -> Scoring:
    score = event.questionnaire_score
    return _update(state, event.candidate_id, lambda c: replace(c, corrected_questionnaire=score))


def on_survey(state: Scoring, event: SurveyResultReceived) -> Scoring:
    return _update(state, event.candidate_id, lambda c: replace(c, survey=event))


def on_ethics(state: Scoring, event: EthicsResultRecorded) -> Scoring:
    return _update(state, event.candidate_id, lambda c: replace(c, ethics=event))


def on_feedback(state: Scoring, event: FeedbackAssessmentRecorded) -> Scoring:
    return _update(state, event.candidate_id, lambda c: replace(c, feedback=event))


def on_complaints(state: Scoring, event: CandidateComplaintsRecorded) -> Scoring:
    return _update(state, event.candidate_id, lambda c: replace(c, complaints=event))


def on_nominated(state: Scoring, event: CandidateNominated) -> Scoring:
    return _update(state, event.candidate_id, lambda c: replace(c, nomination=event))


def _update(state: Scoring, candidate_id: str, change: Callable[[Candidate], Candidate]) -> Scoring:
    candidate = state.candidates.get(candidate_id)
    if candidate is None:  # a fold of a partial log (e.g. the Republican view)
        return state
    return replace(state, candidates={**state.candidates, candidate_id: change(candidate)})
