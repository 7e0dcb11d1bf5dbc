from __future__ import annotations

from datetime import UTC, datetime, time

from connector.config import ScheduleSettings
from connector.slots import due_at, in_night, iso, next_night_start, parse_iso

BA = ScheduleSettings()  # night 00:00-06:00 America/Argentina/Buenos_Aires (UTC-3)


def test_night_window_in_local_time() -> None:
    assert in_night(datetime(2026, 11, 23, 4, 0, tzinfo=UTC), BA)  # 01:00 local
    assert not in_night(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), BA)  # 09:00 local


def test_next_night_start_is_local_midnight() -> None:
    noon = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 local
    assert next_night_start(noon, BA) == datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def test_night_crossing_midnight() -> None:
    late = ScheduleSettings(night_start=time(22, 0), night_end=time(5, 0))
    assert in_night(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), late)  # 23:00 local
    assert not in_night(datetime(2026, 11, 23, 20, 0, tzinfo=UTC), late)  # 17:00 local


def test_due_policy_defaults() -> None:
    noon = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert due_at("stock", to_zero=False, moment=noon, schedule=BA) == iso(noon)
    assert due_at("price", to_zero=False, moment=noon, schedule=BA) == iso(
        datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    )
    night_stock = ScheduleSettings(stock_changes="night")
    assert due_at("stock", to_zero=True, moment=noon, schedule=night_stock) == iso(noon)
    assert due_at("stock", to_zero=False, moment=noon, schedule=night_stock) != iso(noon)


def test_iso_round_trip_and_order() -> None:
    a, b = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC)
    assert parse_iso(iso(a)) == a
    assert iso(a) < iso(b)
