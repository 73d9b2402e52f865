"""§6 one year in post, to the day in Asia/Almaty, and the upcast of version 1's months."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from services.nominations.domain.tenure import months_before, served_full_term, years_after
from services.nominations.domain.values import ALMATY
from services.nominations.events import ApplicationSubmitted, registry

from .builders import questionnaire


def almaty(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ALMATY)


@pytest.mark.parametrize(
    "submitted_at, served",
    [(almaty(2020, 5, 31, 23, 59), False), (almaty(2020, 6, 1, 0, 0), True)],
)
def test_appointed_1_june_2019_the_year_is_complete_on_1_june_2020(
    submitted_at: datetime, served: bool
) -> None:
    assert served_full_term(date(2019, 6, 1), submitted_at, 1) is served


def test_a_leap_day_appointment_completes_its_year_on_1_march() -> None:
    assert years_after(date(2020, 2, 29), 1) == date(2021, 3, 1)
    assert years_after(date(2019, 6, 1), 2) == date(2021, 6, 1)


def test_months_before_keeps_the_day_or_the_end_of_a_shorter_month() -> None:
    assert months_before(date(2020, 6, 10), 12) == date(2019, 6, 10)
    assert months_before(date(2020, 3, 31), 1) == date(2020, 2, 29)
    assert months_before(date(2020, 1, 15), 13) == date(2018, 12, 15)


def v1_payload(months: int, submitted_at: str) -> dict[str, Any]:
    form = questionnaire().model_dump(mode="json")
    del form["appointed_akim_on"]
    return {
        "application_id": "0b6b1e8e-58d5-4a8b-9d55-7f3b0b1a0001",
        "edition_id": "0b6b1e8e-58d5-4a8b-9d55-7f3b0b1a0002",
        "submitted_at": submitted_at,
        "region_kato": "190000000",
        "district_kato": "193600000",
        "rural_district_kato": "193633000",
        "questionnaire": {**form, "months_as_akim": months},
    }


def test_a_stored_version_1_submission_upcasts_to_an_approximate_appointment_date() -> None:
    # 20:00 UTC on 9 June is 10 June in Almaty: months are counted back from the Almaty day
    event = registry.decode("ApplicationSubmitted", 1, v1_payload(12, "2020-06-09T20:00:00Z"))
    assert isinstance(event, ApplicationSubmitted) and event.schema_version == 2
    assert event.questionnaire.appointed_akim_on == date(2019, 6, 10)
    assert served_full_term(event.questionnaire.appointed_akim_on, event.submitted_at, 1)


def test_an_upcast_eleven_month_akim_still_falls_short() -> None:
    event = registry.decode("ApplicationSubmitted", 1, v1_payload(11, "2020-06-10T12:00:00+06:00"))
    assert isinstance(event, ApplicationSubmitted)
    assert event.questionnaire.appointed_akim_on == date(2019, 7, 10)
    assert not served_full_term(event.questionnaire.appointed_akim_on, event.submitted_at, 1)


def test_the_questionnaire_no_longer_takes_declared_months() -> None:
    with pytest.raises(ValueError, match="months_as_akim"):
        questionnaire(months_as_akim=12)
