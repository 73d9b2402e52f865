"""Stage II — the Republican defence (§19, §20): registration and Annex 7 criterion 12.

A finalist defends a personal project with a budget of at most
``ScoringRules.stage2_budget_max_tenge`` and a talk of at most ``talk_max_seconds``. Criterion
12, "results of the stage-I selection", is filled in on every Annex 7 sheet by
:class:`~services.scoring.domain.edition_figures.Criterion12Rule`; members never enter it.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from services.scoring.domain.arithmetic import round_half_up
from services.scoring.domain.commands import RegisterDefence
from services.scoring.domain.commission import ensure_in_scope, require_commission
from services.scoring.domain.refusals import refuse, require_text
from services.scoring.domain.stage import ensure_open, ensure_stage_of
from services.scoring.domain.state import Scoring
from services.scoring.events import ProjectDefenceRegistered
from shared.errors import Conflict, ErrorItem
from shared.events import Event


def register_defence(state: Scoring, cmd: RegisterDefence) -> list[Event]:
    """§19: budget ≤ max (``budget_over_limit``), talk ≤ max (``talk_too_long``), both 422."""
    commission = require_commission(state)
    ensure_stage_of(commission, "stage2")
    ensure_open(state, "stage2")
    ensure_in_scope(state, cmd.candidate_id)
    if cmd.candidate_id in state.defences:
        raise Conflict("defence_already_registered", f"{cmd.candidate_id} is registered")
    if scoring_started(state):
        raise Conflict("stage2_scoring_started", "the stage-II field is fixed once scoring began")
    title = require_text(cmd.title, "title_required", "name the project", "title")
    if problems := _defence_problems(state, cmd):
        refuse(problems)
    return [
        ProjectDefenceRegistered(
            commission_id=commission.commission_id,
            candidate_id=cmd.candidate_id,
            title=title,
            budget_tenge=cmd.budget_tenge,
            talk_seconds=cmd.talk_seconds,
            mode=cmd.mode,
        )
    ]


def _defence_problems(state: Scoring, cmd: RegisterDefence) -> list[ErrorItem]:
    rules = state.rules
    return [
        *project_budget_problems(cmd.budget_tenge, rules.stage2_budget_max_tenge),
        *defence_talk_problems(cmd.talk_seconds, rules.talk_max_seconds),
    ]


def project_budget_problems(budget_tenge: int, most: int) -> list[ErrorItem]:
    """§19: the personal project's budget is a non-negative sum of at most ``most`` tenge
    (``budget_invalid``, ``budget_over_limit``)."""
    if budget_tenge < 0:
        return [ErrorItem("budget_invalid", "the budget is a non-negative sum", "budget_tenge")]
    if budget_tenge > most:
        detail = f"budget {budget_tenge:,} tenge exceeds {most:,} tenge".replace(",", " ")
        return [ErrorItem("budget_over_limit", detail, "budget_tenge")]
    return []


def defence_talk_problems(talk_seconds: int, most: int) -> list[ErrorItem]:
    """§19: the defence's talk lasts at most ``most`` seconds (``talk_invalid``,
    ``talk_too_long``)."""
    if talk_seconds < 0:
        return [ErrorItem("talk_invalid", "talk length is non-negative", "talk_seconds")]
    if talk_seconds > most:
        detail = f"a talk of {talk_seconds} s exceeds {most} s"
        return [ErrorItem("talk_too_long", detail, "talk_seconds")]
    return []


def ensure_defending(state: Scoring, candidate_id: str) -> None:
    """Annex 7 sheets are given for a registered defence only."""
    if candidate_id not in state.defences:
        raise Conflict("defence_not_registered", f"{candidate_id} has no registered defence")


def scoring_started(state: Scoring) -> bool:
    return any(sheet.event.kind == "stage2" for sheet in state.sheets.values())


def field_totals(state: Scoring) -> dict[str, Fraction]:
    """The regional totals of the stage-II field: finalists with a registered defence."""
    return {
        cid: Fraction(state.finalists[cid].regional_total)
        for cid in state.defences
        if cid in state.finalists
    }


def criterion12(state: Scoring, candidate_id: str, maximum: int) -> int:
    """Reading §20: round_half_up(maximum × T / T_max) over the stage-II field (rules doc)."""
    totals = field_totals(state)
    best = max(totals.values(), default=Fraction(0))
    if best == 0:
        return 0
    return int(round_half_up(maximum * totals[candidate_id] / best, 0))


def on_defence(state: Scoring, event: ProjectDefenceRegistered) -> Scoring:
    return replace(state, defences={**state.defences, event.candidate_id: event})
