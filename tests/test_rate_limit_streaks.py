"""Acceptance: a minute-long 429 streak over 1,000 changes in batches of 100. Everything is
delivered within three ``once`` runs, with at most 5 429s per 100 calls after the first
streak, and no run exceeds its waiting budget by more than 10 %. Time is one fake clock shared
by the sandbox and the connector (its sleeps move it), so a "minute" costs nothing."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from connector.config import load_config
from connector.runner import Options, once
from connector.sandbox import Sandbox, SandboxOptions
from connector.sandbox.fixtures import make_catalog
from tests.client_support import FakeTime
from tests.conftest import ACCOUNT, CANARY_KEY
from tests.test_sync import export, setup

BASE = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BUDGET = 120.0
POST = "POST /v2/products"


def test_a_429_streak_over_1000_changes(tmp_path: Path) -> None:
    fake = FakeTime()
    start = fake.now
    opts = SandboxOptions(
        api_key=CANARY_KEY,
        account_id=ACCOUNT,
        clock=fake.clock,
        rate_per_minute=30,
        burst=30,
        rate_limits={POST: (5, 5)},  # the key's limit, shared with another integration
        window_seconds=60,
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(1000))
        config = setup(tmp_path, sb)
        text = config.source.read_text(encoding="utf-8")
        config.source.write_text(
            text.replace("budget_seconds = 30", f"budget_seconds = {BUDGET:g}"), "utf-8"
        )
        config = load_config(config.source)
        path = config.folders.inbox / "stock-1.csv"
        path.write_bytes(export([(f"{i:07d}", 5 + i % 30, 900 + i) for i in range(1, 1001)]))
        os.utime(path, (BASE.timestamp() - 60, BASE.timestamp() - 60))
        # Another integration on the same key has just run into the limit: a minute-long
        # streak (realistic profile) that the connector's first POST meets.
        query = {"API_KEY": CANARY_KEY, "accountId": ACCOUNT}
        with httpx.Client(base_url=sb.url) as other:
            while other.post("/v2/products", params=query, json=[]).status_code != 429:
                pass
        sb.reset_requests()

        def now() -> datetime:
            return BASE + timedelta(seconds=fake.now - start)

        def sleep(seconds: float) -> None:
            # The intake polls file readiness on the wall clock every 0.05 s (a file settles in
            # real time); only the connector's API waits (>= 1 s) run on the shared fake clock.
            if seconds < 0.5:
                time.sleep(seconds)
            else:
                fake.sleep(seconds)

        options = Options(progress=False, orders=False, sleep=sleep, monotonic=fake.clock)
        options.now = now
        runs: list[tuple[int, float]] = []
        for _ in range(3):
            began = fake.now
            code, _ = once(config, options)
            runs.append((code, fake.now - began))
            if code == 0:
                break
            fake.sleep(15 * 60)  # the scheduled task's next run
        statuses = [r.status for r in sb.requests if r.endpoint == POST]
        delivered = sum(1 for i in range(1, 1001) if sb.updates(f"{i:07d}") >= 1)

    first_ok = statuses.index(200)
    after = statuses[first_ok:]
    per_100 = 100 * after.count(429) / len(after)
    print(
        f"\n429 streak over 1,000 changes: {len(runs)} runs {runs}; POST calls {len(statuses)}, "
        f"429s in the first streak {first_ok}, after it {after.count(429)} in {len(after)} "
        f"calls ({per_100:.1f} per 100); budget {BUDGET:g} s, longest run "
        f"{max(s for _, s in runs):.0f} s"
    )
    assert delivered == 1000
    assert first_ok >= 2 and max(fake.sleeps) >= 60  # there was a streak, and it was waited out
    assert runs[-1][0] == 0 and len(runs) <= 3
    assert per_100 <= 5
    assert all(seconds <= BUDGET * 1.1 for _, seconds in runs)
    assert any(code == 3 for code, _ in runs[:-1]) or len(runs) == 1
