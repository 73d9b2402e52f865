"""What every ranked decision shares: rank, cut, break the tie, or wait for the casting vote.

Used by the nomination (§12), the regional ranking (§16) and the winners (§21). A decision is
keyed by ``(purpose, scope)``; it is either decided, pending the chair's casting vote, or open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from services.scoring.domain.commission import require_commission
from services.scoring.domain.edition_figures import TieBreak
from services.scoring.domain.ranking import Cut, cut, order, ranks
from services.scoring.domain.state import DecisionKey, Pending, Scoring
from services.scoring.domain.tiebreak import TieFacts, TieOutcome, break_tie
from services.scoring.events import CastingVoteRecorded, Purpose, RankEntry, RankingComputed
from shared.errors import Conflict, DomainError, ErrorItem

CASTING_VOTE_DECIDES: frozenset[Purpose] = frozenset({"nomination", "winners"})
"""Decisions taken by the ranking itself, so a surviving tie waits for the chair (§3, §4).
The regional ranking only informs the commission's pick (§16): a tie there is shown, and any of
the tied top may be picked without a reason."""


def ensure_undecided(state: Scoring, key: DecisionKey, code: str) -> None:
    """409 ``casting_vote_pending`` while the chair has to settle a tie; ``code`` once decided."""
    if key in state.pending:
        raise Conflict("casting_vote_pending", f"the {key[0]} waits for the chair's casting vote")
    if key in state.decided:
        raise Conflict(code, f"the {key[0]} is already decided")


def unscored_error(candidate_ids: list[str], kind: str) -> DomainError:
    """409 listing every candidate still without a live sheet of ``kind``."""
    items = [
        ErrorItem("candidate_unscored", f"{c}: no live {kind} sheet", c)
        for c in sorted(candidate_ids)
    ]
    detail = f"{len(items)} candidate(s) have no live {kind} sheet yet"
    return DomainError("candidates_unscored", detail, status=409, errors=items)


def settle(
    state: Scoring, totals: dict[str, Decimal], seats: int, chain: Sequence[TieBreak]
) -> tuple[Cut, TieOutcome]:
    """Cut at ``seats``; run the tie-break ``chain`` on a tie across the cut-off only."""
    split = cut(totals, seats)
    if not split.tied:
        return split, TieOutcome(advanced=(), still_tied=(), seats_left=0)
    return split, break_tie(split.tied, split.seats_left, chain, _facts(state, split.tied))


def _facts(state: Scoring, candidate_ids: tuple[str, ...]) -> dict[str, TieFacts]:
    facts: dict[str, TieFacts] = {}
    for cid in candidate_ids:
        known = state.candidates.get(cid)
        if known is None:  # e.g. the Republican view: facts not folded in = not available
            continue
        reg = known.registration
        feedback = known.feedback.score if known.feedback is not None else None
        facts[cid] = TieFacts(
            reg.implements_complex_projects, reg.trilingual, feedback, known.justified_complaints
        )
    return facts


def ranking(
    state: Scoring,
    sitting_id: str,
    purpose: Purpose,
    scope: str | None,
    entries: dict[str, RankEntry],
    seats: int,
    settled: tuple[Cut, TieOutcome],
) -> RankingComputed:
    """The RankingComputed of ``entries`` (best first, ranks filled in) and its outcome."""
    totals = {c: e.total for c, e in entries.items()}
    rank = ranks(totals)
    split, outcome = settled
    pending = bool(outcome.still_tied) and purpose in CASTING_VOTE_DECIDES
    selected = (*split.selected, *outcome.advanced)
    return RankingComputed(
        commission_id=require_commission(state).commission_id,
        sitting_id=sitting_id,
        purpose=purpose,
        scope=scope,
        entries=tuple(entries[c].model_copy(update={"rank": rank[c]}) for c in order(totals)),
        seats=seats,
        selected=selected,
        tie_break_steps=outcome.steps,
        status="pending_casting_vote" if pending else "complete",
        tied=outcome.still_tied,
        seats_left=seats - len(selected),  # the casting vote's seats, or seats nobody fills
    )


def entry_of(ranking: RankingComputed, candidate_id: str) -> RankEntry:
    return next(e for e in ranking.entries if e.candidate_id == candidate_id)


# --- evolve -------------------------------------------------------------------------------


def on_ranking(state: Scoring, event: RankingComputed) -> Scoring:
    if event.purpose not in CASTING_VOTE_DECIDES:
        return state
    key: DecisionKey = (event.purpose, event.scope)
    if event.status == "pending_casting_vote":
        return replace(state, pending={**state.pending, key: Pending(ranking=event)})
    return replace(state, decided=state.decided | {key})


def on_casting_vote(state: Scoring, event: CastingVoteRecorded) -> Scoring:
    key: DecisionKey = (event.purpose, event.scope)
    pending = {k: v for k, v in state.pending.items() if k != key}
    return replace(state, pending=pending, decided=state.decided | {key})
