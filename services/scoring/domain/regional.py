"""Stage I — the regional total and the region's finalist (§14, §15, §16).

**Reading** §15–§16: the regional total is Σ weight × component over the stage-I points, the
survey mean, the essay mean, the interview mean, the feedback assessment and the ethics result
(weights: :class:`~services.scoring.domain.rules.RegionalWeights`), shown line by line. The
commission picks ``ScoringRules.finalists_per_region`` finalist(s); a pick other than the top
of the ranking needs a written reason (``finalist_reason_required``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from services.scoring.domain import decisions, sheets
from services.scoring.domain.arithmetic import fixed, mean, weighted
from services.scoring.domain.commands import RankRegion, SelectFinalist
from services.scoring.domain.commission import ensure_in_scope, ensure_nominated, require_commission
from services.scoring.domain.sitting import working_sitting
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Candidate, Scoring
from services.scoring.events import (
    Component,
    FinalistSelected,
    RankEntry,
    RankingComputed,
    SheetKind,
)
from shared.errors import Conflict, DomainError, ErrorItem, RuleViolation
from shared.events import Event

Source = Callable[[Scoring, Candidate], Decimal | None]


def rank_region(state: Scoring, cmd: RankRegion) -> list[Event]:
    """The region's ranking of its nominees, for the protocol and the commission's pick."""
    ensure_stage_of(require_commission(state), "stage1_interview")
    working_sitting(state, cmd.sitting_id, "stage1_interview")
    return [_ranking(state, cmd.sitting_id, _unpicked(state))]


def select_finalist(state: Scoring, cmd: SelectFinalist) -> list[Event]:
    """§16: the region's finalist; departing from the ranking needs a written reason."""
    commission = require_commission(state)
    ensure_stage_of(commission, "stage1_interview")
    working_sitting(state, cmd.sitting_id, "stage1_interview")
    if len(finalists_of(state)) >= state.rules.finalists_per_region:
        raise Conflict("finalist_already_selected", f"region {commission.region} has its finalist")
    ensure_in_scope(state, cmd.candidate_id)
    ensure_nominated(state, cmd.candidate_id)
    ranking = _ranking(state, cmd.sitting_id, _unpicked(state))
    top = tuple(e.candidate_id for e in ranking.entries if e.rank == 1)
    entry = decisions.entry_of(ranking, cmd.candidate_id)
    reason = (cmd.reason or "").strip() or None
    if cmd.candidate_id not in top and reason is None:
        detail = (
            f"{cmd.candidate_id} is ranked {entry.rank}; the ranking puts {', '.join(top)} first"
        )
        item = ErrorItem("finalist_reason_required", "give the written reason", "reason")
        raise RuleViolation("finalist_reason_required", detail, errors=[item])
    return [
        FinalistSelected(
            commission_id=commission.commission_id,
            sitting_id=cmd.sitting_id,
            edition_id=commission.edition_id,
            region=commission.region or "",
            candidate_id=cmd.candidate_id,
            regional_total=entry.total,
            components=entry.components,
            rank=entry.rank,
            top=top,
            reason=reason,
        )
    ]


def finalists_of(state: Scoring) -> list[FinalistSelected]:
    region = require_commission(state).region
    return [f for f in state.finalists.values() if f.region == region]


def _unpicked(state: Scoring) -> list[Candidate]:
    """The region's nominees not yet picked (with several finalists, the next pick's field)."""
    region = require_commission(state).region
    return [
        c
        for cid, c in sorted(state.candidates.items())
        if c.nomination is not None
        and c.registration.region == region
        and cid not in state.finalists
    ]


def _ranking(state: Scoring, sitting_id: str, field: list[Candidate]) -> RankingComputed:
    entries = {c.registration.candidate_id: regional_total(state, c) for c in field}
    totals = {c: e.total for c, e in entries.items()}
    seats = state.rules.finalists_per_region
    settled = decisions.settle(state, totals, seats, ())
    region = require_commission(state).region
    return decisions.ranking(state, sitting_id, "regional", region, entries, seats, settled)


def regional_total(state: Scoring, candidate: Candidate) -> RankEntry:
    """Every weighted component, or 409 ``components_missing`` naming each one missing."""
    places = state.rules.decimals
    lines: list[Component] = []
    missing: list[str] = []
    for name, weight in state.rules.regional_weights.items():
        value = _SOURCES[name](state, candidate)
        if value is None and weight != 0:
            missing.append(name)
        elif value is not None:
            product = weighted(value, weight, places)
            lines.append(Component(name=name, value=value, weight=weight, weighted=product))
    cid = candidate.registration.candidate_id
    if missing:
        items = [
            ErrorItem("component_missing", f"{cid}: no {m} yet", f"{cid}.{m}") for m in missing
        ]
        raise DomainError(
            "components_missing", f"{cid} lacks {', '.join(missing)}", 409, errors=items
        )
    essays, talks = sheets.totals(state, cid, "essay"), sheets.totals(state, cid, "interview")
    return RankEntry(
        candidate_id=cid,
        rank=1,
        total=sum((line.weighted for line in lines), fixed(0, places)),
        components=tuple(lines),
        sheets={"essay": len(essays), "interview": len(talks)},
        sheet_sums={"essay": sum(essays), "interview": sum(talks)},
    )


def _points(state: Scoring, c: Candidate) -> Decimal | None:
    return c.nomination.points if c.nomination is not None else None


def _survey(state: Scoring, c: Candidate) -> Decimal | None:
    """No survey yet = missing; a survey without responses = 0 (no one rated the akim)."""
    if c.survey is None:
        return None
    return fixed(c.survey.mean_total or 0, state.rules.decimals)


def _sheet_mean(kind: SheetKind) -> Source:
    def source(state: Scoring, c: Candidate) -> Decimal | None:
        totals = sheets.totals(state, c.registration.candidate_id, kind)
        return mean(totals, state.rules.decimals) if totals else None

    return source


def _assessment(attribute: str) -> Source:
    def source(state: Scoring, c: Candidate) -> Decimal | None:
        found = getattr(c, attribute)
        return None if found is None else fixed(found.score, state.rules.decimals)

    return source


_SOURCES: dict[str, Source] = {
    "stage1_points": _points,
    "survey_mean": _survey,
    "essay_mean": _sheet_mean("essay"),
    "interview_mean": _sheet_mean("interview"),
    "feedback": _assessment("feedback"),
    "ethics": _assessment("ethics"),
}


def on_finalist(state: Scoring, event: FinalistSelected) -> Scoring:
    return replace(state, finalists={**state.finalists, event.candidate_id: event})
