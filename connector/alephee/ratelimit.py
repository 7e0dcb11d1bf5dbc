"""Pacing from Alephee's ``x-ratelimit-*`` headers, one state per endpoint.

Alephee counts per API key and endpoint (GCRA, one-minute window). The headers on every
response say how many calls remain; when few remain we space calls one emission interval
(60 s / limit) apart instead of running into 429s. Without headers we fall back to the pace
public integrators found safe: at most ``fallback_per_minute`` calls in any 60 s. In ``run`` a
share of the limit is left to other integrations on the same key (``share``).
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
WINDOW = 60.0


@dataclass
class EndpointState:
    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None
    retry_after: int | None = None
    seen_at: float = 0.0
    recent: deque[float] = field(default_factory=deque)


def parse_seconds(raw: str | None) -> float:
    """A header's number of seconds, tolerant of units and noise (``1.5s``, `` 2 ``): 0 when
    there is none. A malformed header must never stop a run."""
    found = re.search(r"-?\d+(?:\.\d+)?", raw or "")
    return max(0.0, float(found.group())) if found else 0.0


def parse_headers(headers: Mapping[str, str]) -> dict[str, int]:
    """The four integer headers (httpx headers are case-insensitive already)."""
    values: dict[str, int] = {}
    for name in ("limit", "remaining", "reset", "retryafter"):
        raw = headers.get(f"x-ratelimit-{name}")
        if raw is None or not re.search(r"\d", raw):
            continue
        values[name] = int(parse_seconds(raw)) if name != "retryafter" or "-" not in raw else -1
    return values


class Pacer:
    def __init__(
        self,
        *,
        low_remaining: int,
        fallback_per_minute: int,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ) -> None:
        self.low_remaining = low_remaining
        self.fallback_per_minute = fallback_per_minute
        self._sleep = sleep
        self._clock = clock
        self.states: dict[str, EndpointState] = {}
        self.paced_seconds = 0.0
        self.share = 1.0  # ``run`` lowers it (retry.run_rate_share)

    def wait_before(self, endpoint: str) -> float:
        """Seconds ``before`` would wait now (nothing slept)."""
        return self._wait_for(self.states.setdefault(endpoint, EndpointState()))

    def before(self, endpoint: str) -> float:
        """Wait as the limit asks, then count the call; returns the seconds waited."""
        state = self.states.setdefault(endpoint, EndpointState())
        wait = self._wait_for(state)
        if wait > 0:
            log.info("pacing %s: waiting %.1f s to stay under Alephee's rate limit", endpoint, wait)
            self.paced_seconds += wait
            self._sleep(wait)
        state.recent.append(self._clock())
        return max(0.0, wait)

    def after(self, endpoint: str, headers: Mapping[str, str]) -> None:
        state = self.states.setdefault(endpoint, EndpointState())
        values = parse_headers(headers)
        if "remaining" not in values:
            return
        state.limit = values.get("limit")
        state.remaining = values["remaining"]
        state.reset = values.get("reset")
        state.retry_after = values.get("retryafter")
        state.seen_at = self._clock()

    def _wait_for(self, state: EndpointState) -> float:
        now = self._clock()
        while state.recent and now - state.recent[0] >= WINDOW:
            state.recent.popleft()
        shared = self._share_wait(state, now)
        if state.remaining is None:
            return max(shared, self._fallback_wait(state, now))
        if state.remaining > self.low_remaining:
            return shared
        interval = WINDOW / state.limit if state.limit else WINDOW / self.fallback_per_minute
        if state.remaining == 0:
            interval *= 1.1  # one 429 too many can cost a minute-long streak: keep a margin
        return max(shared, interval - (now - state.seen_at))

    def _fallback_wait(self, state: EndpointState, now: float) -> float:
        if len(state.recent) < self.fallback_per_minute:
            return 0.0
        return WINDOW - (now - state.recent[0]) + 1.0

    def _share_wait(self, state: EndpointState, now: float) -> float:
        """``run`` leaves room for other integrations on the same key: at most ``share`` of
        the key's limit per endpoint in any 60 s."""
        if self.share >= 1.0:
            return 0.0
        allowed = max(1, int((state.limit or self.fallback_per_minute) * self.share))
        if len(state.recent) < allowed:
            return 0.0
        return max(0.0, WINDOW - (now - state.recent[len(state.recent) - allowed]))

    def snapshot(self) -> dict[str, dict[str, int | None]]:
        return {
            name: {"limit": s.limit, "remaining": s.remaining, "reset": s.reset}
            for name, s in self.states.items()
        }
