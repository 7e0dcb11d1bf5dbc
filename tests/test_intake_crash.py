"""Crash safety with real kills: a subprocess is SIGKILLed at each step, a fresh run finishes.

Every file must end archived (or failed, for the bad one) exactly once, the handler's durable
effect must never be lost, and only a file interrupted before its outcome was recorded may be
processed a second time (the lead's processing is idempotent).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from connector.db import connect
from connector.intake import Ledger
from tests.intake_support import drop, files_in, sha

ROOT = Path(__file__).resolve().parent.parent
GOOD = [f"sku;stock\n{n:07d};{n}\n" for n in range(1, 7)]
BAD = "BAD no header\n"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
]


def seed(root: Path) -> None:
    inbox = root / "inbox"
    for n, content in enumerate(GOOD, start=1):
        drop(inbox / f"stock_{n}.csv", content, age=1000 - n)
    drop(inbox / "stock_7.csv", GOOD[-1], age=100)  # duplicate of the file done just before
    drop(inbox / "stock_8.csv", BAD, age=50)


def crash_run(root: Path, crash_at: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "CONNECTOR_CRASH_AT"}
    if crash_at:
        env["CONNECTOR_CRASH_AT"] = crash_at
    done = subprocess.run(
        [sys.executable, "-m", "tests.intake_support", "crash-run", str(root)],
        cwd=ROOT,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
    return done.returncode


@pytest.mark.parametrize(
    ("crash_at", "may_repeat"),
    [
        ("intake.after_claim@3", True),
        ("intake.after_handler@3", True),
        ("intake.after_done@3", False),
        ("intake.after_move@3", False),
        ("intake.after_settle@3", False),
        ("intake.after_duplicate", False),  # duplicate recorded, not moved yet
        ("intake.after_move@7", False),  # inside the duplicate's move
        ("intake.after_done@7", False),  # the failed file, before its move
        ("intake.after_move@8", False),  # the failed file, moved but without its report
    ],
)
def test_killed_at_every_step_a_fresh_run_finishes_the_job(
    tmp_path: Path, crash_at: str, may_repeat: bool
) -> None:
    seed(tmp_path)
    assert crash_run(tmp_path, crash_at) == -signal.SIGKILL
    assert crash_run(tmp_path, None) == 0

    assert files_in(tmp_path / "inbox") == []
    archived = Counter(sha(p.read_bytes()) for p in files_in(tmp_path / "archive"))
    assert archived == Counter({sha(c): 1 for c in GOOD} | {sha(GOOD[-1]): 2})  # + duplicate
    failed = files_in(tmp_path / "failed")
    assert sorted(p.name for p in failed) == ["stock_8.csv", "stock_8.csv.error.txt"]
    report = (tmp_path / "failed" / "stock_8.csv.error.txt").read_text(encoding="utf-8-sig")
    assert "has no header row" in report and sha(BAD) in report

    lines = (tmp_path / "results.txt").read_text().splitlines()
    processed = Counter(line.split()[0] for line in lines)
    assert set(processed) == {sha(c) for c in GOOD}  # no durable effect lost
    repeats = [digest for digest, n in processed.items() if n > 1]
    assert len(repeats) <= (1 if may_repeat else 0)
    assert max(processed.values()) <= 2

    ledger = Ledger(connect(tmp_path / "state" / "connector.db"))
    counts = ledger.counts()
    assert (counts["done"], counts["duplicate"], counts["failed"]) == (6, 1, 1)
    assert (counts["claimed"], counts["unsettled"]) == (0, 0)
    assert all(e.final_path and e.final_path.exists() for e in ledger.recent(1))
    resumed = [e.name for e in ledger.recent(1) if e.attempts > 1]
    assert resumed == (["stock_3.csv"] if may_repeat else [])  # the interrupted claim itself


def test_two_kills_in_a_row_then_a_clean_run(tmp_path: Path) -> None:
    seed(tmp_path)
    assert crash_run(tmp_path, "intake.after_done@2") == -signal.SIGKILL
    assert crash_run(tmp_path, "intake.after_claim@2") == -signal.SIGKILL
    assert crash_run(tmp_path, None) == 0
    assert files_in(tmp_path / "inbox") == []
    assert len(files_in(tmp_path / "archive")) == 7
    lines = (tmp_path / "results.txt").read_text().splitlines()
    assert {line.split()[0] for line in lines} == {sha(c) for c in GOOD}
