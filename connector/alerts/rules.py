"""When to tell a person: one alert per condition per interval, and one "all clear" after a
problem that was told ends. A pure function of the remembered state, the problems found now
and the clock, so the rule is tested over generated sequences without a mail server.

    quiet --problem--> active (alert now, unless one went out less than an interval ago)
    active --still there, interval passed since the last alert--> reminder
    active --gone--> quiet (an "all clear" only if this episode's alert went out)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from connector.report.problems import Problem


@dataclass(frozen=True)
class Remembered:
    """What the alerts remember of one condition between runs."""

    active: bool = False
    since: datetime | None = None
    notified: bool = False  # an alert went out for the current episode
    last_sent: datetime | None = None  # the last problem alert, across episodes


@dataclass(frozen=True)
class Decision:
    alerts: list[Problem]  # to send now: new problems and reminders
    cleared: list[str]  # conditions whose told problem has ended
    state: dict[str, Remembered]  # to remember once the message went out

    @property
    def anything(self) -> bool:
        return bool(self.alerts or self.cleared)


def decide(
    remembered: dict[str, Remembered],
    found: list[Problem],
    now: datetime,
    interval: timedelta,
) -> Decision:
    state = dict(remembered)
    alerts: list[Problem] = []
    for problem in found:
        before = remembered.get(problem.key, Remembered())
        current = before if before.active else replace(before, notified=False)
        current = replace(current, active=True, since=problem.since)
        if current.last_sent is None or now - current.last_sent >= interval:
            alerts.append(problem)
            current = replace(current, notified=True, last_sent=now)
        state[problem.key] = current
    active_now = {p.key for p in found}
    cleared = []
    for key, before in remembered.items():
        if before.active and key not in active_now:
            if before.notified:
                cleared.append(key)
            state[key] = replace(before, active=False, notified=False, since=None)
    return Decision(alerts, sorted(cleared), state)
