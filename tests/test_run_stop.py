"""Stopping `run` (SIGTERM, Ctrl+C), and `status` never blocking a starting `once` (issue 11)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import Config
from connector.operator.status import instance_running
from connector.runner import BACKOFF_LIMIT_SECONDS, RUNNING_MARKER, backoff_seconds
from connector.sandbox import Fault
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.workspace_support import ROOT, fast_sandbox, run_cli, workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def start_run(config: Config) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env.pop("CONNECTOR_CRASH_AT", None)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "connector", "--config", str(config.source), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(config.source.parent),
    )


def wait_until(check, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stop_and_time(proc: subprocess.Popen[str], signum: int) -> tuple[float, str, str]:
    started = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    return time.monotonic() - started, out, err


def runs_recorded(config: Config) -> int:
    import sqlite3

    conn = sqlite3.connect(config.db_path)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_idle_run_stops_within_two_seconds_and_says_so(tmp_path: Path, signum: int) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(2))
        config = workspace(tmp_path, sb)
        proc = start_run(config)
        try:
            # the first pass (order cycles) is recorded: the loop is idle, waiting for files
            wait_until(lambda: runs_recorded(config) >= 1)
            assert instance_running(config)
            seconds, out, err = stop_and_time(proc, signum)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        assert seconds < 2.0, f"took {seconds:.2f} s to stop"
        assert "Stopping" in err
        assert "Traceback" not in out + err
        assert not instance_running(config)


def test_a_busy_run_stops_after_the_batch_in_flight(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        catalog = make_catalog(50)
        for product in catalog:  # every stock differs from the file's (equal ones are seeded)
            product["Stock"]["Quantity"] = 1_000
        sb.load_catalog(catalog)
        config = workspace(tmp_path, sb, extra="[orders]\nenabled = false\n")
        toml = config.source.read_text(encoding="utf-8")
        config.source.write_text(toml.replace("account_id =", "batch_size = 5\naccount_id ="))
        # each POST /v2/products takes 0.4 s; 50 products in batches of 5 take 4 s to send
        for _ in range(10):
            sb.inject(Fault(kind="delay", endpoint="POST /v2/products", delay_seconds=0.4))
        text = "Exportación ERP\r\nCódigo;Descripción;Stock;Precio\r\n" + "".join(
            f"{i:07d};Artículo;{i};1.000,00\r\n" for i in range(1, 51)
        )
        (config.folders.inbox / "stock.csv").write_bytes(text.encode("cp1252"))
        proc = start_run(config)
        try:
            wait_until(lambda: any(r.endpoint == "POST /v2/products" for r in sb.requests))
            seconds, _, err = stop_and_time(proc, signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        posts = [r for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert len(posts) < 10, "it sent every batch before stopping"
        assert seconds < 2.0, f"took {seconds:.2f} s to stop"
        applied = sum(sb.updates(f"{i:07d}") for i in range(1, 51))
        again = run_cli(config, "once")
        assert again.returncode == 0, again.stderr
        # what was sent before the stop is not sent again: state was consistent
        assert sum(sb.updates(f"{i:07d}") for i in range(1, 51)) == 50
        assert applied == 5 * len(posts)


def test_status_probing_never_makes_a_starting_once_exit_4(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra="[orders]\nenabled = false\n")
        config.folders.state.mkdir(parents=True, exist_ok=True)
        done = threading.Event()
        probes = 0

        def probe() -> None:
            nonlocal probes
            while not done.is_set():
                instance_running(config)
                probes += 1

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            codes = [run_cli(config, "once").returncode for _ in range(4)]
        finally:
            done.set()
            prober.join()
        assert probes > 100
        assert codes == [0, 0, 0, 0]
        assert (config.folders.state / RUNNING_MARKER).exists()


def test_run_keeps_running_after_an_unexpected_error(tmp_path: Path) -> None:
    import sqlite3

    with fast_sandbox() as sb:
        sb.add_orders(make_orders(2))
        sb.inject(Fault(kind="bad_shape", endpoint="GET /v2/orders"))
        config = workspace(tmp_path, sb)
        proc = start_run(config)
        try:
            wait_until(lambda: runs_recorded(config) >= 1)
            conn = sqlite3.connect(config.db_path)
            try:
                (code,) = conn.execute("SELECT exit_code FROM runs").fetchone()
            finally:
                conn.close()
            assert code == 5
            assert proc.poll() is None  # still watching
            _, out, err = stop_and_time(proc, signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 0, err
        console = out + err
        assert "Traceback" not in console
        assert len([line for line in console.splitlines() if "unexpected error" in line]) == 1
        assert "Traceback" in (config.log_dir / "connector.log").read_text(encoding="utf-8")


@settings(max_examples=200)
@given(rescan=st.floats(0.05, 3600.0), streak=st.integers(0, 200))
def test_the_wait_after_refused_passes_doubles_up_to_the_limit(rescan: float, streak: int) -> None:
    wait = backoff_seconds(streak, rescan)
    assert rescan <= wait <= max(rescan, BACKOFF_LIMIT_SECONDS)
    assert backoff_seconds(streak + 1, rescan) >= wait  # never shorter after one more refusal
    if streak <= 1:
        assert wait == rescan
    elif rescan * 2 ** (streak - 1) <= BACKOFF_LIMIT_SECONDS:
        assert wait == pytest.approx(rescan * 2 ** (streak - 1))


def test_a_run_that_alephee_refuses_waits_longer_each_time(tmp_path: Path) -> None:
    """Every POST refused whole (a price list Alephee does not have): `run` keeps watching, but
    does not send the same refused request every rescan."""
    from tests.test_sync import export
    from tests.test_sync_refusals import edit_config, rows

    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra="rescan_seconds = 0.5\n[orders]\nenabled = false\n")
        config = edit_config(config, price_list_id=2)  # not in Alephee: every request is refused
        (config.folders.inbox / "stock-1.csv").write_bytes(export(rows(5)))
        proc = start_run(config)
        try:
            wait_until(lambda: runs_recorded(config) >= 4, 60)
            _, _, err = stop_and_time(proc, signal.SIGTERM)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert proc.returncode == 3 and "Traceback" not in err, err[-2000:]  # the last pass's
        log = (config.log_dir / "connector.log").read_text(encoding="utf-8")
        waits = [line.rsplit(" in ", 1)[1] for line in log.splitlines() if "tried again in" in line]
        assert waits[:3] == ["0.5 s", "1 s", "2 s"], waits
        posts = [r for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert posts and all(r.status == 400 for r in posts)
        assert len(posts) <= 2 * runs_recorded(config)  # the batch and one empty probe a pass
        starts = [posts[0].at] + [b.at for a, b in pairwise(posts) if b.at - a.at > 0.3]
        gaps = [b - a for a, b in pairwise(starts)]  # between the passes' first POSTs
        # Each pass waited at least what it said (a pass's own time only adds to a gap).
        assert len(gaps) >= 3, gaps
        assert all(g >= w - 0.05 for g, w in zip(gaps[:3], (0.5, 1, 2), strict=True)), gaps
