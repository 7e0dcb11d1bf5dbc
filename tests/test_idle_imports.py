"""``connector once`` with nothing to do loads no data library (issue 14: an idle pass costs
about Python's start), and the change queue is still sent when only it holds work.

Time is not asserted here (bench/bench_targets.py measures it); what makes an idle pass slow
is importing pandas, pyarrow and openpyxl, and that is asserted, on a real process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from connector import db, runner
from connector.clock import TEST_NOW
from connector.config import Config
from connector.sandbox.fixtures import make_catalog
from tests.workspace_support import ROOT, fast_sandbox, workspace

HEAVY = {"pandas", "pyarrow", "numpy", "openpyxl", "python_calamine"}
DAY = "2026-11-23T15:00:00Z"  # 12:00 in Buenos Aires
LATER = "2026-11-23T15:05:00Z"  # five minutes on: no order cycle is due yet
NO_ORDERS = "[orders]\nenabled = false\n"


def once_importing(config: Config, now: str, *args: str) -> tuple[int, set[str], str]:
    """Run ``python -X importtime -m connector once``; its exit code and top-level imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env.pop("CONNECTOR_CRASH_AT", None)
    env["PYTHONPATH"] = str(ROOT)
    env[TEST_NOW] = now
    command = [sys.executable, "-X", "importtime", "-m", "connector"]
    done = subprocess.run(
        [*command, "--config", str(config.source), "once", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=str(config.source.parent),
    )
    names = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return done.returncode, names, done.stdout + done.stderr[-2000:]


def test_an_idle_once_with_orders_recently_run_imports_no_data_library(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb)
        code, names, out = once_importing(config, DAY)  # fresh state: the order cycles are due
        assert code == 0, out
        assert "orders written 0" in out
        assert "httpx" in names and "connector" in names  # the parse sees the imports
        code, names, out = once_importing(config, LATER)
        assert code == 0, out
        assert "calls 0" in out  # nothing was due: nothing asked of Alephee
        assert names & HEAVY == set(), out


def test_an_idle_once_without_orders_imports_no_data_library(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        code, names, out = once_importing(config, DAY)
        assert code == 0, out
        assert "files 0" in out and "calls 0" in out
        assert names & HEAVY == set(), out


def test_a_file_in_the_inbox_still_loads_the_pipeline(tmp_path: Path) -> None:
    """The counterpart: the gate opens for a file (else the idle assertion proves nothing)."""
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        lines = ["Exportación ERP", "Código;Descripción;Stock;Precio", "0001;Artículo;5;1.000,00"]
        drop = config.folders.inbox / "stock.csv"
        drop.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
        os.utime(drop, (0, 0))  # long settled: ready at once
        code, names, out = once_importing(config, DAY)
        assert code == 1 and "files 1" in out, out  # read; its product is not in the catalog
        assert {"pandas", "pyarrow"} <= names


def test_the_queue_alone_opens_the_products_side(tmp_path: Path) -> None:
    """Changes left queued by an earlier pass (Alephee was down, or the night slot) are sent
    by a pass that finds no file: the gate looks at the queue table."""
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(1))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        conn = runner.open_state(config)
        try:
            assert not runner._queue_waiting(conn)
            with db.atomic(conn):
                conn.execute(
                    "INSERT INTO queue (sku, grp, brand, quantity, due_at, reason, source, "
                    "line, as_of, enqueued_at) VALUES (?, 'stock', 'ACME', 7, ?, 'changed', "
                    "'stock.csv', 2, ?, ?)",
                    (make_catalog(1)[0]["Identification"]["SKU"], DAY, DAY, DAY),
                )
            assert runner._queue_waiting(conn)
        finally:
            conn.close()
        code, names, out = once_importing(config, LATER)
        assert code == 0 and "sent 1 (accepted 1" in out, out
        assert "pandas" in names
        left = sqlite3.connect(config.db_path).execute("SELECT COUNT(*) FROM queue").fetchone()
        assert left == (0,)


def test_no_queue_table_means_nothing_waits(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "state.db")
    try:
        assert not runner._queue_waiting(conn)
    finally:
        conn.close()
