"""File intake through the real CLI: slow writers, many files, hostile files, kills, the lock."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from filelock import FileLock

from connector.sandbox.fixtures import make_catalog
from tests.intake_support import ledger
from tests.reader_support import add_part, write_workbook
from tests.workspace_support import ROOT, fast_sandbox, run_cli, workspace

NO_ORDERS = "[orders]\nenabled = false\n"
LAUGHS = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]>'


def export_lines(rows: list[tuple[str, int]], pad: int = 0) -> list[bytes]:
    lines = ["Exportación ERP", "Código;Descripción;Stock;Precio"]
    lines += [f"{sku};{'x' * pad or 'Artículo'};{qty};1.000,00" for sku, qty in rows]
    return [(line + "\r\n").encode("cp1252") for line in lines]


def env_for_cli() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env.pop("CONNECTOR_CRASH_AT", None)
    env["PYTHONPATH"] = str(ROOT)
    return env


@pytest.mark.slow
def test_run_processes_a_50mb_file_written_slowly_exactly_once(tmp_path: Path) -> None:
    root = tmp_path / "Depósito Central" / "exportación ñ"
    n = 20_000
    with fast_sandbox() as sb:
        catalog = make_catalog(n)
        for i, product in enumerate(catalog, start=1):  # every value differs: all are sent
            product["Stock"]["Quantity"] = i % 97 + 1  # (equal ones are seeded, not sent)
        sb.load_catalog(catalog)
        config = workspace(
            root,
            sb,
            extra="min_age_seconds = 1\nstable_checks = 2\ncheck_interval_seconds = 0.25\n"
            "rescan_seconds = 5\n" + NO_ORDERS,
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "connector", "--config", str(config.source), "run"],
            env=env_for_cli(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(3)  # the watcher is up and has scanned the empty inbox
            lines = export_lines([(f"{i:07d}", i % 97) for i in range(1, n + 1)], pad=2_500)
            target = config.folders.inbox / "stock-grande ñ.csv"
            chunk = len(lines) // 20 + 1
            with open(target, "wb") as handle:
                for start in range(0, len(lines), chunk):
                    handle.write(b"".join(lines[start : start + chunk]))
                    handle.flush()
                    time.sleep(0.25)
            assert target.stat().st_size > 50_000_000
            deadline = time.monotonic() + 180
            while target.exists() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert not target.exists(), "the file was never processed"
            _wait_for(lambda: sb.updates(f"{n:07d}") == 1, 60)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        rows = ledger(config)
        assert [(r["name"], r["status"]) for r in rows] == [("stock-grande ñ.csv", "done")]
        assert all(sb.updates(f"{i:07d}") == 1 for i in range(1, n + 1, 997))
        assert sb.product(f"{n:07d}")["Stock"]["Quantity"] == n % 97
        assert len(list(config.folders.archive.rglob("stock-grande ñ.csv"))) == 1


def _wait_for(check, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_twenty_files_at_once_then_one_while_stopped_in_order(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(3))
        config = workspace(
            tmp_path, sb, extra='order_pattern = "stock-(?P<seq>\\\\d+)"\n' + NO_ORDERS
        )
        names = [f"stock-{seq}.csv" for seq in range(1, 21)]
        for name in random.Random(4).sample(names, len(names)):  # written in shuffled order
            seq = int(name.split("-")[1].split(".")[0])
            (config.folders.inbox / name).write_bytes(b"".join(export_lines([("0000001", seq)])))
        assert run_cli(config, "once").returncode == 0
        order = [r["name"] for r in ledger(config)]
        assert order == names
        assert sb.product("0000001")["Stock"]["Quantity"] == 20
        assert sb.updates("0000001") == 1  # queued values coalesce: only the newest is sent
        (config.folders.inbox / "stock-21.csv").write_bytes(
            b"".join(export_lines([("0000001", 21)]))
        )
        assert run_cli(config, "once").returncode == 0
        assert [r["name"] for r in ledger(config)][-1] == "stock-21.csv"
        assert sb.product("0000001")["Stock"]["Quantity"] == 21
        assert len(list(config.folders.archive.rglob("*.csv"))) == 21


def test_hostile_files_fail_cleanly_and_good_files_go_through(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        inbox = config.folders.inbox
        good = write_workbook(
            tmp_path / "good.xlsx",
            {"Hoja": [["t"], ["Código", "Stock", "Precio"], ["0000002", 9, 10]]},
        )
        (inbox / "stock-good.csv").write_bytes(b"".join(export_lines([("0000001", 33)])))
        (inbox / "stock-truncated.xlsx").write_bytes(good.read_bytes()[:-300])
        with zipfile.ZipFile(good) as old, zipfile.ZipFile(inbox / "stock-bomb.xlsx", "w") as new:
            for item in old.infolist():
                data = old.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    data = LAUGHS + data.split(b"?>", 1)[-1]
                new.writestr(item.filename, data)
        add_part(good, inbox / "stock-zipbomb.xlsx", "xl/media/image1.bin", bytes(40 << 20))
        (inbox / "stock-junk.csv").write_bytes(os.urandom(4096))
        (inbox / "~$stock-owner.xlsx").write_bytes(b"owner file")
        (inbox / "stock-good2.xlsx").write_bytes(good.read_bytes())
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        assert sb.product("0000001")["Stock"]["Quantity"] == 33
        assert sb.product("0000002")["Stock"]["Quantity"] == 9
        failed = sorted(p.name for p in config.folders.failed.iterdir())
        for name in (
            "stock-truncated.xlsx",
            "stock-bomb.xlsx",
            "stock-zipbomb.xlsx",
            "stock-junk.csv",
        ):
            assert name in failed and f"{name}.error.txt" in failed, failed
            report = (config.folders.failed / f"{name}.error.txt").read_text(encoding="utf-8-sig")
            assert "What to do" in report
        assert (inbox / "~$stock-owner.xlsx").exists()  # Office owner files are never touched


def test_a_file_still_growing_waits_for_the_next_run(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        extra = "min_age_seconds = 2\nsettle_wait_seconds = 6\n" + NO_ORDERS
        config = workspace(tmp_path, sb, extra=extra)
        growing = config.folders.inbox / "stock-growing.csv"
        stop = threading.Event()

        def writer() -> None:
            with open(growing, "wb") as handle:
                for line in export_lines([("0000001", 1)]):
                    handle.write(line)
                while not stop.is_set():
                    handle.write(b"0000002;Art;1;1.000,00\r\n")
                    handle.flush()
                    time.sleep(0.2)

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            time.sleep(0.5)
            proc = run_cli(config, "once", timeout=180)
        finally:
            stop.set()
            thread.join()
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert growing.exists() and ledger(config) == []
        assert sb.updates("0000001") == 0


def test_a_second_instance_exits_4_and_a_dead_holder_frees_the_lock(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra=NO_ORDERS)
        config.folders.state.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(config.folders.state / "connector.lock"))
        with lock:
            proc = run_cli(config, "once")
        assert proc.returncode == 4
        assert "already running" in proc.stderr
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys, time; from filelock import FileLock; "
                "lock = FileLock(sys.argv[1]); lock.acquire(); "
                "print('held', flush=True); time.sleep(60)",
                str(config.folders.state / "connector.lock"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert run_cli(config, "once").returncode == 4
        holder.kill()
        holder.wait()
        holder.stdout.close()
        assert run_cli(config, "once").returncode == 0


def test_two_once_started_together_one_exits_4(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = workspace(tmp_path, sb, extra="min_age_seconds = 8\n" + NO_ORDERS)
        (config.folders.inbox / "stock-1.csv").write_bytes(b"".join(export_lines([("0000001", 4)])))
        cmd = [sys.executable, "-m", "connector", "--config", str(config.source), "once"]
        first = subprocess.Popen(cmd, env=env_for_cli(), stderr=subprocess.PIPE, text=True)
        probe = FileLock(str(config.folders.state / "connector.lock"), timeout=0)
        _wait_for(lambda: _held_by_other(probe), 60)  # the first one is inside its pass
        second = subprocess.Popen(cmd, env=env_for_cli(), stderr=subprocess.PIPE, text=True)
        codes = [first.wait(timeout=120), second.wait(timeout=120)]
        for proc in (first, second):
            assert proc.stderr is not None
            proc.stderr.close()
        assert sorted(codes) == [0, 4]  # the probe's instant check could, rarely, be first


def _held_by_other(probe: FileLock) -> bool:
    from filelock import Timeout

    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


CRASH_POINTS = [
    "intake.after_claim",
    "intake.after_handler",
    "intake.after_done",
    "intake.after_move",
    "intake.after_settle",
    "sync.after_post",
    "sync.after_commit",
]


@pytest.mark.slow
def test_random_sigkills_during_a_multi_file_run(tmp_path: Path) -> None:
    """Rounds of 6 files; in each, runs killed at random crash points until one completes."""
    rng = random.Random(20261123)
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(150))
        config = workspace(
            tmp_path, sb, extra='order_pattern = "stock-(?P<seq>\\\\d+)"\n' + NO_ORDERS
        )
        names: list[str] = []
        kills = 0
        for round_no in range(4):
            for seq in range(round_no * 6 + 1, round_no * 6 + 7):
                rows = [(f"{i:07d}", seq * 10 + i) for i in range(1, 151)]
                (config.folders.inbox / f"stock-{seq}.csv").write_bytes(
                    b"".join(export_lines(rows))
                )
                names.append(f"stock-{seq}.csv")
            for _ in range(10):
                point = rng.choice(CRASH_POINTS)
                nth = rng.randint(1, 2 if point.startswith("sync") else 4)
                proc = run_cli(config, "once", crash_at=f"{point}@{nth}")
                if proc.returncode in (-9, 137):
                    kills += 1
                    continue
                assert proc.returncode == 0, proc.stderr[-2000:]
                if not list(config.folders.inbox.glob("*.csv")):
                    break
        assert kills >= 4
        assert run_cli(config, "once").returncode == 0
        archived = sorted(p.name for p in config.folders.archive.rglob("*.csv"))
        assert archived == sorted(names)
        assert list(config.folders.failed.glob("*")) == []
        last = int(names[-1].split("-")[1].split(".")[0])
        for i in range(1, 151):
            assert sb.product(f"{i:07d}")["Stock"]["Quantity"] == last * 10 + i
        done = [r["name"] for r in ledger(config) if r["status"] == "done"]
        assert sorted(done) == sorted(names)
