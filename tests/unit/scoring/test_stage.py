"""StageClosed freezes a stage; a reopening is its own event with a reason ("What must hold")."""

from __future__ import annotations

import pytest

from services.scoring.domain import commands as c
from services.scoring.events import StageReopened
from tests.unit.scoring.builders import ALL, AT, Desk, regional_desk, register, sheet, sitting


@pytest.fixture
def closed() -> Desk:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    desk.do(sheet(desk, "m1", "c1"))
    desk.do(c.CloseStage(stage="stage1_selection", at=AT))
    return desk


def test_nothing_changes_in_a_closed_stage(closed: Desk) -> None:
    refused: list[c.Command] = [
        sheet(closed, "m2", "c1"),
        c.OpenSitting(sitting_id="s2", stage="stage1_selection", purpose="more", at=AT),
        c.RecordAttendance(sitting_id="s1", present=ALL),
        c.NominateDistrict(sitting_id="s1", district="103200000"),
        c.CloseStage(stage="stage1_selection", at=AT),
    ]
    for command in refused:
        error = closed.refuse(command)
        assert (error.code, error.status) == ("stage_closed", 409), command


def test_a_reopening_needs_a_reason(closed: Desk) -> None:
    error = closed.refuse(c.ReopenStage(stage="stage1_selection", reason=" ", at=AT))
    assert error.code == "reopen_reason_required"


def test_a_reopened_stage_takes_scores_again(closed: Desk) -> None:
    [event] = closed.do(
        c.ReopenStage(stage="stage1_selection", reason="a member's sheet was lost", at=AT)
    )
    assert isinstance(event, StageReopened) and event.reason == "a member's sheet was lost"
    closed.do(sheet(closed, "m2", "c1"))


def test_an_open_stage_cannot_be_reopened() -> None:
    desk = regional_desk()
    error = desk.refuse(c.ReopenStage(stage="stage1_selection", reason="why not", at=AT))
    assert error.code == "stage_not_closed"


def test_a_regional_commission_does_not_run_stage_two() -> None:
    desk = regional_desk()
    error = desk.refuse(c.OpenSitting(sitting_id="s1", stage="stage2", purpose="x", at=AT))
    assert error.code == "stage_not_of_commission"


def test_the_interview_stage_closes_only_with_its_finalist() -> None:
    desk = regional_desk()
    error = desk.refuse(c.CloseStage(stage="stage1_interview", at=AT))
    assert error.code == "finalist_not_selected"
