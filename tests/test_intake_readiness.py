"""Readiness: never before the last byte, once after; growing, half-written, marked files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.intake import Intake, readiness
from connector.intake.scan import Candidate
from tests.intake_support import Recorder, SlowWriter, drop, files_in, open_intake, sha

CAREFUL = {"min_age_seconds": 1.0, "stable_checks": 2, "check_interval_seconds": 0.25}


class FakeClock:
    """Injected clock and sleep: time moves only when the intake sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = time.time()
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def fake_intake(root: Path, clock: FakeClock, **settings: object) -> Intake:
    merged = {**CAREFUL, **settings}
    return open_intake(root, settings=merged, clock=clock, sleep=clock.sleep, incomplete_grace=60)


def test_a_file_written_in_chunks_is_ready_once_after_its_last_byte(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, settings=CAREFUL)
    path = intake.inbox / "stock.csv"
    writer = SlowWriter(path, b"0012345;10;1.234,50\n" * 50, chunks=30, pause=0.1)
    writer.start()
    recorder, reported = Recorder(), []
    deadline = time.time() + 20
    while time.time() < deadline and not (recorder.claims and not writer.is_alive()):
        for candidate in intake.ready(wait=False):
            reported.append((time.time(), candidate.size))
            intake.process(candidate, recorder)
        time.sleep(0.05)
    writer.join()
    for _ in range(10):  # and never again
        assert intake.ready(wait=False) == []
        time.sleep(0.05)
    assert writer.finished_at is not None
    assert len(reported) == 1
    assert reported[0][0] >= writer.finished_at
    assert reported[0][1] == 30 * len(writer.chunk)
    assert recorder.names == ["stock.csv"]
    [archived] = files_in(intake.destinations.archive)
    assert archived.stat().st_size == 30 * len(writer.chunk)


@pytest.mark.slow
def test_once_mode_waits_for_a_50_mb_file_to_finish(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, settings=CAREFUL)
    path = intake.inbox / "stock big.csv"
    chunk = bytes(range(256)) * 4095 + bytes(range(255)) + b"\n"  # 1 MiB, ends a line
    writer = SlowWriter(path, chunk, chunks=50, pause=0.06)
    writer.start()
    while not path.exists():
        time.sleep(0.01)
    ready = intake.ready(wait=True)
    returned_at = time.time()
    writer.join()
    assert writer.finished_at is not None and returned_at >= writer.finished_at
    assert [c.path for c in ready] == [path]
    assert ready[0].size == 50 * len(chunk)
    recorder = Recorder()
    intake.process(ready[0], recorder)
    assert recorder.claims[0].sha256 == sha(chunk * 50)


WRITER = """
import sys, time
with open(sys.argv[1], "ab") as handle:
    for _ in range(12):
        handle.write(b"0012345;10\\n" * 100)
        handle.flush()
        time.sleep(0.2)
"""


@pytest.mark.slow
def test_a_file_another_process_holds_open_and_grows_waits(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, settings=CAREFUL)
    path = intake.inbox / "Depósito Central stock ñ.csv"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        while not path.exists():
            time.sleep(0.01)
        while process.poll() is None:
            assert intake.ready(wait=False) == []
            time.sleep(0.05)
        assert intake.waiting() == [path]
        assert (
            "changed" in intake.waiting_reasons()[path]
            or "checking" in (intake.waiting_reasons()[path])
        )
    finally:
        process.wait()
    deadline = time.time() + 10
    ready = []
    while not ready and time.time() < deadline:
        ready = intake.ready(wait=False)
        time.sleep(0.1)
    assert [c.path for c in ready] == [path]
    assert ready[0].size == 12 * 100 * len(b"0012345;10\n")
    assert intake.waiting() == []


def test_watcher_mode_counts_only_checks_spaced_by_the_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock)
    drop(intake.inbox / "a.csv", "x", age=3600)
    for _ in range(5):  # a burst of scans in the same instant proves nothing
        assert intake.ready(wait=False) == []
    clock.now += 0.25
    assert intake.ready(wait=False) == []
    clock.now += 0.25
    assert [c.path.name for c in intake.ready(wait=False)] == ["a.csv"]


def test_once_mode_sleeps_until_a_young_file_is_old_enough(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock, min_age_seconds=5.0)
    drop(intake.inbox / "a.csv", "x", age=0)
    ready = intake.ready(wait=True)
    assert [c.path.name for c in ready] == ["a.csv"]
    assert 5.0 <= sum(clock.slept) <= 6.0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    min_age=st.floats(0.0, 8.0),
    checks=st.integers(1, 4),
    interval=st.sampled_from([0.1, 0.25, 1.0, 2.0]),
    age=st.floats(-5.0, 10.0),
)
def test_a_watcher_looks_again_when_a_file_comes_of_age_not_an_interval_later(
    tmp_path_factory: pytest.TempPathFactory,
    min_age: float,
    checks: int,
    interval: float,
    age: float,
) -> None:
    """Scanning when ``next_scan_in`` says, a file is ready no later than the moment both
    rules hold (plus the clock margin), and never before (issue 14: file ready -> first POST)."""
    root = tmp_path_factory.mktemp("come-of-age")
    clock = FakeClock()
    intake = fake_intake(
        root, clock, min_age_seconds=min_age, stable_checks=checks, check_interval_seconds=interval
    )
    path = drop(intake.inbox / "a.csv", "x\n")
    stamp = clock.now - age  # the file's own time, on the injected clock
    os.utime(path, (stamp, stamp))
    start = clock.now
    by_age = max(0.0, min_age - age) if age >= 0 else min_age  # a future time: our sightings
    due = max(by_age, checks * interval)  # the first instant both rules hold
    while not intake.ready(wait=False):
        assert clock.now - start <= due + interval + 1.0, "never became ready"
        clock.now += intake.next_scan_in()
    waited = clock.now - start
    assert waited >= due - 1e-6
    assert waited <= due + readiness.AGE_MARGIN + 1e-6


def test_a_future_mtime_still_waits_the_minimum_age(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock, min_age_seconds=5.0)
    drop(intake.inbox / "a.csv", "x", age=-3600)  # the share's clock is an hour ahead
    assert intake.ready(wait=False) == []
    clock.now += 3.0
    assert intake.ready(wait=False) == []
    clock.now += 2.5
    assert [c.path.name for c in intake.ready(wait=False)] == ["a.csv"]


def write_xlsx(path: Path) -> bytes:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>" * 2000)
        archive.writestr("xl/worksheets/sheet1.xml", "<row/>" * 20000)
    return path.read_bytes()


def test_a_half_written_xlsx_waits_then_goes_on_for_the_reader_to_fail(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock)
    whole = write_xlsx(tmp_path / "whole.xlsx")
    drop(intake.inbox / "half.xlsx", whole[: len(whole) // 2], age=0)
    drop(intake.inbox / "whole.xlsx", whole, age=0)
    ready = intake.ready(wait=True)  # gives up on the half file after settle_timeout
    assert [c.path.name for c in ready] == ["whole.xlsx"]
    assert sum(clock.slept) >= intake.settle_timeout
    assert "not a complete .xlsx" in intake.waiting_reasons()[intake.inbox / "half.xlsx"]
    clock.now += 60
    assert [c.path.name for c in intake.ready(wait=False)] == ["half.xlsx", "whole.xlsx"]


def test_an_empty_file_waits_for_the_grace_period(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock)
    drop(intake.inbox / "empty.csv", b"", age=0)
    for _ in range(3):
        clock.now += 1
        assert intake.ready(wait=False) == []
    assert "empty" in intake.waiting_reasons()[intake.inbox / "empty.csv"]
    clock.now += 60
    assert [c.size for c in intake.ready(wait=False)] == [0]


def test_an_old_empty_file_does_not_wait_again_in_a_new_run(tmp_path: Path) -> None:
    """A scheduled `once` keeps no sightings: the file's own age counts toward the grace."""
    clock = FakeClock()
    drop(tmp_path / "inbox" / "empty.csv", b"", age=3600)
    intake = fake_intake(tmp_path, clock)
    for _ in range(3):
        clock.now += 1
        ready = intake.ready(wait=False)
    assert [c.size for c in ready] == [0]


def test_done_marker_is_required_and_travels_with_the_file(tmp_path: Path) -> None:
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock, done_marker=True)
    drop(intake.inbox / "stock.csv", "sku;stock\n1;2\n")
    for _ in range(3):
        clock.now += 1
        assert intake.ready(wait=False) == []
    assert "done marker" in intake.waiting_reasons()[intake.inbox / "stock.csv"]
    drop(intake.inbox / "stock.csv.done", "")
    [candidate] = intake.ready(wait=False)
    intake.process(candidate, Recorder())
    assert files_in(intake.inbox) == []
    assert sorted(p.name for p in files_in(intake.destinations.archive)) == [
        "stock.csv",
        "stock.csv.done",
    ]


def test_once_does_the_meanwhile_work_while_files_settle_and_counts_its_time(
    tmp_path: Path,
) -> None:
    """``connector once`` imports the data path while a file settles, not after it settled
    (issue 14: the second ``once``)."""
    clock = FakeClock()
    intake = fake_intake(tmp_path, clock, min_age_seconds=0.0, check_interval_seconds=1.0)
    calls: list[float] = []

    def imports(found: list[Candidate]) -> None:
        assert [c.path.name for c in found] == ["a.csv"]
        calls.append(clock.now)
        clock.now += 1.5

    assert intake.ready(wait=True, meanwhile=imports) == []  # nothing in the inbox: no work
    assert calls == []
    drop(intake.inbox / "a.csv", "x\n")
    start = clock.now
    ready = intake.ready(wait=True, meanwhile=imports)
    assert [c.path.name for c in ready] == ["a.csv"]
    assert calls == [start]  # once, before the first wait
    # The first check counts as soon as the imports end (1.5 s), the second 1 s after it:
    # 2.5 s in all, against 3.5 s when the imports came after the checks.
    assert 2.5 <= clock.now - start <= 2.5 + 2 * readiness.AGE_MARGIN + 1e-6
