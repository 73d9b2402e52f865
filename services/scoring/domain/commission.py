"""The commission (§3, §4, §5): members, chair, secretary, recusals and its scope.

A commission has exactly ``ScoringRules.members_per_commission`` voting members; the chair is
one of them and holds the casting vote; the secretary organises and records but does not vote.
A Regional commission scores only candidates of its region; the Republican one only finalists.

§3/§4 qualifications, checked at formation (and when the chair changes) against the edition's
``ScoringRules.qualifications``: the regional chair is the head or deputy head of the regional
Department, the Republican chair the Agency's deputy chairperson, the Republican secretary an
Agency employee; the chair's and the secretary's positions are required, every position given
must be one the edition knows.
"""

from __future__ import annotations

from dataclasses import replace

from services.scoring.domain.commands import FormCommission, RecuseMember, ReplaceMember
from services.scoring.domain.refusals import refuse, require_text
from services.scoring.domain.state import Commission, Scoring
from services.scoring.events import CommissionFormed, MemberRecused, MemberReplaced, Person
from shared.errors import Conflict, ErrorItem, Forbidden, NotFound
from shared.events import Event

# --- decide -------------------------------------------------------------------------------


def form(state: Scoring, cmd: FormCommission) -> list[Event]:
    """§3/§4: exactly N members, the chair among them, the secretary not a voting member."""
    if state.commission is not None:
        raise Conflict("commission_already_formed", f"{cmd.commission_id} is already formed")
    if problems := [*_formation_problems(state, cmd), *_qualification_problems(state, cmd)]:
        refuse(problems)
    return [
        CommissionFormed(
            commission_id=cmd.commission_id,
            edition_id=cmd.edition_id,
            level=cmd.level,
            region=cmd.region,
            members=cmd.members,
            chair_id=cmd.chair_id,
            secretary=cmd.secretary,
        )
    ]


def _formation_problems(state: Scoring, cmd: FormCommission) -> list[ErrorItem]:
    ids = [m.person_id for m in cmd.members]
    wanted = state.rules.members_per_commission
    checks = [
        (len(ids) != wanted, "commission_size", f"{wanted} members required; {len(ids)} given"),
        (len(set(ids)) != len(ids), "duplicate_member", "a person is listed twice"),
        (cmd.chair_id not in ids, "chair_not_member", "the chair must be a voting member"),
        (cmd.secretary.person_id in ids, "secretary_is_member", "the secretary does not vote"),
        (not _region_fits(cmd), "region_invalid", "a regional commission needs a region KATO"),
    ]
    return [ErrorItem(code, detail) for failed, code, detail in checks if failed]


def _qualification_problems(state: Scoring, cmd: FormCommission) -> list[ErrorItem]:
    """§3/§4: the chair's and the secretary's positions against the edition's lists."""
    rules = state.rules.qualifications
    chair = next((m for m in cmd.members if m.person_id == cmd.chair_id), None)
    problems = [
        ErrorItem("position_unknown", f"{p.person_id}: {p.position!r} is not a known position")
        for p in (*cmd.members, cmd.secretary)
        if p.position is not None and p.position not in rules.positions
    ]
    chairs = rules.regional_chair if cmd.level == "regional" else rules.republican_chair
    secretaries = (
        rules.regional_secretary if cmd.level == "regional" else rules.republican_secretary
    )
    if chair is not None:
        problems += _position_problems("chair", chair, chairs, cmd.level)
    problems += _position_problems("secretary", cmd.secretary, secretaries, cmd.level)
    return problems


def _position_problems(
    role: str, person: Person, allowed: tuple[str, ...], level: str
) -> list[ErrorItem]:
    if person.position is None:
        detail = f"the {level} {role}'s position is required (§3/§4)"
        return [ErrorItem(f"{role}_position_required", detail, f"{role}.position")]
    if allowed and person.position not in allowed:
        detail = f"a {level} {role} is one of {', '.join(allowed)}; not {person.position} (§3/§4)"
        return [ErrorItem(f"{role}_position_not_allowed", detail, f"{role}.position")]
    return []


def _region_fits(cmd: FormCommission) -> bool:
    if cmd.level == "republican":
        return cmd.region is None
    region = cmd.region or ""
    return len(region) == 9 and region.isdigit() and region[2:] == "0000000"


def replace_member(state: Scoring, cmd: ReplaceMember) -> list[Event]:
    """A seat changes hands; the chair's seat needs the new chair named."""
    commission = require_commission(state)
    if cmd.outgoing_id not in commission.member_ids:
        raise NotFound("member_unknown", f"{cmd.outgoing_id} is not a member")
    taken = (*commission.member_ids, commission.secretary.person_id)
    if cmd.incoming.person_id in taken:
        raise Conflict("already_a_member", f"{cmd.incoming.person_id} already sits on it")
    reason = require_text(cmd.reason, "reason_required", "say why", "reason")
    chair = commission.chair_id if cmd.outgoing_id != commission.chair_id else cmd.chair_id
    after = {*commission.member_ids, cmd.incoming.person_id} - {cmd.outgoing_id}
    if chair is None or chair not in after:
        refuse([ErrorItem("chair_not_member", "name a chair among the members", "chair_id")])
    if chair != commission.chair_id:
        _ensure_chair_qualified(state, commission, cmd.incoming, chair)
    return [
        MemberReplaced(
            commission_id=commission.commission_id,
            outgoing_id=cmd.outgoing_id,
            incoming=cmd.incoming,
            reason=reason,
            chair_id=chair,
        )
    ]


def _ensure_chair_qualified(
    state: Scoring, commission: Commission, incoming: Person, chair_id: str
) -> None:
    """§3/§4: a new chair holds a position the edition allows for the chair."""
    people = {m.person_id: m for m in (*commission.members, incoming)}
    rules = state.rules.qualifications
    level = commission.level
    allowed = rules.regional_chair if level == "regional" else rules.republican_chair
    if problems := _position_problems("chair", people[chair_id], allowed, level):
        refuse(problems)


def recuse(state: Scoring, cmd: RecuseMember) -> list[Event]:
    """Reading §3: a member with a conflict of interest gives no sheet for that candidate."""
    commission = require_commission(state)
    ensure_member(commission, cmd.member_id)
    reason = require_text(cmd.reason, "recusal_reason_required", "say why", "reason")
    if (cmd.member_id, cmd.candidate_id) in commission.recusals:
        raise Conflict("already_recused", f"{cmd.member_id} already recused")
    ensure_in_scope(state, cmd.candidate_id)
    return [
        MemberRecused(
            commission_id=commission.commission_id,
            member_id=cmd.member_id,
            candidate_id=cmd.candidate_id,
            reason=reason,
        )
    ]


# --- guards used by every other module ---------------------------------------------------


def require_commission(state: Scoring) -> Commission:
    if state.commission is None:
        raise NotFound("commission_not_found", "the commission is not formed")
    return state.commission


def ensure_member(commission: Commission, person_id: str) -> None:
    """Only voting members score (§3); the secretary is not one."""
    if person_id not in commission.member_ids:
        detail = f"{person_id} is not a voting member of commission {commission.commission_id}"
        raise Forbidden("not_a_member", detail)


def ensure_chair(commission: Commission, person_id: str) -> None:
    if person_id != commission.chair_id:
        raise Forbidden("not_the_chair", "only the chair has the casting vote (§3, §4)")


def ensure_not_recused(commission: Commission, member_id: str, candidate_id: str) -> None:
    if (member_id, candidate_id) in commission.recusals:
        raise Forbidden("member_recused", f"{member_id} recused from {candidate_id}")


def ensure_in_scope(state: Scoring, candidate_id: str) -> None:
    """A Regional commission: its region's candidates; the Republican: the finalists."""
    commission = require_commission(state)
    if commission.level == "republican":
        if candidate_id not in state.finalists:
            raise Forbidden("candidate_out_of_scope", f"{candidate_id} is not a finalist")
        return
    candidate = state.candidates.get(candidate_id)
    if candidate is None:
        raise NotFound("candidate_unknown", f"{candidate_id} is not registered")
    if candidate.registration.region != commission.region:
        detail = (
            f"{candidate_id} is of region {candidate.registration.region}, not {commission.region}"
        )
        raise Forbidden("candidate_out_of_scope", detail)


def ensure_nominated(state: Scoring, candidate_id: str) -> None:
    """§14: only the district's nominees go on to the assessments and the interview."""
    candidate = state.candidates.get(candidate_id)
    if candidate is None or candidate.nomination is None:
        raise Conflict("candidate_not_nominated", f"{candidate_id} was not nominated (§12)")


# --- evolve -------------------------------------------------------------------------------


def on_formed(state: Scoring, event: CommissionFormed) -> Scoring:
    commission = Commission(
        commission_id=event.commission_id,
        edition_id=event.edition_id,
        level=event.level,
        region=event.region,
        members=event.members,
        chair_id=event.chair_id,
        secretary=event.secretary,
    )
    return replace(state, commission=commission)


def on_replaced(state: Scoring, event: MemberReplaced) -> Scoring:
    commission = require_commission(state)
    members = tuple(
        event.incoming if m.person_id == event.outgoing_id else m for m in commission.members
    )
    return replace(state, commission=replace(commission, members=members, chair_id=event.chair_id))


def on_recused(state: Scoring, event: MemberRecused) -> Scoring:
    commission = require_commission(state)
    recusals = {**commission.recusals, (event.member_id, event.candidate_id): event.reason}
    return replace(state, commission=replace(commission, recusals=recusals))
