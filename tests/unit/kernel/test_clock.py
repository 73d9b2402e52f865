"""The rehearsal business clock (issue 15, item 2): where it starts, how it moves, and that
production settings refuse it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.clock import BusinessClock, business_clock
from shared.errors import Conflict
from shared.settings import Settings

ALMATY = ZoneInfo("Asia/Almaty")


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def test_without_a_setting_business_time_is_the_wall_clock() -> None:
    clock = business_clock(settings())
    assert not clock.simulated
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=2)
    with pytest.raises(Conflict) as refused:
        clock.move_to(datetime.now(UTC) + timedelta(days=1))
    assert refused.value.code == "clock_not_simulated"


def test_a_start_without_a_zone_is_almaty_time_and_runs_on() -> None:
    clock = business_clock(settings(clock_start="2020-06-10T10:00:00"))
    assert clock.simulated
    start = datetime(2020, 6, 10, 10, tzinfo=ALMATY)
    assert timedelta(0) <= clock.now() - start < timedelta(seconds=2)


def test_an_offset_shifts_the_wall_clock() -> None:
    clock = business_clock(settings(clock_offset="-P365D"))
    expected = datetime.now(UTC) - timedelta(days=365)
    assert abs(clock.now() - expected) < timedelta(seconds=2)


def test_the_clock_moves_forward_only() -> None:
    clock = BusinessClock(start=datetime(2020, 5, 30, 10, tzinfo=ALMATY))
    moved = clock.move_to(datetime(2020, 6, 25, 10, tzinfo=ALMATY))
    assert moved.astimezone(ALMATY).date().isoformat() == "2020-06-25"
    with pytest.raises(Conflict) as refused:
        clock.move_to(datetime(2020, 6, 1, tzinfo=ALMATY))
    assert refused.value.code == "clock_backwards"


@pytest.mark.parametrize(
    "production",
    [
        {"env": "production"},
        {"env": "PRODUCTION"},
        {"jwks_url": "https://id.example/certs"},
        {"dev_jwt_secret": ""},
    ],
)
@pytest.mark.parametrize("rehearsal", [{"clock_start": "2020-06-10"}, {"clock_offset": "-P1D"}])
def test_production_settings_refuse_the_rehearsal_clock(
    production: dict[str, str], rehearsal: dict[str, str]
) -> None:
    with pytest.raises(ValidationError, match="refused in production"):
        settings(**production, **rehearsal)
    assert settings(**production).production  # and without the clock they start


def test_empty_clock_variables_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UZDIK_CLOCK_START", "")
    monkeypatch.setenv("UZDIK_CLOCK_OFFSET", "")
    monkeypatch.setenv("UZDIK_ENV", "production")
    assert not business_clock(Settings()).simulated
