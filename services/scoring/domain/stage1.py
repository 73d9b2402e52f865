"""Stage I — regional selection and nomination (§12, §13).

**Reading** §12: stage-I points = Annex 3 questionnaire score + the mean of the members' live
Annex 4 project sheet totals. In each district at most ``ScoringRules.nominees_per_district``
akims with the most points are nominated; a tie across the cut-off goes through the §12
tie-break chain (:mod:`.tiebreak`), and what survives waits for the chair's casting vote
(:mod:`.casting`), after which the nomination completes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from services.scoring.domain import decisions, sheets
from services.scoring.domain.arithmetic import fixed, mean
from services.scoring.domain.commands import NominateDistrict
from services.scoring.domain.commission import require_commission
from services.scoring.domain.sitting import working_sitting
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Candidate, Scoring
from services.scoring.events import CandidateNominated, Component, RankEntry, RankingComputed
from shared.errors import NotFound
from shared.events import Event

Basis = Literal["points", "tie_break", "casting_vote"]


def nominate_district(state: Scoring, cmd: NominateDistrict) -> list[Event]:
    """Rank a district's candidates and nominate the best N (§12), tie-breaks recorded."""
    ensure_stage_of(require_commission(state), "stage1_selection")
    working_sitting(state, cmd.sitting_id, "stage1_selection")
    decisions.ensure_undecided(state, ("nomination", cmd.district), "district_already_nominated")
    entries = {e.candidate_id: e for e in _entries(state, _district(state, cmd.district))}
    seats = state.rules.nominees_per_district
    totals = {c: e.total for c, e in entries.items()}
    chain = state.rules.nomination_tie_breaks
    split, outcome = settled = decisions.settle(state, totals, seats, chain)
    ranking = decisions.ranking(
        state, cmd.sitting_id, "nomination", cmd.district, entries, seats, settled
    )
    chosen: list[tuple[str, Basis]] = [(c, "points") for c in split.selected]
    chosen += [(c, "tie_break") for c in outcome.advanced]
    return [ranking, *(nominated(ranking, cmd.sitting_id, c, basis) for c, basis in chosen)]


def points(state: Scoring, candidate: Candidate) -> RankEntry | None:
    """A candidate's stage-I points, component by component; None before any project sheet."""
    candidate_id = candidate.registration.candidate_id
    totals = sheets.totals(state, candidate_id, "project")
    if not totals:
        return None
    places = state.rules.decimals
    questionnaire = fixed(candidate.questionnaire_score, places)
    project = mean(totals, places)
    return RankEntry(
        candidate_id=candidate_id,
        rank=1,
        total=questionnaire + project,
        components=(_plain("questionnaire", questionnaire), _plain("project_mean", project)),
        sheets={"project": len(totals)},
        sheet_sums={"project": sum(totals)},
    )


def nominated(
    ranking: RankingComputed, sitting_id: str, candidate_id: str, basis: Basis
) -> CandidateNominated:
    """The nomination of one candidate of ``ranking`` (a district's), decided at ``sitting_id``."""
    entry = decisions.entry_of(ranking, candidate_id)
    return CandidateNominated(
        commission_id=ranking.commission_id,
        sitting_id=sitting_id,
        candidate_id=candidate_id,
        district=ranking.scope or "",
        points=entry.total,
        rank=entry.rank,
        basis=basis,
    )


def _plain(name: str, value: Decimal) -> Component:
    return Component(name=name, value=value, weight=Decimal(1), weighted=value)


def _district(state: Scoring, district: str) -> list[Candidate]:
    region = require_commission(state).region
    found = [
        c
        for c in state.candidates.values()
        if c.registration.district == district and c.registration.region == region
    ]
    if not found:
        raise NotFound("district_has_no_candidates", f"no candidate in district {district}")
    return found


def _entries(state: Scoring, candidates: list[Candidate]) -> list[RankEntry]:
    found = [(c.registration.candidate_id, points(state, c)) for c in candidates]
    if unscored := [cid for cid, entry in found if entry is None]:
        raise decisions.unscored_error(unscored, "project")
    return [entry for _, entry in found if entry is not None]
