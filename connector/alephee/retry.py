"""Retry policy as data, turned into a tenacity ``Retrying`` with an injectable sleep.

Only ``RetryableError`` is retried (429, 5xx, network). A 429 waits what Alephee asked
(``x-ratelimit-retryafter``) plus a little jitter; after ``rate_limit_streak`` 429s in a row it
waits at least ``rate_limit_floor_seconds`` (live clients needed 65-120 s: a per-key limiter that
other integrations drain too hands out minute-long streaks), and a 429 is retried as long as
the run's budget allows, never hammering. Everything else uses full-jitter exponential backoff
(AWS "Exponential Backoff And Jitter"). The budget is counted in seconds spent waiting, per call
and for the whole run, so tests with a recording sleep see the real schedule.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import tenacity

from connector.config import RetrySettings
from connector.errors import RateLimited, RetryableError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 1.0
    max_wait_seconds: float = 120.0
    budget_seconds: float = 600.0
    rate_limit_jitter: float = 1.0
    rate_limit_streak: int = 2
    rate_limit_floor_seconds: float = 60.0
    rate_limit_max_attempts: int = 30

    @classmethod
    def from_settings(cls, settings: RetrySettings) -> RetryPolicy:
        return cls(
            max_attempts=settings.max_attempts,
            base_seconds=settings.base_seconds,
            max_wait_seconds=settings.max_wait_seconds,
            budget_seconds=settings.budget_seconds,
            rate_limit_streak=settings.rate_limit_streak,
            rate_limit_floor_seconds=settings.rate_limit_floor_seconds,
            rate_limit_max_attempts=settings.rate_limit_max_attempts,
        )

    def wait_for(
        self, error: BaseException | None, attempt: int, rng: random.Random, streak: int = 0
    ) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); ``streak`` is the
        number of 429s in a row so far, this one included."""
        if isinstance(error, RateLimited):
            wait = max(error.retry_after, 1.0) + rng.uniform(0, self.rate_limit_jitter)
            if streak >= self.rate_limit_streak:
                wait = max(wait, self.rate_limit_floor_seconds + rng.uniform(0, 5.0))
            return wait
        ceiling = min(self.max_wait_seconds, self.base_seconds * 2 ** (attempt - 1))
        return rng.uniform(ceiling / 2, ceiling)  # never ~0: a 503 storm needs real spacing


@dataclass
class RunBudget:
    """Waiting time spent across every call of one run."""

    seconds: float
    spent: float = 0.0
    retries: int = 0
    rate_limited: int = 0
    streak: int = 0  # 429s in a row, across calls: a success ends it
    history: list[float] = field(default_factory=list)

    def allows(self, wait: float) -> bool:
        return self.spent + wait <= self.seconds


def build_retrying(
    policy: RetryPolicy,
    budget: RunBudget,
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> tenacity.Retrying:
    def wait(state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        budget.streak = budget.streak + 1 if isinstance(error, RateLimited) else 0
        return policy.wait_for(error, state.attempt_number, rng, budget.streak)

    def stop(state: tenacity.RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        limit = (
            policy.rate_limit_max_attempts
            if isinstance(error, RateLimited)
            else policy.max_attempts
        )
        return state.attempt_number >= limit or not budget.allows(state.upcoming_sleep)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        budget.spent += state.upcoming_sleep
        budget.retries += 1
        budget.history.append(state.upcoming_sleep)
        if isinstance(error, RateLimited):
            budget.rate_limited += 1
        log.warning(
            "%s; waiting %.1f s before attempt %d",
            error,
            state.upcoming_sleep,
            state.attempt_number + 1,
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        wait=wait,
        stop=stop,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
