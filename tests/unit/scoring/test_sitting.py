"""§3 quorum (≥ 2/3 of the members), attendance, and one live sheet per member and candidate."""

from __future__ import annotations

from services.scoring.domain import commands as c
from services.scoring.domain.protocol import document
from services.scoring.events import AttendanceRecorded, ScoreCorrected, ScoreRecorded
from tests.unit.scoring.builders import ALL, AT, Desk, flat, regional_desk, register, sheet, sitting


def desk_with_candidate() -> Desk:
    desk = regional_desk()
    register(desk, "c1")
    return desk


def test_sitting_with_five_of_nine_members_is_not_quorate_and_refuses_scores() -> None:
    desk = desk_with_candidate()
    [attendance] = sitting(desk, present=ALL[:5])
    assert isinstance(attendance, AttendanceRecorded)
    assert (len(attendance.present), attendance.members, attendance.required) == (5, 9, 6)
    assert attendance.quorate is False
    error = desk.refuse(sheet(desk, "m1", "c1"))
    assert (error.code, error.status) == ("sitting_not_quorate", 409)
    assert error.detail == "5 of 9 members present; at least 6 are required."


def test_sitting_with_six_of_nine_members_is_quorate_and_takes_scores() -> None:
    desk = desk_with_candidate()
    [attendance] = sitting(desk, present=ALL[:6])
    assert isinstance(attendance, AttendanceRecorded) and attendance.quorate
    [event] = desk.do(sheet(desk, "m1", "c1", value=7))
    assert isinstance(event, ScoreRecorded) and event.total == 70


def test_a_late_arrival_makes_the_sitting_quorate() -> None:
    desk = desk_with_candidate()
    sitting(desk, present=ALL[:5])
    desk.do(c.RecordAttendance(sitting_id="s1", present=ALL[:6]))
    desk.do(sheet(desk, "m1", "c1"))


def test_an_absent_member_gives_no_sheet() -> None:
    desk = desk_with_candidate()
    sitting(desk, present=ALL[:6])
    error = desk.refuse(sheet(desk, "m9", "c1"))
    assert (error.code, error.status) == ("member_absent", 409)


def test_attendance_lists_only_members() -> None:
    desk = desk_with_candidate()
    desk.do(c.OpenSitting(sitting_id="s1", stage="stage1_selection", purpose="x", at=AT))
    error = desk.refuse(c.RecordAttendance(sitting_id="s1", present=(*ALL[:6], "stranger")))
    assert error.code == "attendee_not_member"


def test_a_second_sheet_for_the_same_candidate_is_refused() -> None:
    desk = desk_with_candidate()
    sitting(desk)
    desk.do(sheet(desk, "m1", "c1"))
    again = sheet(desk, "m1", "c1", value=9)
    error = desk.refuse(c.RecordScore(**{**again.__dict__, "sheet_id": "another"}))
    assert (error.code, error.status) == ("sheet_already_recorded", 409)


def test_a_correction_supersedes_the_sheet_and_both_are_kept() -> None:
    desk = desk_with_candidate()
    sitting(desk)
    desk.do(sheet(desk, "m1", "c1", value=5))
    [fixed] = desk.do(
        c.CorrectScore(
            sheet_id="fixed",
            supersedes="project-m1-c1",
            sitting_id="s1",
            member_id="m1",
            reason="swapped two criteria",
            scores=flat(desk, "project", 6),
        )
    )
    assert isinstance(fixed, ScoreCorrected) and fixed.total == 60
    state = desk.state
    assert state.sheets["project-m1-c1"].superseded_by == "fixed"
    assert state.live[("m1", "c1", "project")] == "fixed"
    records = [r["event_type"] for r in document(state, "s1")["records"]]
    assert records == ["AttendanceRecorded", "ScoreRecorded", "ScoreCorrected"]


def test_a_correction_needs_a_reason_and_the_live_sheet_of_its_own_member() -> None:
    desk = desk_with_candidate()
    sitting(desk)
    desk.do(sheet(desk, "m1", "c1"))
    scores = flat(desk, "project", 6)

    def correction(sheet_id: str, member: str, reason: str) -> c.CorrectScore:
        return c.CorrectScore(
            sheet_id=sheet_id,
            supersedes="project-m1-c1",
            sitting_id="s1",
            member_id=member,
            reason=reason,
            scores=scores,
        )

    assert desk.refuse(correction("x", "m1", "")).code == "correction_reason_required"
    assert desk.refuse(correction("x", "m2", "typo")).code == "not_sheet_owner"
    desk.do(correction("x", "m1", "typo"))
    assert desk.refuse(correction("y", "m1", "again")).code == "sheet_superseded"


def test_an_out_of_range_score_is_refused_with_the_criterion() -> None:
    desk = desk_with_candidate()
    sitting(desk)
    scores = {**flat(desk, "project", 5), "feasibility": 12}
    error = desk.refuse(sheet(desk, "m1", "c1", scores=scores))
    assert (error.code, error.status) == ("score_out_of_range", 422)
    assert error.errors[0].field == "scores.feasibility"


def test_a_sheet_of_another_stage_is_refused_at_this_sitting() -> None:
    desk = desk_with_candidate()
    sitting(desk)
    assert desk.refuse(sheet(desk, "m1", "c1", kind="essay")).code == "sheet_not_of_stage"
