"""``decide(state, command) -> events`` and ``evolve(state, event) -> state`` for scoring.

The two entry points of the pure domain. Each command goes to the module named after its rule;
each event folds through the module that owns it, and every event that carries a
``sitting_id`` is also appended to that sitting's protocol record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import reduce
from typing import Any

from pydantic import ValidationError

from services.scoring import events as ev
from services.scoring.domain import (
    candidates,
    casting,
    commission,
    decisions,
    materials,
    protocol,
    regional,
    sheets,
    sitting,
    stage,
    stage1,
    stage2,
    winners,
)
from services.scoring.domain import commands as cmd
from services.scoring.domain.refusals import refuse
from services.scoring.domain.state import Scoring
from shared.errors import ErrorItem
from shared.events import Event

_Decider = Callable[[Scoring, Any], list[Event]]
_Evolver = Callable[[Scoring, Any], Scoring]

_DECIDERS: dict[type, _Decider] = {
    cmd.FormCommission: commission.form,
    cmd.ReplaceMember: commission.replace_member,
    cmd.RecuseMember: commission.recuse,
    cmd.RegisterCandidate: candidates.register,
    cmd.RecordCandidateComplaints: candidates.record_complaints,
    cmd.CorrectCandidateQuestionnaire: candidates.correct_questionnaire,
    cmd.ReceiveSurveyResult: candidates.receive_survey,
    cmd.RecordEthicsResult: candidates.record_ethics,
    cmd.RecordFeedbackAssessment: candidates.record_feedback,
    cmd.OpenSitting: sitting.open_sitting,
    cmd.RecordAttendance: sitting.record_attendance,
    cmd.RecordScore: sheets.record_score,
    cmd.CorrectScore: sheets.correct_score,
    cmd.NominateDistrict: stage1.nominate_district,
    cmd.CastCastingVote: casting.cast,
    cmd.RankRegion: regional.rank_region,
    cmd.SelectFinalist: regional.select_finalist,
    cmd.RecordNoFinalist: regional.record_no_finalist,
    cmd.SendMaterials: materials.send_materials,
    cmd.RegisterDefence: stage2.register_defence,
    cmd.DecideWinners: winners.decide_winners,
    cmd.CloseStage: stage.close,
    cmd.ReopenStage: stage.reopen,
    cmd.SignProtocol: protocol.sign_protocol,
}

_EVOLVERS: dict[type[Event], _Evolver] = {
    ev.CommissionFormed: commission.on_formed,
    ev.MemberReplaced: commission.on_replaced,
    ev.MemberRecused: commission.on_recused,
    ev.CandidateRegistered: candidates.on_registered,
    ev.CandidateComplaintsRecorded: candidates.on_complaints,
    ev.CandidateQuestionnaireCorrected: candidates.on_questionnaire_corrected,
    ev.SurveyResultReceived: candidates.on_survey,
    ev.EthicsResultRecorded: candidates.on_ethics,
    ev.FeedbackAssessmentRecorded: candidates.on_feedback,
    ev.CandidateNominated: candidates.on_nominated,
    ev.SittingOpened: sitting.on_opened,
    ev.AttendanceRecorded: sitting.on_attendance,
    ev.ProtocolSigned: sitting.on_signed,
    ev.ScoreRecorded: sheets.on_sheet,
    ev.ScoreCorrected: sheets.on_sheet,
    ev.RankingComputed: decisions.on_ranking,
    ev.CastingVoteRecorded: decisions.on_casting_vote,
    ev.FinalistSelected: regional.on_finalist,
    ev.NoFinalistRecorded: regional.on_no_finalist,
    ev.MaterialsSentToAgency: materials.on_sent,
    ev.ProjectDefenceRegistered: stage2.on_defence,
    ev.WinnersDecided: winners.on_winners,
    ev.StageClosed: stage.on_closed,
    ev.StageReopened: stage.on_reopened,
}


def decide(state: Scoring, command: cmd.Command) -> list[Event]:
    """The events ``command`` causes, or a :class:`shared.errors.DomainError` refusing it."""
    decider = _DECIDERS.get(type(command))
    if decider is None:
        raise TypeError(f"not a scoring command: {type(command).__name__}")
    try:
        return decider(state, command)
    except ValidationError as error:  # a malformed value reached an event: 422, never 500
        refuse([_item(e) for e in error.errors()])


def _item(error: Any) -> ErrorItem:
    field = ".".join(str(part) for part in error.get("loc", ()))
    return ErrorItem("invalid_value", str(error.get("msg", "invalid value")), field or None)


def evolve(state: Scoring, event: Event) -> Scoring:
    """The state after ``event``; total over every scoring event, never refuses."""
    handler = _EVOLVERS.get(type(event))
    after = handler(state, event) if handler is not None else state
    return sitting.on_record(after, event)


def replay(events: Iterable[Event], state: Scoring) -> Scoring:
    """Fold ``events`` (in log order) into ``state``."""
    return reduce(evolve, events, state)
