"""No file can stop, fool or stall the connector: real CLI runs, real files, real kills.

Each case checks the whole outcome: the bad file in failed/ with a readable reason, the good
files of the same pass applied in the sandbox, no traceback, and the next run healthy."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.config import Config
from connector.intake.readiness import Readiness
from connector.intake.scan import Candidate
from connector.sandbox.fixtures import make_catalog
from tests.intake_support import ledger
from tests.reader_support import poison_workbook, write_workbook
from tests.workspace_support import fast_sandbox, run_cli, workspace

NO_ORDERS = "[orders]\nenabled = false\n"
IN_ORDER = 'order_pattern = "stock-(?P<seq>\\\\d+)"\n'


def export(rows: list[tuple[str, int]], *, extra: list[str] | None = None) -> bytes:
    lines = ["Exportación ERP", "Código;Descripción;Stock;Precio"]
    lines += [f"{sku};Artículo;{qty};1.000,00" for sku, qty in rows] + (extra or [])
    return "".join(line + "\r\n" for line in lines).encode("cp1252")


def report_of(config: Config, name: str) -> str:
    [report] = config.folders.failed.glob(f"{name}*.error.txt")
    return report.read_text(encoding="utf-8-sig")


def test_a_poison_workbook_fails_alone_and_the_pass_goes_on(tmp_path: Path) -> None:
    """A 5 KB workbook that makes the XLSX engine abort: only the reader's child process
    dies; the file goes to failed/ with the reason, the other files of the pass are sent."""
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        inbox = config.folders.inbox
        good = write_workbook(
            tmp_path / "good.xlsx",
            {"Hoja": [["t"], ["Código", "Stock", "Precio"], ["0000002", 9, 10]]},
        )
        poison_workbook(good, inbox / "stock-poison.xlsx", "strings")
        poison_workbook(good, inbox / "stock-far.xlsx", "bin")
        (inbox / "stock-good.csv").write_bytes(export([("0000001", 33)]))
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert sb.product("0000001")["Stock"]["Quantity"] == 33
        assert sb.product("0000002")["Stock"]["Quantity"] == 9  # the far cell did not matter
        assert sorted(p.name for p in config.folders.failed.iterdir()) == [
            "stock-poison.xlsx",
            "stock-poison.xlsx.error.txt",
        ]
        report = report_of(config, "stock-poison.xlsx")
        assert "the reader was stopped by signal 6" in report and "What to do" in report
        assert run_cli(config, "once").returncode == 0  # the next run is healthy


def test_a_file_the_connector_dies_on_goes_to_failed_after_three_attempts(
    tmp_path: Path,
) -> None:
    """Killed (SIGKILL) each time right after claiming the file, before reading it: the
    attempt was counted first, so after three deaths the file is set aside and the pass
    does everything else."""
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=IN_ORDER + NO_ORDERS)
        inbox = config.folders.inbox
        (inbox / "stock-1.csv").write_bytes(export([("0000001", 11)]))
        (inbox / "stock-2.csv").write_bytes(export([("0000002", 22)]))
        for attempt in (1, 2, 3):
            proc = run_cli(config, "once", crash_at="intake.after_claim")
            assert proc.returncode in (-9, 137), proc.stderr
            [row] = ledger(config)
            assert (row["name"], row["status"], row["attempts"]) == (
                "stock-1.csv",
                "claimed",
                attempt,
            )
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        assert [(r["name"], r["status"]) for r in ledger(config)] == [
            ("stock-1.csv", "failed"),
            ("stock-2.csv", "done"),
        ]
        assert sb.product("0000002")["Stock"]["Quantity"] == 22
        assert sb.updates("0000001") == 0
        report = report_of(config, "stock-1.csv")
        assert "stopped abruptly 3 times while processing this file" in report
        assert run_cli(config, "once").returncode == 0


def test_after_one_death_the_file_is_read_again_and_used(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        (config.folders.inbox / "stock-1.csv").write_bytes(export([("0000001", 11)]))
        assert run_cli(config, "once", crash_at="intake.after_claim").returncode in (-9, 137)
        assert run_cli(config, "once").returncode == 0
        [row] = ledger(config)
        assert (row["status"], row["attempts"]) == ("done", 2)  # read in a child process
        assert sb.product("0000001")["Stock"]["Quantity"] == 11


def test_a_kill_between_ingest_and_the_ledger_writes_the_rejects_report_once(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        body = export([("0000001", 4)], extra=["0000002;Artículo;-3;1.000,00"])
        (config.folders.inbox / "stock-1.csv").write_bytes(body)
        killed = run_cli(config, "once", crash_at="intake.after_handler")
        assert killed.returncode in (-9, 137)
        assert len(list(config.folders.outbox.glob("rejects-*"))) == 1
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr
        [report] = config.folders.outbox.glob("rejects-*")
        assert "-3" in report.read_text(encoding="cp1252")
        assert [r["status"] for r in ledger(config)] == ["done"]


def test_a_failed_file_with_a_very_long_name_ends_in_failed_with_its_report(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        name = "stock-" + "x" * 241 + ".csv"  # 251 bytes: <name>.error.txt would be 261
        (config.folders.inbox / name).write_bytes(b"\x00\x01\x02" * 500)
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr
        failed = sorted(p.name for p in config.folders.failed.iterdir())
        assert len(failed) == 2 and failed[1].endswith(".csv.error.txt"), failed
        assert all(len(n.encode()) <= 255 for n in failed)
        report = (config.folders.failed / failed[1]).read_text(encoding="utf-8-sig")
        assert f"File: {name}" in report and "binary data" in report
        assert [(r["status"], r["settled"]) for r in ledger(config)] == [("failed", 1)]
        again = run_cli(config, "once")
        assert again.returncode == 0 and "could not be moved" not in again.stderr


def test_a_cut_csv_waits_for_the_grace_then_fails_with_the_reason(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(
            tmp_path,
            sb,
            extra="incomplete_grace_seconds = 3600\nsettle_wait_seconds = 4\n" + NO_ORDERS,
        )
        cut = config.folders.inbox / "stock-1.csv"
        cut.write_bytes(export([("0000001", 11), ("0000002", 1005)])[:-4])  # "10" of "1.000,00"
        assert run_cli(config, "once").returncode == 0
        assert cut.exists() and ledger(config) == []  # waiting for the ERP to finish it
        impatient = workspace(tmp_path / "again", sb, extra=NO_ORDERS)
        moved = impatient.folders.inbox / "stock-1.csv"
        moved.write_bytes(cut.read_bytes())
        proc = run_cli(impatient, "once")
        assert proc.returncode == 1, proc.stderr
        assert "has no line break at its end" in report_of(impatient, "stock-1.csv")
        assert sb.updates("0000001") == 0 and sb.updates("0000002") == 0


WRITER = """
import sys, time
with open(sys.argv[1], "ab") as handle:
    handle.write(b"SKU;Stock\\r\\nA;1\\r\\n")
    handle.flush()
    print("open", flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_file_another_process_holds_open_for_writing_is_not_ready(tmp_path: Path) -> None:
    """Complete, old enough and stable, but another program still has it open for writing
    (on Linux, visible in /proc for the same user): it waits until that program closes it."""
    from connector.config import IntakeSettings

    path = tmp_path / "stock.csv"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        readiness = Readiness(IntakeSettings(min_age_seconds=0, stable_checks=1))
        info = path.stat()
        as_of = datetime(2026, 1, 1, tzinfo=UTC)
        candidate = Candidate(path, info.st_size, info.st_mtime_ns, as_of, (0, 0, 0, "stock.csv"))
        now = time.time()
        readiness.check(candidate, now)
        verdict = readiness.check(candidate, now + 5)
        assert not verdict.ready
        assert "open for writing by another program (python" in verdict.reason
        assert f"process {writer.pid})" in verdict.reason
    finally:
        writer.kill()
        writer.wait()
        if writer.stdout is not None:
            writer.stdout.close()
    assert readiness.check(candidate, now + 10).ready


def test_check_suggests_skipping_footer_rows_and_a_run_then_exits_0(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        body = export([("0000001", 4)], extra=["TOTAL;;;12.345", "Fin del listado"])
        sample = tmp_path / "stock-1.csv"
        sample.write_bytes(body)
        proc = run_cli(config, "check", str(sample))
        assert (
            "NOTE     stock-1.csv: the last 2 rows are rejected (the first: 'TOTAL')" in proc.stdout
        )
        assert "add footer_rows = 2" in proc.stdout
        shipped = config.folders.mappings / "stock-prices.toml"
        text = shipped.read_text(encoding="utf-8").replace("# footer_rows = 2", "footer_rows = 2")
        shipped.write_text(text, encoding="utf-8")
        (config.folders.inbox / "stock-1.csv").write_bytes(body)
        run = run_cli(config, "once")
        assert run.returncode == 0, run.stdout + run.stderr
        assert sb.product("0000001")["Stock"]["Quantity"] == 4
        assert list(config.folders.outbox.glob("rejects-*")) == []
