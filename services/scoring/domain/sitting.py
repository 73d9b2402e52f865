"""Sittings (заседания), attendance and the quorum (§3, §4).

A sitting is quorate only when at least ``ScoringRules.quorum`` of the members are present
(2/3: 6 of 9). No score or decision of a non-quorate sitting counts, so none is accepted; only a
member recorded present gives a sheet. Once its protocol is signed, a sitting is sealed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from services.scoring.domain.commands import OpenSitting, RecordAttendance
from services.scoring.domain.commission import require_commission
from services.scoring.domain.edition_figures import ScoringRules
from services.scoring.domain.refusals import refuse, require_text
from services.scoring.domain.stage import ensure_open, ensure_stage_of
from services.scoring.domain.state import Scoring, Sitting
from services.scoring.events import AttendanceRecorded, ProtocolSigned, SittingOpened, Stage
from shared.errors import Conflict, ErrorItem, NotFound, RuleViolation
from shared.events import Event

_Change = Callable[[Sitting], Sitting]


def open_sitting(state: Scoring, cmd: OpenSitting) -> list[Event]:
    commission = require_commission(state)
    ensure_stage_of(commission, cmd.stage)
    ensure_open(state, cmd.stage)
    if cmd.sitting_id in state.sittings:
        raise Conflict("sitting_already_opened", f"sitting {cmd.sitting_id} exists")
    purpose = require_text(
        cmd.purpose, "purpose_required", "say what the sitting is for", "purpose"
    )
    purpose_kk = None
    if cmd.purpose_kk is not None:
        purpose_kk = require_text(
            cmd.purpose_kk, "purpose_required", "say what the sitting is for", "purpose_kk"
        )
    return [
        SittingOpened(
            sitting_id=cmd.sitting_id,
            commission_id=commission.commission_id,
            stage=cmd.stage,
            purpose=purpose,
            opened_at=cmd.at,
            purpose_kk=purpose_kk,
            place=_stated(cmd.place),
            place_kk=_stated(cmd.place_kk),
        )
    ]


def _stated(text: str | None) -> str | None:
    return text.strip() if text and text.strip() else None


def record_attendance(state: Scoring, cmd: RecordAttendance) -> list[Event]:
    """Who is present, and whether that makes a quorum; may be recorded again (late arrivals)."""
    commission = require_commission(state)
    sitting = require_sitting(state, cmd.sitting_id)
    ensure_open(state, sitting.opened.stage)
    ensure_unsealed(sitting)
    if strangers := [p for p in cmd.present if p not in commission.member_ids]:
        refuse(
            [ErrorItem("attendee_not_member", f"{p} is not a member", "present") for p in strangers]
        )
    here = set(cmd.present)
    members = commission.member_ids
    required, quorate = quorum(state.rules, len(here), len(members))
    return [
        AttendanceRecorded(
            commission_id=commission.commission_id,
            sitting_id=cmd.sitting_id,
            present=tuple(m for m in members if m in here),
            absent=tuple(m for m in members if m not in here),
            members=len(members),
            required=required,
            quorate=quorate,
        )
    ]


def quorum(rules: ScoringRules, present: int, members: int) -> tuple[int, bool]:
    """(members required, quorate?) — §3: at least 2/3 of the members."""
    required = rules.quorum.required(members)
    return required, present >= required


# --- guards -------------------------------------------------------------------------------


def require_sitting(state: Scoring, sitting_id: str) -> Sitting:
    sitting = state.sittings.get(sitting_id)
    if sitting is None:
        raise NotFound("sitting_unknown", f"no sitting {sitting_id}")
    return sitting


def ensure_unsealed(sitting: Sitting) -> None:
    if sitting.signed is not None:
        raise Conflict("protocol_signed", "the protocol is signed; record it at a new sitting")


def ensure_quorate(sitting: Sitting) -> AttendanceRecorded:
    """409 ``sitting_not_quorate``: "5 of 9 members present; at least 6 are required."."""
    attendance = sitting.attendance
    if attendance is None:
        raise Conflict("attendance_not_recorded", "record who is present first")
    if not attendance.quorate:
        present, members, required = (
            len(attendance.present),
            attendance.members,
            attendance.required,
        )
        detail = f"{present} of {members} members present; at least {required} are required."
        raise Conflict(
            "sitting_not_quorate", detail, present=present, members=members, required=required
        )
    return attendance


def ensure_present(sitting: Sitting, member_id: str) -> None:
    """Reading §3: a member absent from the sitting gives no sheet at it."""
    if sitting.attendance is None or member_id not in sitting.attendance.present:
        detail = f"{member_id} is not recorded present at sitting {sitting.opened.sitting_id}"
        raise Conflict("member_absent", detail)


def working_sitting(state: Scoring, sitting_id: str, stage: Stage | None = None) -> Sitting:
    """A sitting that may score or decide now: stage open, not sealed, quorate."""
    sitting = require_sitting(state, sitting_id)
    if stage is not None and sitting.opened.stage != stage:
        detail = f"sitting {sitting_id} is of {sitting.opened.stage}, not {stage}"
        raise RuleViolation("sitting_of_other_stage", detail)
    ensure_open(state, sitting.opened.stage)
    ensure_unsealed(sitting)
    ensure_quorate(sitting)
    return sitting


# --- evolve -------------------------------------------------------------------------------


def on_opened(state: Scoring, event: SittingOpened) -> Scoring:
    return replace(state, sittings={**state.sittings, event.sitting_id: Sitting(opened=event)})


def on_attendance(state: Scoring, event: AttendanceRecorded) -> Scoring:
    return _update(state, event.sitting_id, lambda s: replace(s, attendance=event))


def on_signed(state: Scoring, event: ProtocolSigned) -> Scoring:
    return _update(state, event.sitting_id, lambda s: replace(s, signed=event))


def on_record(state: Scoring, event: Event) -> Scoring:
    """Every event carrying a ``sitting_id`` is part of that sitting's protocol, in order."""
    sitting_id = getattr(event, "sitting_id", None)
    if not isinstance(sitting_id, str) or isinstance(event, SittingOpened | ProtocolSigned):
        return state
    return _update(state, sitting_id, lambda s: replace(s, records=(*s.records, event)))


def _update(state: Scoring, sitting_id: str, change: _Change) -> Scoring:
    sitting = state.sittings.get(sitting_id)
    if sitting is None:  # a fold of a partial log: nothing to attach it to
        return state
    return replace(state, sittings={**state.sittings, sitting_id: change(sitting)})
