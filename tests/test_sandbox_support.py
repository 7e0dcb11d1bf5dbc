"""Helpers shared by the sandbox tests (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from connector.sandbox import Sandbox, SandboxOptions

API_KEY = "test-key-5f2c9a"
ACCOUNT = 1001
RATE_HEADERS = (
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "x-ratelimit-retryafter",
)


class FakeClock:
    """An injectable clock: seconds since the epoch that move only when told."""

    def __init__(self, start: float = 1_714_564_800.0) -> None:  # 2024-05-01 12:00 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def options(**overrides: Any) -> SandboxOptions:
    """Test defaults: a generous rate limit unless a test is about rate limits. These tests are
    about the documented behaviour ("kind"); the live API's quirks have test_sandbox_quirks."""
    values: dict[str, Any] = {
        "api_key": API_KEY,
        "account_id": ACCOUNT,
        "rate_per_minute": 1000,
        "profile": "kind",
    }
    values["burst"] = overrides.pop("burst", 1000)
    values.update(overrides)
    return SandboxOptions(**values)


def auth(**params: Any) -> dict[str, Any]:
    return {"API_KEY": API_KEY, "accountId": ACCOUNT, **params}


@contextmanager
def running(**overrides: Any) -> Iterator[tuple[Sandbox, httpx.Client]]:
    """A started sandbox and an httpx client on it; both closed at the end."""
    with (
        Sandbox(options(**overrides)) as sandbox,
        httpx.Client(base_url=sandbox.url, timeout=10) as client,
    ):
        yield sandbox, client


def assert_rate_headers(response: httpx.Response) -> None:
    for name in RATE_HEADERS:
        assert name in response.headers, f"{name} missing on a {response.status_code}"
        int(response.headers[name])  # every value is an integer
