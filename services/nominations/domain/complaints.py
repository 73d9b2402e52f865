"""§12 tie-break (4): the justified citizen complaints, recorded by the region's secretary.

The figure is recorded with its source during the admission check; an unknown figure is
never read as 0 (scoring skips the step), so nothing here defaults it. Recording again
supersedes the earlier figure by a new event; the earlier one stays in the log.
"""

from __future__ import annotations

from shared.errors import Conflict
from shared.events import Actor, Event

from ..events import ComplaintsSource, JustifiedComplaintsRecorded
from .application_state import ApplicationState
from .roles import SECRETARY, require_region, require_role
from .values import Count, Frozen, Id


class RecordJustifiedComplaints(Frozen):
    """Command: the number of justified citizen complaints against the akim, and its source."""

    application_id: Id
    count: Count
    source: ComplaintsSource


def record_complaints(
    state: ApplicationState, command: RecordJustifiedComplaints, actor: Actor
) -> list[Event]:
    """The region's secretary records the figure for a submitted or admitted application."""
    require_role(actor, SECRETARY, "record justified complaints")
    require_region(actor, state.region_kato, "record justified complaints")
    if not state.is_live:
        raise Conflict(
            f"application_{state.status}",
            f"application {state.application_id} is {state.status}; "
            "its complaints are no longer recorded",
        )
    return [
        JustifiedComplaintsRecorded(
            application_id=state.application_id,
            edition_id=state.edition_id,
            count=command.count,
            source=command.source,
        )
    ]
