"""The chair's casting vote (§3, §4: "the chair's vote is decisive") on a surviving tie.

Only a tie that a ranked decision left pending can be settled; only the chair, present at a
quorate sitting of the same stage, casts it; the chair picks exactly as many of the tied
candidates as there are seats left. The vote is recorded, then the decision completes.
"""

from __future__ import annotations

from services.scoring.domain import stage1, winners
from services.scoring.domain.commands import CastCastingVote
from services.scoring.domain.commission import ensure_chair, require_commission
from services.scoring.domain.refusals import refuse
from services.scoring.domain.sitting import ensure_present, working_sitting
from services.scoring.domain.stage import STAGE_OF_DECISION
from services.scoring.domain.state import Scoring
from services.scoring.events import CastingVoteRecorded, RankingComputed
from shared.errors import Conflict, ErrorItem
from shared.events import Event


def cast(state: Scoring, cmd: CastCastingVote) -> list[Event]:
    """The chair settles a tie the ranking left pending (§3, §4): refused unless a tie of this
    purpose and scope waits (``no_pending_tie``), the voter is the commission's chair present
    at a quorate sitting of the decision's stage, and ``chosen`` names exactly the seats left
    among the tied (``casting_vote_invalid``). Returns CastingVoteRecorded, then the decision
    it completes: the nominations of a district (stage I) or the winners (stage II)."""
    commission = require_commission(state)
    ensure_chair(commission, cmd.chair_id)
    pending = state.pending.get((cmd.purpose, cmd.scope))
    if pending is None:
        raise Conflict("no_pending_tie", f"no {cmd.purpose} tie waits for a casting vote")
    sitting = working_sitting(state, cmd.sitting_id, STAGE_OF_DECISION[cmd.purpose])
    ensure_present(sitting, cmd.chair_id)
    tie = pending.ranking
    _ensure_valid_choice(tie, cmd.chosen)
    vote = CastingVoteRecorded(
        commission_id=commission.commission_id,
        sitting_id=cmd.sitting_id,
        purpose=cmd.purpose,
        scope=cmd.scope,
        chair_id=cmd.chair_id,
        tied=tie.tied,
        seats_left=tie.seats_left,
        chosen=cmd.chosen,
    )
    return [vote, *_completion(tie, cmd)]


def _ensure_valid_choice(tie: RankingComputed, chosen: tuple[str, ...]) -> None:
    """Exactly ``seats_left`` distinct candidates, all among the tied."""
    strangers = [c for c in chosen if c not in tie.tied]
    if strangers or len(set(chosen)) != len(chosen) or len(chosen) != tie.seats_left:
        detail = f"choose exactly {tie.seats_left} of {', '.join(tie.tied)}"
        refuse([ErrorItem("casting_vote_invalid", detail, "chosen")])


def _completion(tie: RankingComputed, cmd: CastCastingVote) -> list[Event]:
    if cmd.purpose == "nomination":
        return [stage1.nominated(tie, cmd.sitting_id, c, "casting_vote") for c in cmd.chosen]
    everyone = (*tie.selected, *cmd.chosen)
    return [winners.decided(tie, cmd.sitting_id, everyone, by_casting_vote=True)]
