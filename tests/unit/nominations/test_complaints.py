"""§12 tie-break (4): the secretary records the justified complaints with their source."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from services.nominations.domain.application_state import ApplicationStatus
from services.nominations.domain.complaints import RecordJustifiedComplaints, record_complaints
from services.nominations.domain.eligibility import decide_admission
from services.nominations.events import JustifiedComplaintsRecorded, registry
from shared.errors import Conflict, Forbidden
from shared.events import Actor

from .builders import IN_CHECK, SECRETARY, complete, edition_2020, evolve_application, submitted


def command(
    application_id: str, count: int = 2, source: str = "register"
) -> RecordJustifiedComplaints:
    return RecordJustifiedComplaints(application_id=application_id, count=count, source=source)


def test_the_secretary_records_the_count_and_its_source_as_the_contract_event() -> None:
    app = submitted()
    [event] = record_complaints(app, command(app.application_id, 3, " akimat register "), SECRETARY)
    assert isinstance(event, JustifiedComplaintsRecorded)
    assert event.schema_version == 1
    assert event.to_payload() == {
        "application_id": app.application_id,
        "edition_id": app.edition_id,
        "count": 3,
        "source": "akimat register",
    }
    assert registry.decode("JustifiedComplaintsRecorded", 1, event.to_payload()) == event
    assert evolve_application(app, [event]).complaints == event


def test_recording_again_supersedes_the_earlier_figure() -> None:
    app = submitted()
    first = record_complaints(app, command(app.application_id, 3), SECRETARY)
    app = evolve_application(app, first)
    second = record_complaints(app, command(app.application_id, 0, "prosecutor"), SECRETARY)
    app = evolve_application(app, second)
    assert app.complaints is not None
    assert (app.complaints.count, app.complaints.source) == (0, "prosecutor")


def test_an_admitted_application_takes_the_figure() -> None:
    state = edition_2020()
    app = complete(submitted(state), state)
    app = evolve_application(app, decide_admission(app, state, SECRETARY, IN_CHECK))
    assert app.status is ApplicationStatus.admitted
    assert record_complaints(app, command(app.application_id), SECRETARY)


@pytest.mark.parametrize("status", [ApplicationStatus.rejected, ApplicationStatus.withdrawn])
def test_a_rejected_or_withdrawn_application_is_refused_with_409(
    status: ApplicationStatus,
) -> None:
    app = replace(submitted(), status=status)
    with pytest.raises(Conflict) as refused:
        record_complaints(app, command(app.application_id), SECRETARY)
    assert refused.value.code == f"application_{status}"


def test_only_the_secretary_of_the_region_records_it() -> None:
    app = submitted()
    other = Actor(id="secretary-11", role="secretary", region="110000000")
    nominator = Actor(id="nominator-19", role="nominator", region=app.region_kato)
    for actor, code in ((other, "region_not_allowed"), (nominator, "role_not_allowed")):
        with pytest.raises(Forbidden) as refused:
            record_complaints(app, command(app.application_id), actor)
        assert refused.value.code == code


@pytest.mark.parametrize("count, source", [(-1, "register"), (1, "   "), (1, "x" * 501)])
def test_a_negative_count_or_an_empty_or_overlong_source_is_invalid(
    count: int, source: str
) -> None:
    with pytest.raises(ValidationError):
        command(submitted().application_id, count, source)
