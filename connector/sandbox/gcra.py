"""GCRA rate limiter with redis-cell semantics (API reference, section 2.3).

State per (api_key, endpoint) is one number, the theoretical arrival time (TAT). Times are kept
in integer nanoseconds, as redis-cell does, so the header values never suffer float drift
(29.999999 requests remaining would otherwise truncate to 29).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from connector.sandbox.options import Clock

NANOS = 1_000_000_000


@dataclass(frozen=True)
class Decision:
    """The outcome of one check, as the four ``x-ratelimit-*`` headers report it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the bucket is full again, truncated
    retry_after: int  # seconds to wait, truncated; -1 when allowed

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-retryafter": str(self.retry_after),
        }


@dataclass(frozen=True)
class Quota:
    emission_ns: int  # T: the interval between two calls at the sustained rate
    tolerance_ns: int  # DVT = T * burst
    limit: int  # = burst (redis-cell: max_burst + 1)


class RateLimiter:
    """Thread-safe. ``check`` consumes one call when allowed; a refusal changes nothing."""

    def __init__(
        self,
        *,
        rate_per_window: int,
        burst: int,
        window_seconds: float,
        clock: Clock,
        overrides: Mapping[str, tuple[int, int]] | None = None,
        second_grace: bool = False,
    ) -> None:
        self._window_ns = int(window_seconds * NANOS)
        self._default = self._quota(rate_per_window, burst)
        self._overrides = {
            endpoint.upper(): self._quota(rate, size)
            for endpoint, (rate, size) in (overrides or {}).items()
        }
        self._clock = clock
        self._second_grace = second_grace
        self._tat: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def _quota(self, rate: int, burst: int) -> Quota:
        emission = max(1, self._window_ns // rate)  # never 0, even for absurd rates
        return Quota(emission_ns=emission, tolerance_ns=emission * burst, limit=burst)

    def quota(self, endpoint: str) -> Quota:
        return self._overrides.get(endpoint.upper(), self._default)

    def _now(self) -> int:
        return int(self._clock() * NANOS)

    def check(self, api_key: str, endpoint: str) -> Decision:
        quota = self.quota(endpoint)
        key = (api_key, endpoint.upper())
        with self._lock:
            now = self._now()
            tat = max(self._tat.get(key, now), now)
            new_tat = tat + quota.emission_ns
            early_by = new_tat - quota.tolerance_ns - now  # > 0: the call came too soon
            if self._limited(early_by):
                return self._decision(quota, False, ttl=tat - now, retry_ns=early_by)
            self._tat[key] = new_tat
            return self._decision(quota, True, ttl=new_tat - now, retry_ns=-1)

    def peek(self, api_key: str, endpoint: str) -> Decision:
        """The state as it is, without consuming a call (for injected fault responses)."""
        quota = self.quota(endpoint)
        with self._lock:
            now = self._now()
            tat = max(self._tat.get((api_key, endpoint.upper()), now), now)
        return self._decision(quota, True, ttl=tat - now, retry_ns=-1)

    def reset(self) -> None:
        with self._lock:
            self._tat.clear()

    def _limited(self, early_by: int) -> bool:
        # redis-cell tests diff.num_seconds() < 0, which forgives up to one second early.
        return early_by >= NANOS if self._second_grace else early_by > 0

    @staticmethod
    def _decision(quota: Quota, allowed: bool, *, ttl: int, retry_ns: int) -> Decision:
        spare = quota.tolerance_ns - ttl
        remaining = max(0, spare // quota.emission_ns)
        return Decision(
            allowed=allowed,
            limit=quota.limit,
            remaining=remaining,
            reset=max(0, ttl) // NANOS,
            retry_after=-1 if allowed else retry_ns // NANOS,
        )
