"""DOMAIN "Timeline": a fact of a step is refused after the step's deadline (scoring's steps)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.scoring.domain import commands as c
from services.scoring.domain import decide
from services.scoring.domain.deadlines import ensure_in_time, step_of
from services.scoring.events import RankingComputed
from shared.errors import DomainError
from tests.unit.scoring.builders import (
    AT,
    DISTRICT,
    regional_desk,
    register,
    score_by,
    sheet,
    sitting,
)

DEADLINES = {
    "stage_one": AT + timedelta(days=1),
    "interviews": AT + timedelta(days=30),
    "finalists": AT + timedelta(days=30),
    "defences": AT + timedelta(days=60),
}


def test_each_fact_of_stage_one_belongs_to_the_stage_one_step() -> None:
    desk = regional_desk()
    register(desk, "c1")
    attendance = sitting(desk)
    score_by(desk, ("m1",), "c1")
    feedback = desk.do(c.RecordFeedbackAssessment("c1", "sec", 5))
    assert [step_of(desk.state, e) for e in attendance] == ["stage_one"]
    assert step_of(desk.state, desk.log[-2]) == "stage_one"  # the project sheet
    assert step_of(desk.state, feedback[0]) == "stage_one"  # before the nomination: a tie fact
    nominated = desk.do(c.NominateDistrict(sitting_id="s1", district=DISTRICT))
    assert {step_of(desk.state, e) for e in nominated} == {"stage_one"}
    closed = desk.do(c.CloseStage(stage="stage1_selection", at=AT))
    assert step_of(desk.state, closed[0]) is None  # closing is not bound by the calendar


def test_a_fact_at_or_after_its_deadline_is_refused_with_the_step_named() -> None:
    desk = regional_desk()
    register(desk, "c1")
    sitting(desk)
    events = decide(desk.state, sheet(desk, "m2", "c1"))
    ensure_in_time(desk.state, events, DEADLINES, AT)  # in time: nothing raised
    with pytest.raises(DomainError) as late:
        ensure_in_time(desk.state, events, DEADLINES, DEADLINES["stage_one"])
    assert (late.value.code, late.value.status, late.value.extra["step"]) == (
        "deadline_passed",
        422,
        "stage_one",
    )
    assert late.value.extra["deadline"] == "2020-06-21T10:00:00+06:00"
    assert "unless the organiser extends the deadline" in late.value.detail


def test_an_unknown_calendar_binds_nothing_and_the_winners_have_no_deadline() -> None:
    desk = regional_desk()
    register(desk, "c1")
    events = sitting(desk)
    ensure_in_time(desk.state, events, {}, AT + timedelta(days=999))
    winners = RankingComputed(
        commission_id="rc",
        sitting_id="s9",
        purpose="winners",
        scope=None,
        entries=(),
        seats=3,
        selected=(),
        status="complete",
    )
    assert step_of(desk.state, winners) is None  # §21: decided after the defences
