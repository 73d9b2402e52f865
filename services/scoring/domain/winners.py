"""Stage II — the three winners (§20, §21).

Each finalist's result is the mean of the members' live Annex 7 sheet totals (**Reading** §3:
the set of members who scored may differ between finalists, so the mean ranks, the sum is shown
too; ``ScoringRules.rank_by`` may choose the sum). The best ``ScoringRules.winners`` win; a tie
across the cut-off goes through ``winners_tie_breaks`` (none in 2020) and then to the chair.
With fewer finalists in the field than places (§21), only as many win as there are finalists:
the decision names the places not awarded and why, and the ranking's ``seats_left`` counts them.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from services.scoring.domain import decisions, sheets
from services.scoring.domain.arithmetic import fixed, mean
from services.scoring.domain.commands import DecideWinners
from services.scoring.domain.commission import require_commission
from services.scoring.domain.sitting import working_sitting
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Scoring
from services.scoring.events import Component, RankEntry, RankingComputed, Winner, WinnersDecided
from shared.errors import Conflict
from shared.events import Event


def decide_winners(state: Scoring, cmd: DecideWinners) -> list[Event]:
    """Rank the stage-II field and decide the winners, or leave a tie for the casting vote."""
    ensure_stage_of(require_commission(state), "stage2")
    working_sitting(state, cmd.sitting_id, "stage2")
    decisions.ensure_undecided(state, ("winners", None), "winners_already_decided")
    if not state.defences:
        raise Conflict("no_defences", "no finalist has registered a defence")
    entries = _entries(state)
    totals = {c: e.total for c, e in entries.items()}
    seats, chain = state.rules.winners, state.rules.winners_tie_breaks
    settled = decisions.settle(state, totals, seats, chain)
    ranking = decisions.ranking(state, cmd.sitting_id, "winners", None, entries, seats, settled)
    if ranking.status == "pending_casting_vote":
        return [ranking]
    return [ranking, decided(ranking, cmd.sitting_id, ranking.selected, by_casting_vote=False)]


def result(state: Scoring, candidate_id: str) -> RankEntry | None:
    """Mean and sum of a finalist's live Annex 7 sheets; None before any sheet."""
    totals = sheets.totals(state, candidate_id, "stage2")
    if not totals:
        return None
    places = state.rules.decimals
    by_mean = state.rules.rank_by == "mean"
    average, total = mean(totals, places), fixed(sum(totals), places)
    return RankEntry(
        candidate_id=candidate_id,
        rank=1,
        total=average if by_mean else total,
        components=(
            _shown("stage2_mean", average, by_mean),
            _shown("stage2_sum", total, not by_mean),
        ),
        sheets={"stage2": len(totals)},
        sheet_sums={"stage2": sum(totals)},
    )


def _shown(name: str, value: Decimal, ranked: bool) -> Component:
    weight = Decimal(1 if ranked else 0)
    return Component(
        name=name, value=value, weight=weight, weighted=value if ranked else Decimal(0)
    )


def _entries(state: Scoring) -> dict[str, RankEntry]:
    found = {cid: result(state, cid) for cid in sorted(state.defences)}
    if unscored := [cid for cid, entry in found.items() if entry is None]:
        raise decisions.unscored_error(unscored, "stage2")
    return {cid: entry for cid, entry in found.items() if entry is not None}


def decided(
    ranking: RankingComputed, sitting_id: str, winners: tuple[str, ...], *, by_casting_vote: bool
) -> WinnersDecided:
    """The decision: winners in ranking order, each at its rank (equal totals share a place)."""
    chosen = set(winners)
    field = len(ranking.entries)
    empty = tuple(range(field + 1, ranking.seats + 1))
    reason = (
        f"only {field} finalist(s) defended for {ranking.seats} places (§21)" if empty else None
    )
    return WinnersDecided(
        commission_id=ranking.commission_id,
        sitting_id=sitting_id,
        winners=tuple(_winner(e) for e in ranking.entries if e.candidate_id in chosen),
        by_casting_vote=by_casting_vote,
        places_not_awarded=empty,
        not_awarded_reason=reason,
    )


def _winner(entry: RankEntry) -> Winner:
    return Winner(
        candidate_id=entry.candidate_id,
        place=entry.rank,
        mean=entry.components[0].value,
        sum=entry.sheet_sums["stage2"],
        sheets=entry.sheets["stage2"],
    )


def on_winners(state: Scoring, event: WinnersDecided) -> Scoring:
    return replace(state, winners=event, decided=state.decided | {("winners", None)})
