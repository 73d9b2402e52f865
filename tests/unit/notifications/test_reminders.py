"""Deadline reminders (pure): 48 hours ahead, once per deadline, to members missing sheets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.reminders import due, within

DEADLINE = datetime(2020, 6, 30, 18, 0, tzinfo=UTC)


def test_a_reminder_is_due_only_within_the_48_hours_before_the_deadline() -> None:
    assert not within(DEADLINE - timedelta(hours=49), DEADLINE, 48)
    assert within(DEADLINE - timedelta(hours=48), DEADLINE, 48)
    assert within(DEADLINE - timedelta(minutes=1), DEADLINE, 48)
    assert not within(DEADLINE, DEADLINE, 48)  # past: too late to remind


def test_only_the_members_missing_sheets_are_reminded_with_how_many() -> None:
    found = due(
        DEADLINE - timedelta(hours=10),
        48,
        "k-1",
        "stage1_selection",
        DEADLINE,
        ["m-1", "m-2", "m-3"],
        {"c-1", "c-2"},
        {"m-1": {"c-1", "c-2"}, "m-2": {"c-1"}},
    )
    assert [(r.member, r.missing) for r in found] == [("m-2", 1), ("m-3", 2)]


def test_an_extended_deadline_is_a_new_reminder_and_the_same_one_is_the_same() -> None:
    def key(deadline: datetime) -> str:
        [r] = due(deadline - timedelta(hours=1), 48, "k-1", "stage2", deadline, ["m"], {"c"}, {})
        return r.key

    assert key(DEADLINE) == key(DEADLINE)
    assert key(DEADLINE) != key(DEADLINE + timedelta(days=3))


def test_nothing_is_due_when_no_candidate_is_under_consideration() -> None:
    assert due(DEADLINE - timedelta(hours=1), 48, "k", "stage2", DEADLINE, ["m"], set(), {}) == []
