"""Stage I — the regional total and the region's finalist (§14, §15, §16).

**Reading (revised)** §15–§16: the interview sheet is where §15's considerations are weighed,
so the regional ranking is the mean of the members' interview sheet totals. The other components
— stage-I points, essay mean, survey mean (with its number of responses), ethics result,
feedback assessment — are shown beside it line by line with weight 0, not added again. The
weights are edition data (:class:`~services.scoring.domain.edition_figures.RegionalWeights`), so an
edition may still ask for Σ weight × component. A survey with no responses is "no responses"
(value null, count 0), never 0: a weighted survey mean without responses is a missing component.

The commission picks ``ScoringRules.finalists_per_region`` finalist(s), each with an ethics
result recorded (``finalist_ethics_missing``); a pick other than the top of the ranking needs a
written reason (``finalist_reason_required``). A region with no admitted candidate records "no
finalist" with the reason instead (:func:`record_no_finalist`), which lets its stage close.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from services.scoring.domain import decisions, sheets
from services.scoring.domain.arithmetic import fixed, mean, weighted
from services.scoring.domain.commands import RankRegion, RecordNoFinalist, SelectFinalist
from services.scoring.domain.commission import ensure_in_scope, ensure_nominated, require_commission
from services.scoring.domain.refusals import require_text
from services.scoring.domain.sitting import working_sitting
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Candidate, Scoring
from services.scoring.events import (
    Component,
    FinalistSelected,
    NoFinalistRecorded,
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
    if state.no_finalist is not None:
        raise Conflict("no_finalist_recorded", f"region {commission.region} recorded no finalist")
    ensure_in_scope(state, cmd.candidate_id)
    ensure_nominated(state, cmd.candidate_id)
    if state.candidates[cmd.candidate_id].ethics is None:
        detail = f"{cmd.candidate_id} has no ethics result (§14.1) yet"
        raise Conflict("finalist_ethics_missing", detail)
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


def record_no_finalist(state: Scoring, cmd: RecordNoFinalist) -> list[Event]:
    """§16: a region with no admitted candidate records "no finalist" and why; refused while
    the region has a candidate (``region_has_candidates``) or once it has a finalist."""
    commission = require_commission(state)
    ensure_stage_of(commission, "stage1_interview")
    working_sitting(state, cmd.sitting_id, "stage1_interview")
    if state.no_finalist is not None:
        detail = f"region {commission.region} has recorded it"
        raise Conflict("no_finalist_already_recorded", detail)
    if finalists_of(state):
        raise Conflict("finalist_already_selected", f"region {commission.region} has its finalist")
    mine = [c for c in state.candidates.values() if c.registration.region == commission.region]
    if mine:
        nominees = sum(1 for c in mine if c.nomination is not None)
        detail = f"region {commission.region} has {len(mine)} candidate(s), {nominees} nominated"
        raise Conflict("region_has_candidates", detail)
    reason = require_text(cmd.reason, "reason_required", "say why", "reason")
    return [
        NoFinalistRecorded(
            commission_id=commission.commission_id,
            sitting_id=cmd.sitting_id,
            edition_id=commission.edition_id,
            region=commission.region or "",
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
    """Every component, weighted or shown beside; 409 ``components_missing`` naming each
    weighted one missing (a survey without responses has no mean)."""
    places = state.rules.decimals
    lines: list[Component] = []
    missing: list[str] = []
    for name, weight in state.rules.regional_weights.items():
        value = _SOURCES[name](state, candidate)
        if value is None and weight != 0:
            missing.append(name)
            continue
        product = None if value is None else weighted(value, weight, places)
        count = _responses(candidate) if name == "survey_mean" else None
        lines.append(
            Component(name=name, value=value, weight=weight, weighted=product, count=count)
        )
    cid = candidate.registration.candidate_id
    if missing:
        items = [ErrorItem("component_missing", _why(candidate, m), f"{cid}.{m}") for m in missing]
        raise DomainError(
            "components_missing", f"{cid} lacks {', '.join(missing)}", 409, errors=items
        )
    essays, talks = sheets.totals(state, cid, "essay"), sheets.totals(state, cid, "interview")
    return RankEntry(
        candidate_id=cid,
        rank=1,
        total=sum((x.weighted for x in lines if x.weighted is not None), fixed(0, places)),
        components=tuple(lines),
        sheets={"essay": len(essays), "interview": len(talks)},
        sheet_sums={"essay": sum(essays), "interview": sum(talks)},
    )


def _why(c: Candidate, component: str) -> str:
    cid = c.registration.candidate_id
    if component == "survey_mean" and c.survey is not None:
        return f"{cid}: the survey has no responses, so no mean to weigh"
    return f"{cid}: no {component} yet"


def _points(state: Scoring, c: Candidate) -> Decimal | None:
    return c.nomination.points if c.nomination is not None else None


def _survey(state: Scoring, c: Candidate) -> Decimal | None:
    """No survey yet, or a survey nobody answered: no mean ("no responses", never 0)."""
    if c.survey is None or c.survey.mean_total is None:
        return None
    return fixed(c.survey.mean_total, state.rules.decimals)


def _responses(c: Candidate) -> int | None:
    return None if c.survey is None else c.survey.responses


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


def on_no_finalist(state: Scoring, event: NoFinalistRecorded) -> Scoring:
    return replace(state, no_finalist=event)
