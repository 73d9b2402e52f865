"""Stages (этапы): which commission runs which, and closing freezes one ("What must hold").

After StageClosed nothing in that stage changes — no sitting, attendance, sheet, assessment or
decision — until a StageReopened, which is its own event and names its reason.
"""

from __future__ import annotations

from dataclasses import replace

from services.scoring.domain.commands import CloseStage, ReopenStage
from services.scoring.domain.commission import require_commission
from services.scoring.domain.refusals import require_text
from services.scoring.domain.state import Commission, Scoring
from services.scoring.events import Level, Purpose, Stage, StageClosed, StageReopened
from shared.errors import Conflict, RuleViolation
from shared.events import Event

STAGES_OF: dict[Level, tuple[Stage, ...]] = {
    "regional": ("stage1_selection", "stage1_interview"),  # §2.1, §12–§16
    "republican": ("stage2",),  # §2.2, §19–§21
}

STAGE_OF_DECISION: dict[Purpose, Stage] = {
    "nomination": "stage1_selection",
    "regional": "stage1_interview",
    "winners": "stage2",
}


def ensure_stage_of(commission: Commission, stage: Stage) -> None:
    """§2: Regional commissions run stage I, the Republican commission stage II."""
    if stage not in STAGES_OF[commission.level]:
        detail = f"a {commission.level} commission does not run {stage}"
        raise RuleViolation("stage_not_of_commission", detail)


def ensure_open(state: Scoring, stage: Stage) -> None:
    """Refuse any change to a closed stage (409 ``stage_closed``)."""
    if stage in state.closed:
        raise Conflict("stage_closed", f"{stage} is closed; it changes only after a reopening")


def close(state: Scoring, cmd: CloseStage) -> list[Event]:
    """Freeze a stage; a tie still waiting for the casting vote must be settled first."""
    commission = require_commission(state)
    ensure_stage_of(commission, cmd.stage)
    ensure_open(state, cmd.stage)
    waiting = [key for key in state.pending if STAGE_OF_DECISION[key[0]] == cmd.stage]
    if waiting:
        raise Conflict("casting_vote_pending", f"a tie waits for the chair: {waiting[0]}")
    if cmd.stage == "stage1_interview":
        _ensure_finalists(state, commission)
    return [StageClosed(commission_id=commission.commission_id, stage=cmd.stage, closed_at=cmd.at)]


def _ensure_finalists(state: Scoring, commission: Commission) -> None:
    """§16: exactly ``finalists_per_region`` finalists before the interview stage closes, or
    the recorded decision that the region has none (no admitted candidate)."""
    if state.no_finalist is not None:
        return
    picked = sum(1 for f in state.finalists.values() if f.region == commission.region)
    wanted = state.rules.finalists_per_region
    if picked != wanted:
        raise Conflict("finalist_not_selected", f"{picked} of {wanted} finalist(s) selected")


def reopen(state: Scoring, cmd: ReopenStage) -> list[Event]:
    """Reopening is a decision of its own and must say why."""
    commission = require_commission(state)
    if cmd.stage not in state.closed:
        raise Conflict("stage_not_closed", f"{cmd.stage} is open")
    reason = require_text(cmd.reason, "reopen_reason_required", "say why", "reason")
    return [
        StageReopened(
            commission_id=commission.commission_id,
            stage=cmd.stage,
            reason=reason,
            reopened_at=cmd.at,
        )
    ]


def on_closed(state: Scoring, event: StageClosed) -> Scoring:
    return replace(state, closed=state.closed | {event.stage})


def on_reopened(state: Scoring, event: StageReopened) -> Scoring:
    return replace(state, closed=state.closed - {event.stage})
