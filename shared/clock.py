"""The business clock: the wall clock, or a rehearsal's simulated one.

A rehearsal walks a past (or future) edition through over HTTP: ``UZDIK_CLOCK_START`` (an
instant; without a zone it is read in Asia/Almaty) or ``UZDIK_CLOCK_OFFSET`` (a duration added
to the wall clock, ISO 8601 such as ``-P2200D``, or seconds) sets where business time starts;
from there it runs with the wall clock, and ``uzdik serve`` can move it forward
(``PUT /clock``). Production settings refuse both (:meth:`Settings.production`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.errors import Conflict

if TYPE_CHECKING:
    from shared.settings import Settings


class BusinessClock:
    """``now()`` is the wall clock shifted by an offset; ``move_to`` only moves it forward."""

    def __init__(self, start: datetime | None = None, offset: timedelta | None = None) -> None:
        self.simulated = start is not None or offset is not None
        self.offset = offset or timedelta(0)
        if start is not None:
            self.offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def move_to(self, instant: datetime) -> datetime:
        """Business time jumps to ``instant`` (a rehearsal's next step); never backwards."""
        if not self.simulated:
            raise Conflict(
                "clock_not_simulated",
                "the business clock is the real one; set UZDIK_CLOCK_START or "
                "UZDIK_CLOCK_OFFSET to rehearse on a simulated clock",
            )
        current = self.now()
        if instant < current:
            raise Conflict(
                "clock_backwards",
                f"the business clock is at {current.isoformat()}; it only moves forward",
            )
        self.offset = instant - datetime.now(UTC)
        return self.now()


def business_clock(settings: Settings) -> BusinessClock:
    """The clock the settings ask for (the wall clock unless a rehearsal setting is on)."""
    return BusinessClock(settings.clock_start, settings.clock_offset)
