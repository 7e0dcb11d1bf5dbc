"""``connector report``, ``connector status --check`` and the page written after ``once``, as
real processes; the Nagios levels in-process with an injected clock."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from connector import runlog
from connector.alerts import after_pass
from connector.report.check import check_line
from connector.runlog import RunSummary
from connector.runner import Options, StopFlag, open_state, run
from connector.sandbox.fixtures import make_catalog
from connector.slots import iso
from tests.operator_support import catalog_rows, drop, export, run_connector, setup
from tests.report_support import NOON, busy_site
from tests.workspace_support import fast_sandbox


def test_once_writes_the_report_and_report_writes_it_on_demand(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(tmp_path / "site", sb, "\n[report]\npath = \"pages/connector.html\"\n")
        drop(config, "stock-1.csv", export(catalog_rows(5)))
        done = run_connector(config, "once")
        assert done.returncode == 0, done.stderr
    page = config.folders.state.parent / "pages" / "connector.html"
    assert config.report_path == page
    text = page.read_text(encoding="utf-8")
    assert 'data-last="files">1</td>' in text and 'data-last="sent">5</td>' in text
    elsewhere = tmp_path / "other.html"
    done = run_connector(config, "report", "--output", str(elsewhere))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Report written to {elsewhere}"
    assert elsewhere.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_status_check_warns_on_failed_files_and_refusals(tmp_path: Path) -> None:
    config = busy_site(tmp_path / "site", locale="en-US")
    done = run_connector(config, "status", "--check", now=NOON + timedelta(minutes=5))
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stdout.strip()
    assert "\n" not in line and "|" not in line
    assert line.startswith("CONNECTOR WARNING - 1 file(s) failed since ")
    assert line.endswith("(+1)")  # and the refusals


def test_status_check_levels(tmp_path: Path) -> None:
    config = busy_site(tmp_path / "site", extra="[alerts]\nno_contact_hours = 6\n")
    failed_path = next(config.folders.failed.glob("*.csv"))
    for path in config.folders.failed.iterdir():
        path.unlink()
    conn = open_state(config)
    try:
        conn.execute("DELETE FROM refused")
        code, line = check_line(config, NOON + timedelta(hours=1))
        assert (code, line.split(" - ")[0]) == (0, "CONNECTOR OK"), line
        assert "Todo en orden" in line
        # a run that stopped on Alephee: CRITICAL
        stopped = NOON + timedelta(hours=2)
        runlog.record(conn, "once", iso(stopped), iso(stopped), 3, RunSummary(), "unreachable")
        runlog.set_health(conn, {"last_contact": iso(NOON)})
        code, line = check_line(config, stopped)
        assert code == 2 and line.startswith("CONNECTOR CRITICAL - La última ejecución"), line
        # normal again, but the last contact is 7 hours old: still CRITICAL
        later = NOON + timedelta(hours=7)
        runlog.record(conn, "once", iso(later), iso(later), 0, RunSummary(), "")
        code, line = check_line(config, later)
        assert code == 2 and "Sin contacto exitoso con Alephee desde el" in line, line
    finally:
        conn.close()
    assert not failed_path.exists()


def test_run_writes_the_report_after_a_pass(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(tmp_path / "site", sb)
        drop(config, "stock-1.csv", export(catalog_rows(5)))
        stop = StopFlag()
        options = Options(progress=False, now=lambda: NOON)
        passes: list[int] = []

        def hook(conn: sqlite3.Connection) -> None:
            after_pass(config, conn, NOON)
            passes.append(1)
            stop.event.set()  # one pass is enough

        options.after_pass = hook
        assert run(config, options, stop) == 0
    assert passes == [1]
    text = config.report_path.read_text(encoding="utf-8")
    # the pass of 'run' is on the page (whether it took the file already depends on timing)
    assert '<td class="d">23/11/2026 12:00</td><td>run</td>' in text
    assert 'data-total="runs">1</td>' in text
