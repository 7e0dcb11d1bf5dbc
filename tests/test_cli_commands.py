"""The contract's commands as an operator runs them: demo, init, sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connector.cli import main
from connector.clock import TEST_NOW
from connector.config import load_config
from tests.workspace_support import ROOT


def cli(*args: str, timeout: float = 180, now: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env["PYTHONPATH"] = str(ROOT)
    if now:
        env[TEST_NOW] = now
    return subprocess.run(
        [sys.executable, "-m", "connector", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


DAY = "2026-11-23T15:00:00Z"  # 12:00 in Buenos Aires: price-only changes wait for the night
NIGHT = "2027-06-10T04:30:00Z"  # 01:30 in Buenos Aires: inside the night slot, a year on


@pytest.mark.parametrize("moment", [DAY, NIGHT], ids=["day", "night"])
def test_demo_runs_the_whole_loop_and_exits_0(tmp_path: Path, moment: str) -> None:
    proc = cli("demo", "--workdir", str(tmp_path / "demo"), now=moment)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    out = proc.stdout
    sent = 198 if moment == DAY else 396  # changes: stock, and at night the prices too
    assert f"changes sent {sent} (accepted {sent}" in out
    assert "orders written 26" in out and "cancellations 2" in out
    outbox = tmp_path / "demo" / "outbox"
    assert len(list(outbox.glob("orders-*.csv"))) == 1
    assert len(list(outbox.glob("cancellations-*.csv"))) == 2
    assert list((tmp_path / "demo" / "inbox").iterdir()) == []
    last = out.strip().splitlines()[-1]
    if moment == DAY:
        assert "deferred 198" in out
        assert last.startswith("Done. 198 price changes wait for the night slot (00:00-06:00")
    else:
        assert "deferred 0" in out
        assert last.startswith("Done. Price changes were sent at once: the demo ran inside")


def test_init_writes_a_config_that_only_needs_the_account(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "Conector Depósito"
    assert main(["init", str(target)]) == 0
    for name in ("inbox", "outbox", "archive", "failed", "state", "mappings"):
        assert (target / name).is_dir()
    assert (target / "mappings" / "stock-prices.toml").is_file()
    assert (target / "mappings" / "orders.toml").is_file()
    assert main(["init", str(target)]) == 2  # never overwrites without --force
    assert "exists already" in capsys.readouterr().err
    text = (target / "connector.toml").read_text(encoding="utf-8")
    (target / "connector.toml").write_text(
        text.replace("account_id = 0", "account_id = 77").replace(
            '# api_key = ""', 'api_key = "k-1234"'
        ),
        encoding="utf-8",
    )
    config = load_config(target / "connector.toml")
    assert config.alephee.account_id == 77 and config.folders.inbox == target / "inbox"


def test_sandbox_command_serves_on_loopback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-m", "connector", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        url = ""
        while not url and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if "listening on" in line:
                url = line.strip().split("listening on ")[-1]
        assert url.startswith("http://127.0.0.1:")
        reply = httpx.get(
            f"{url}/v2/accounts", params={"api_key": "sandbox-demo-key", "accountId": "1001"}
        )
        assert reply.status_code == 200 and reply.headers["x-ratelimit-limit"]
        assert (
            httpx.get(
                f"{url}/v2/accounts", params={"api_key": "nope", "accountId": "1001"}
            ).status_code
            == 401
        )
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode in (0, -15)
