"""Stage I — regional selection and nomination (§12, §13).

**Reading** §12: stage-I points = Annex 3 questionnaire score + the mean of the members' live
Annex 4 project sheet totals. In each district at most ``ScoringRules.nominees_per_district``
akims with the most points are nominated; a tie across the cut-off goes through the §12
tie-break chain (:mod:`.tiebreak`), and what survives waits for the chair's casting vote.
"""

from __future__ import annotations

from decimal import Decimal

from services.scoring.domain import sheets
from services.scoring.domain.arithmetic import fixed, mean
from services.scoring.domain.commands import NominateDistrict
from services.scoring.domain.commission import require_commission
from services.scoring.domain.ranking import Cut, cut, order, ranks
from services.scoring.domain.sitting import working_sitting
from services.scoring.domain.stage import ensure_stage_of
from services.scoring.domain.state import Candidate, Scoring
from services.scoring.domain.tiebreak import TieFacts, TieOutcome, break_tie
from services.scoring.events import (
    CandidateNominated,
    Component,
    RankEntry,
    RankingComputed,
)
from shared.errors import Conflict, DomainError, ErrorItem, NotFound
from shared.events import Event


def nominate_district(state: Scoring, cmd: NominateDistrict) -> list[Event]:
    """Rank a district's candidates and nominate the best N (§12), tie-breaks recorded."""
    commission = require_commission(state)
    ensure_stage_of(commission, "stage1_selection")
    working_sitting(state, cmd.sitting_id, "stage1_selection")
    ensure_undecided(state, ("nomination", cmd.district), "district_already_nominated")
    entries = {e.candidate_id: e for e in _entries(state, _district(state, cmd.district))}
    seats = state.rules.nominees_per_district
    split, outcome = settle(state, {c: e.total for c, e in entries.items()}, seats, "nomination")
    ranking = ranking_event(state, cmd.sitting_id, "nomination", cmd.district, entries, seats)
    ranking = with_outcome(ranking, split, outcome)
    basis = [(c, "points") for c in split.selected] + [(c, "tie_break") for c in outcome.advanced]
    return [ranking, *(nominated(ranking, c, b) for c, b in basis)]


def points(state: Scoring, candidate: Candidate) -> RankEntry | None:
    """The stage-I points of a candidate, component by component; None before any sheet."""
    totals = sheets.totals(state, candidate.registration.candidate_id, "project")
    if not totals:
        return None
    places = state.rules.decimals
    questionnaire = fixed(candidate.registration.questionnaire_score, places)
    project = mean(totals, places)
    parts = (_plain("questionnaire", questionnaire), _plain("project_mean", project))
    return RankEntry(
        candidate_id=candidate.registration.candidate_id,
        rank=1,
        total=questionnaire + project,
        components=parts,
        sheets={"project": len(totals)},
        sheet_sums={"project": sum(totals)},
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
    found = [(c, points(state, c)) for c in candidates]
    unscored = [c.registration.candidate_id for c, e in found if e is None]
    if unscored:
        raise unscored_error(unscored, "project")
    return [e for _, e in found if e is not None]


def nominated(ranking: RankingComputed, candidate_id: str, basis: str) -> CandidateNominated:
    entry = next(e for e in ranking.entries if e.candidate_id == candidate_id)
    return CandidateNominated.model_validate(
        {
            "commission_id": ranking.commission_id,
            "sitting_id": ranking.sitting_id,
            "candidate_id": candidate_id,
            "district": ranking.scope,
            "points": entry.total,
            "rank": entry.rank,
            "basis": basis,
        }
    )
