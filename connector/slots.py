"""Alephee's day and night update slots, and when each kind of change is due.

Defaults (configurable): stock changes go now, price-only changes wait for the night slot,
and a stock drop to 0 always goes now (an out-of-stock product must stop selling at once).
Times are stored as UTC ISO text (``iso``) so SQLite can compare them as strings.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from connector.config import ScheduleSettings

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(moment: datetime) -> str:
    """UTC text with a fixed width: string order equals time order."""
    return moment.astimezone(UTC).strftime(ISO)


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, ISO).replace(tzinfo=UTC)


def in_night(moment: datetime, schedule: ScheduleSettings) -> bool:
    local = moment.astimezone(schedule.zone).time()
    start, end = schedule.night_start, schedule.night_end
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # a night that crosses midnight, e.g. 22:00-06:00


def next_night_start(moment: datetime, schedule: ScheduleSettings) -> datetime:
    """The next start of the night slot (``moment`` itself when already inside it)."""
    if in_night(moment, schedule):
        return moment
    local = moment.astimezone(schedule.zone)
    start = _at(local, schedule.night_start)
    if start <= local:
        start = _at(local + timedelta(days=1), schedule.night_start)
    return start.astimezone(UTC)


def night_end(moment: datetime, schedule: ScheduleSettings) -> datetime:
    """The next end of the night slot: when a send that runs in the night slot is in the day."""
    local = moment.astimezone(schedule.zone)
    end = _at(local, schedule.night_end)
    if end <= local:
        end = _at(local + timedelta(days=1), schedule.night_end)
    return end.astimezone(UTC)


def _at(day: datetime, clock: time) -> datetime:
    return day.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)


def due_at(group: str, *, to_zero: bool, moment: datetime, schedule: ScheduleSettings) -> str:
    """When a change of this group is due, as ISO UTC text."""
    policy = schedule.stock_changes if group == "stock" else schedule.price_changes
    if policy == "now" or (group == "stock" and to_zero):
        return iso(moment)
    return iso(next_night_start(moment, schedule))
