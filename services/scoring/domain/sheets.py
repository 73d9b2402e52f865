"""Evaluation sheets (оценочные листы): record, correct, and the live sheets of a candidate.

"What must hold": every score is 0..max, by a member of the commission, present at a quorate
sitting, for a candidate of its scope, before the stage is closed. A member has one live sheet
per candidate and kind (so per stage); a second record is ``sheet_already_recorded`` — a
correction supersedes the live sheet with a reason, and both stay in the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.scoring.domain import commission as board
from services.scoring.domain import prerequisites, stage2
from services.scoring.domain import sitting as sittings
from services.scoring.domain.commands import CorrectScore, RecordScore
from services.scoring.domain.refusals import require_text
from services.scoring.domain.rubrics import Rubric, validate_entered
from services.scoring.domain.stage import ensure_open
from services.scoring.domain.state import Scoring, Sheet, SheetEvent
from services.scoring.events import ScoreCorrected, ScoreRecorded, SheetKind
from shared.errors import Conflict, Forbidden, NotFound, RuleViolation
from shared.events import Event


def record_score(state: Scoring, cmd: RecordScore) -> list[Event]:
    rubric = _admissible(state, cmd.sitting_id, cmd.member_id, cmd.candidate_id, cmd.kind)
    live = state.live.get((cmd.member_id, cmd.candidate_id, cmd.kind))
    if live is not None:
        detail = f"{cmd.member_id} already has sheet {live} for {cmd.candidate_id}; correct it"
        raise Conflict("sheet_already_recorded", detail, live_sheet_id=live)
    _ensure_new_id(state, cmd.sheet_id)
    scores, derived = _complete(state, rubric, cmd.candidate_id, cmd.scores)
    return [
        ScoreRecorded(
            commission_id=board.require_commission(state).commission_id,
            sheet_id=cmd.sheet_id,
            sitting_id=cmd.sitting_id,
            member_id=cmd.member_id,
            candidate_id=cmd.candidate_id,
            kind=cmd.kind,
            scores=scores,
            derived=derived,
            total=sum(scores.values()),
        )
    ]


def correct_score(state: Scoring, cmd: CorrectScore) -> list[Event]:
    """A new sheet supersedes the member's live one; the reason is required."""
    old = _live_sheet(state, cmd.supersedes, cmd.member_id)
    reason = require_text(cmd.reason, "correction_reason_required", "say why", "reason")
    rubric = _admissible(state, cmd.sitting_id, cmd.member_id, old.candidate_id, old.kind)
    _ensure_new_id(state, cmd.sheet_id)
    scores, derived = _complete(state, rubric, old.candidate_id, cmd.scores)
    return [
        ScoreCorrected(
            commission_id=old.commission_id,
            sheet_id=cmd.sheet_id,
            supersedes=cmd.supersedes,
            sitting_id=cmd.sitting_id,
            member_id=cmd.member_id,
            candidate_id=old.candidate_id,
            kind=old.kind,
            scores=scores,
            derived=derived,
            total=sum(scores.values()),
            reason=reason,
        )
    ]


def _admissible(
    state: Scoring, sitting_id: str, member_id: str, candidate_id: str, kind: SheetKind
) -> Rubric:
    """Every guard of "What must hold", in the order a secretary would explain them."""
    commission = board.require_commission(state)
    rubric = _rubric(state, kind)
    sitting = sittings.require_sitting(state, sitting_id)
    if sitting.opened.stage != rubric.stage:
        raise RuleViolation("sheet_not_of_stage", f"a {kind} sheet belongs to {rubric.stage}")
    ensure_open(state, rubric.stage)
    sittings.ensure_unsealed(sitting)
    board.ensure_member(commission, member_id)
    sittings.ensure_quorate(sitting)
    sittings.ensure_present(sitting, member_id)
    board.ensure_in_scope(state, candidate_id)
    _ensure_stage_scope(state, candidate_id, kind)
    board.ensure_not_recused(commission, member_id, candidate_id)
    return rubric


def _rubric(state: Scoring, kind: SheetKind) -> Rubric:
    try:
        return state.rubrics.of(kind)
    except KeyError:
        raise RuleViolation("sheet_kind_unknown", f"the edition has no {kind} sheet") from None


def _ensure_stage_scope(state: Scoring, candidate_id: str, kind: SheetKind) -> None:
    """Interview-stage sheets are for nominees (§14), interview sheets once the §14 assessments
    are recorded; Annex 7 sheets for defences (§19)."""
    if kind in ("essay", "interview"):
        board.ensure_nominated(state, candidate_id)
    if kind == "interview":
        prerequisites.ensure_ready_for_interview(state, candidate_id)
    if kind == "stage2":
        stage2.ensure_defending(state, candidate_id)


def _complete(
    state: Scoring, rubric: Rubric, candidate_id: str, entered: Mapping[str, int]
) -> tuple[dict[str, int], tuple[str, ...]]:
    """Validate what the member entered, then fill in the derived criteria."""
    validate_entered(rubric, entered, state.rules.criterion_max)
    scores = {c.key: entered[c.key] for c in rubric.entered}
    for criterion in rubric.derived:
        if criterion.key != state.rules.criterion12.criterion:
            raise RuleViolation("derived_rule_missing", f"no rule fills in {criterion.key}")
        top = criterion.maximum(state.rules.criterion_max)
        scores[criterion.key] = stage2.criterion12(state, candidate_id, top)
    return scores, tuple(c.key for c in rubric.derived)


def _live_sheet(state: Scoring, sheet_id: str, member_id: str) -> SheetEvent:
    sheet = state.sheets.get(sheet_id)
    if sheet is None:
        raise NotFound("sheet_unknown", f"no sheet {sheet_id}")
    if sheet.superseded_by is not None:
        detail = f"{sheet_id} was superseded by {sheet.superseded_by}; correct the live sheet"
        raise Conflict("sheet_superseded", detail)
    if sheet.event.member_id != member_id:
        raise Forbidden("not_sheet_owner", "only the member who gave a sheet corrects it")
    return sheet.event


def _ensure_new_id(state: Scoring, sheet_id: str) -> None:
    if sheet_id in state.sheets:
        raise Conflict("sheet_id_taken", f"sheet {sheet_id} exists")


# --- queries ------------------------------------------------------------------------------


def live_sheets(state: Scoring, candidate_id: str, kind: SheetKind) -> tuple[SheetEvent, ...]:
    """The live sheets for a candidate, in the order of the commission's members."""
    found = [
        state.sheets[sheet_id].event
        for (member, candidate, k), sheet_id in state.live.items()
        if candidate == candidate_id and k == kind
    ]
    order = {m: i for i, m in enumerate(board.require_commission(state).member_ids)}
    return tuple(sorted(found, key=lambda e: (order.get(e.member_id, len(order)), e.member_id)))


def totals(state: Scoring, candidate_id: str, kind: SheetKind) -> tuple[int, ...]:
    return tuple(e.total for e in live_sheets(state, candidate_id, kind))


# --- evolve -------------------------------------------------------------------------------


def on_sheet(state: Scoring, event: SheetEvent) -> Scoring:
    sheets = dict(state.sheets)
    if isinstance(event, ScoreCorrected) and event.supersedes in sheets:
        sheets[event.supersedes] = replace(sheets[event.supersedes], superseded_by=event.sheet_id)
    sheets[event.sheet_id] = Sheet(event=event)
    live = {**state.live, (event.member_id, event.candidate_id, event.kind): event.sheet_id}
    return replace(state, sheets=sheets, live=live)
