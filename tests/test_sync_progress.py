"""Progress of a long send: the estimate from the observed pace, and the line ``connector
status`` prints while a run is busy and after it (real commands, pinned clock)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from filelock import FileLock
from hypothesis import given
from hypothesis import strategies as st

from connector.config import Config
from connector.products.sendlog import SendProgress, duration, estimate
from connector.runner import RUNNING_MARKER
from connector.sandbox.fixtures import make_catalog
from connector.slots import iso
from tests.operator_support import clean_env, run_connector
from tests.test_sync import catalog_rows, drop, export, setup
from tests.workspace_support import fast_sandbox

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires: a day slot
PRODUCTS = 250


def progress(done: int, calls: int, minutes: float, total: int = 1_000_000) -> SendProgress:
    later = iso(NOW + timedelta(minutes=minutes))
    return SendProgress(iso(NOW), total, done, calls, 1_000, later, None, None)


def test_the_time_left_comes_from_the_calls_per_minute_observed() -> None:
    # 10 calls of 1,000 products in 20 minutes: 990 calls left at 0.5 calls/min... no: 30/min
    sent = progress(done=10_000, calls=10, minutes=1 / 3)
    assert sent.calls_per_minute() == 30
    assert sent.seconds_left() == 990 / 30 * 60
    assert estimate(sent) == "about 33 min left at 30 calls/min"
    assert estimate(progress(done=1_000, calls=1, minutes=1)) == ""  # one call: no pace yet


@given(st.integers(1, 2_000), st.integers(1, 10_000), st.floats(0.1, 600))
def test_the_estimate_is_the_calls_left_at_the_observed_pace(
    calls: int, per_call: int, minutes: float
) -> None:
    sent = progress(done=calls * per_call, calls=calls, minutes=minutes, total=10**8)
    rate = sent.calls_per_minute()
    left = sent.seconds_left()
    if calls < 2:
        assert rate is None and left is None
        return
    assert rate is not None and left is not None
    calls_left = -(-(10**8 - calls * per_call) // per_call)
    assert abs(left - calls_left / rate * 60) <= 1e-6 * max(left, 1)
    assert duration(left)  # always something a person can read


def run_cli(
    config: Config, *args: str, now: datetime, crash_at: str = ""
) -> subprocess.CompletedProcess[str]:
    env = clean_env(now)
    if crash_at:
        env["CONNECTOR_CRASH_AT"] = crash_at
    command = [sys.executable, "-m", "connector", "--config", str(config.source), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


NIGHT = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)  # 02:00 in Buenos Aires: the night slot


@pytest.mark.parametrize("now", [NOW, NIGHT], ids=["day", "night"])
def test_status_says_how_far_a_send_got_while_busy_and_after(tmp_path: Path, now: datetime) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(PRODUCTS))
        config = setup(tmp_path, sb)
        text = config.source.read_text("utf-8")
        config.source.write_text(text.replace("[alephee]\n", "[alephee]\nbatch_size = 50\n"))
        rows = catalog_rows(PRODUCTS)
        drop(config, "stock-1.csv", export(rows))
        killed = run_cli(config, "once", now=now, crash_at="sync.after_commit@2")
        assert killed.returncode in (-9, 137), killed.stderr[-2000:]

        status = run_connector(config, "status", now=now)
        assert "Last send was interrupted at 100 of 250 products (2 calls" in status.stdout
        with FileLock(str(config.folders.state / RUNNING_MARKER)):  # a run busy with it
            busy = run_connector(config, "status", now=now).stdout
        assert re.search(
            r"Sending: 100 of 250 products, about \d+ (s|min) left at [\d,]+ calls/min", busy
        ), busy
        night_end = "; the night slot ends 2026-11-24 06:00"  # [schedule] night_end, local
        assert (night_end in busy) == (now == NIGHT), busy

        later = now + timedelta(minutes=1)  # a pinned clock restarts: the next run is later
        again = run_cli(config, "once", now=later)
        assert again.returncode == 0, again.stderr[-2000:]
        after = run_connector(config, "status", now=later).stdout
        assert re.search(r"Last send: 150 of 150 products in 3 calls at [\d,]+ calls/min", after), (
            after
        )
        logged = "".join(p.read_text("utf-8") for p in config.log_dir.glob("*.log*"))
        assert re.search(r"products: 150 of 150, done at [\d,]+ calls/min", logged)
