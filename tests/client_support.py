"""Helpers for client tests: a fake clock shared by the sandbox and the client's sleep."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from connector.config import AlephSettings, RetrySettings
from tests.conftest import ACCOUNT, CANARY_KEY


@dataclass
class FakeTime:
    """One clock for both sides: the client's sleeps move the sandbox's rate-limit clock."""

    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def settings(url: str, *, key: str = CANARY_KEY, **extra: object) -> AlephSettings:
    return AlephSettings(base_url=url, api_key=SecretStr(key), account_id=ACCOUNT, **extra)  # type: ignore[arg-type]


def retry(**extra: object) -> RetrySettings:
    values: dict[str, object] = {
        "base_seconds": 1.0,
        "max_wait_seconds": 30.0,
        "budget_seconds": 300.0,
    }
    values.update(extra)
    return RetrySettings(**values)  # type: ignore[arg-type]
