"""The edition's deadlines (DOMAIN "Timeline"): a fact of a step is not recorded after it ends.

"An action after its step's deadline is refused with a clear error unless the organiser extends
that deadline." The calendar is the edition's (nominations announces it; an extension is its own
event there). Which step a scoring fact belongs to:

* stage I selection (§12, §13, by 30 June in 2020): project sheets, the nomination ranking,
  nominations and casting votes on them, a feedback assessment taken before the nomination;
* interviews (§14, by 30 July): ethics and feedback of nominees, essay and interview sheets;
  the regional ranking and the finalist (§16), or "no finalist", by the finalists' deadline;
* materials to the Agency (§18, by 15 August 18:30): the region's MaterialsSentToAgency;
* defences (§19, by 20 September): defences registered and Annex 7 sheets. The winners are
  decided *after* the defences (§21), so that decision has no deadline;
* a sitting (its opening and attendance) by the last deadline of its stage (none for stage II).

Signatures, stage closing and reopening, membership and recusals are not bound by the calendar.
Deadlines are exclusive instants: at the deadline it is too late.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from services.scoring.domain.state import Scoring
from services.scoring.events import (
    AttendanceRecorded,
    CandidateNominated,
    CastingVoteRecorded,
    EthicsResultRecorded,
    FeedbackAssessmentRecorded,
    FinalistSelected,
    MaterialsSentToAgency,
    NoFinalistRecorded,
    ProjectDefenceRegistered,
    Purpose,
    RankingComputed,
    ScoreCorrected,
    ScoreRecorded,
    SheetKind,
    SittingOpened,
    Stage,
)
from shared.errors import RuleViolation
from shared.events import Event

Step = Literal["stage_one", "interviews", "finalists", "materials", "defences"]
ALMATY = ZoneInfo("Asia/Almaty")

OF_SHEET: dict[SheetKind, Step] = {
    "project": "stage_one",
    "essay": "interviews",
    "interview": "interviews",
    "stage2": "defences",
}
OF_DECISION: dict[Purpose, Step | None] = {
    "nomination": "stage_one",
    "regional": "finalists",
    "winners": None,
}
OF_SITTING: dict[Stage, Step | None] = {
    "stage1_selection": "stage_one",
    "stage1_interview": "finalists",
    "stage2": None,
}


def step_of(state: Scoring, event: Event) -> Step | None:
    """The calendar step ``event`` belongs to (None: not bound by the calendar)."""
    match event:
        case ScoreRecorded() | ScoreCorrected():
            return OF_SHEET[event.kind]
        case RankingComputed() | CastingVoteRecorded():
            return OF_DECISION[event.purpose]
        case CandidateNominated():
            return "stage_one"
        case FinalistSelected() | NoFinalistRecorded():
            return "finalists"
        case MaterialsSentToAgency():
            return "materials"
        case EthicsResultRecorded():
            return "interviews"
        case FeedbackAssessmentRecorded():
            known = state.candidates.get(event.candidate_id)
            return "interviews" if known and known.nomination else "stage_one"
        case ProjectDefenceRegistered():
            return "defences"
        case SittingOpened():
            return OF_SITTING[event.stage]
        case AttendanceRecorded():
            sitting = state.sittings.get(event.sitting_id)
            return OF_SITTING[sitting.opened.stage] if sitting else None
    return None


def ensure_in_time(
    state: Scoring, events: Sequence[Event], deadlines: Mapping[str, datetime], at: datetime
) -> None:
    """422 ``deadline_passed`` when one of ``events`` belongs to a step that ended by ``at``."""
    for event in events:
        step = step_of(state, event)
        deadline = deadlines.get(step) if step is not None else None
        if deadline is not None and at >= deadline:
            local = deadline.astimezone(ALMATY)
            detail = (
                f"{step} ended at {local:%d.%m.%Y %H:%M} Asia/Almaty; "
                f"{event.event_type} is refused unless the organiser extends the deadline"
            )
            raise RuleViolation("deadline_passed", detail, step=step, deadline=local.isoformat())
