"""Claim, process, archive or fail: order, duplicates, errors, recovery of interrupted moves."""

from __future__ import annotations

import logging
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.db import connect
from connector.errors import AlephUnavailable, BadInputFile, NetworkError
from connector.intake import Claim, Intake, Outcome
from connector.intake.ledger import FileFacts
from tests.intake_support import Recorder, drop, files_in, open_intake, sha


def run_once(intake: Intake, handler: Recorder) -> list[Outcome]:
    intake.recover()
    return [intake.process(c, handler) for c in intake.ready(wait=True)]


def test_twenty_files_each_processed_once_in_sequence_order(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, order_pattern=r"stock_(?P<seq>\d+)\.csv")
    ages = list(range(20))
    random.Random(7).shuffle(ages)  # mtimes disagree with the sequence
    for seq, age in zip(range(1, 21), ages, strict=True):
        drop(intake.inbox / f"stock_{seq}.csv", f"sku;stock\n1;{seq}\n", age=100 + age)
    recorder = Recorder()
    outcomes = run_once(intake, recorder)
    assert recorder.names == [f"stock_{seq}.csv" for seq in range(1, 21)]
    assert [o.status for o in outcomes] == ["done"] * 20
    assert run_once(intake, recorder) == []
    assert len(recorder.claims) == 20
    assert files_in(intake.inbox) == []
    day = datetime.now(intake.destinations.zone).date().isoformat()
    archived = files_in(intake.destinations.archive)
    assert {p.parent.name for p in archived} == {day}
    assert len(archived) == 20
    assert intake.ledger.counts()["done"] == 20


def test_claim_carries_path_sha_size_and_as_of(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, order_pattern=r"(?P<date>\d{8})")
    path = drop(intake.inbox / "stock_20250131.csv", "sku;stock\n1;2\n")
    recorder = Recorder()
    run_once(intake, recorder)
    [claim] = recorder.claims
    assert claim.path == path
    assert claim.sha256 == sha("sku;stock\n1;2\n")
    assert claim.size == len("sku;stock\n1;2\n")
    assert claim.as_of == datetime(2025, 1, 31, 3, tzinfo=UTC)  # midnight in Buenos Aires
    entry = intake.ledger.get(claim.id)
    assert (entry.status, entry.sha256, entry.settled) == ("done", claim.sha256, True)
    assert entry.final_path is not None and entry.final_path.exists()
    assert entry.counts == {"rows": 1}


def test_same_content_under_another_name_is_a_duplicate(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "stock.csv", "sku;stock\n1;2\n", age=200)
    drop(intake.inbox / "stock copia.csv", "sku;stock\n1;2\n", age=100)
    recorder = Recorder()
    outcomes = run_once(intake, recorder)
    assert [o.status for o in outcomes] == ["done", "duplicate"]
    assert "stock.csv" in outcomes[1].detail
    assert recorder.names == ["stock.csv"]
    assert sorted(p.name for p in files_in(intake.destinations.archive)) == [
        "stock copia.csv",
        "stock.csv",
    ]
    drop(intake.inbox / "stock.csv", "sku;stock\n1;2\n")  # the same name and content again
    assert [o.status for o in run_once(intake, recorder)] == ["duplicate"]
    assert recorder.names == ["stock.csv"]
    assert sorted(p.name for p in files_in(intake.destinations.archive)) == [
        "stock copia.csv",
        "stock-2.csv",
        "stock.csv",
    ]
    counts = intake.ledger.counts()
    assert (counts["done"], counts["duplicate"], counts["unsettled"]) == (1, 2, 0)


def test_bad_input_goes_to_failed_with_a_readable_report(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "stock ñ.csv", "garbage")
    error = BadInputFile("stock ñ.csv has no SKU column", hint="Check mappings/stock.toml.")
    outcomes = run_once(intake, Recorder(fail={"stock ñ.csv": error}))
    assert [(o.status, o.detail) for o in outcomes] == [("failed", "stock ñ.csv has no SKU column")]
    failed = intake.destinations.failed
    assert sorted(p.name for p in files_in(failed)) == ["stock ñ.csv", "stock ñ.csv.error.txt"]
    raw = (failed / "stock ñ.csv.error.txt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    report = raw.decode("utf-8-sig")
    for expected in (
        "has no SKU column",
        "Check mappings/stock.toml.",
        sha("garbage"),
        "What is wrong",
        "What to do",
        "When: ",
    ):
        assert expected in report
    assert intake.ledger.counts()["failed"] == 1


def test_unexpected_error_fails_that_file_and_the_next_one_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a", age=300)
    drop(intake.inbox / "b.csv", "b", age=200)
    recorder = Recorder(fail={"a.csv": ZeroDivisionError("division by zero")})
    with caplog.at_level(logging.INFO, logger="connector.intake"):
        outcomes = run_once(intake, recorder)
    assert [o.status for o in outcomes] == ["failed", "done"]
    assert recorder.names == ["a.csv", "b.csv"]
    report = (intake.destinations.failed / "a.csv.error.txt").read_text(encoding="utf-8-sig")
    assert "ZeroDivisionError: division by zero" in report
    assert "fault in the connector" in report
    assert "Traceback" not in report
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings and all(r.exc_info is None for r in warnings)  # no traceback on the console
    assert any(r.exc_info and r.levelno == logging.INFO for r in caplog.records)  # log file only


def test_a_handler_reporting_failure_without_raising_fails_the_file(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    intake.recover()
    [candidate] = intake.ready(wait=True)
    outcome = intake.process(candidate, lambda claim: Outcome("failed", "every row rejected"))
    assert outcome.status == "failed"
    assert (intake.destinations.failed / "a.csv").exists()


@pytest.mark.parametrize("error", [AlephUnavailable("Alephee is down"), NetworkError("reset")])
def test_stop_leaves_the_file_claimed_and_the_next_intake_resumes(
    tmp_path: Path, error: Exception
) -> None:
    intake = open_intake(tmp_path)
    path = drop(intake.inbox / "stock.csv", "sku;stock\n1;2\n")
    [candidate] = intake.ready(wait=True)
    with pytest.raises(type(error)):
        intake.process(candidate, Recorder(fail={"stock.csv": error}))
    assert path.exists()
    [claimed] = intake.ledger.claimed()
    later = open_intake(tmp_path, conn=connect(tmp_path / "state" / "connector.db"))
    recorder = Recorder()
    assert [o.status for o in run_once(later, recorder)] == ["done"]
    assert recorder.claims[0].id == claimed.id  # the same claim, taken up again
    entry = later.ledger.get(claimed.id)
    # A clean stop gives its attempt back: only attempts the process died in count.
    assert (entry.status, entry.attempts) == ("done", 1)
    assert files_in(later.inbox) == []


def test_a_failed_content_dropped_again_is_processed_again(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    run_once(intake, Recorder(fail={"a.csv": BadInputFile("bad mapping")}))
    drop(intake.inbox / "a.csv", "a")  # the operator fixed the mapping and dropped it again
    recorder = Recorder()
    assert [o.status for o in run_once(intake, recorder)] == ["done"]
    assert recorder.names == ["a.csv"]


def test_spaces_and_accents_in_folder_and_file_names(tmp_path: Path) -> None:
    intake = open_intake(tmp_path, inbox="Depósito Central")
    drop(intake.inbox / "stock ñ.csv", "sku;stock\n1;2\n", age=200)
    drop(intake.inbox / "precios São Paulo.csv", "bad\n", age=100)
    recorder = Recorder(fail={"precios São Paulo.csv": BadInputFile("sin columna SKU")})
    assert [o.status for o in run_once(intake, recorder)] == ["done", "failed"]
    assert [p.name for p in files_in(intake.destinations.archive)] == ["stock ñ.csv"]
    assert sorted(p.name for p in files_in(intake.destinations.failed)) == [
        "precios São Paulo.csv",
        "precios São Paulo.csv.error.txt",
    ]
    assert files_in(intake.inbox) == []


def test_archive_collisions_never_overwrite(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    for n in range(3):
        drop(intake.inbox / "stock.csv", f"version {n}")
        run_once(intake, Recorder())
    archived = files_in(intake.destinations.archive)
    assert sorted(p.name for p in archived) == ["stock-2.csv", "stock-3.csv", "stock.csv"]
    assert sorted(p.read_text() for p in archived) == ["version 0", "version 1", "version 2"]


def test_a_file_changed_after_it_was_found_ready_is_skipped(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    path = drop(intake.inbox / "a.csv", "a")
    [candidate] = intake.ready(wait=True)
    drop(path, "a, rewritten", age=0)
    recorder = Recorder()
    assert intake.process(candidate, recorder).status == "skipped"
    assert recorder.claims == [] and path.exists()
    assert intake.ledger.counts()["claimed"] == 0


def finished_but_not_moved(tmp_path: Path) -> tuple[Intake, Path, int]:
    """A ledger that says done with the file still in the inbox (a kill before the move)."""
    intake = open_intake(tmp_path)
    path = drop(intake.inbox / "stock.csv", "sku;stock\n1;2\n")
    [candidate] = intake.ready(wait=True)
    facts_sha = sha("sku;stock\n1;2\n")
    now = datetime.now(UTC)
    entry = intake.ledger.claim(
        FileFacts(path, candidate.size, candidate.mtime_ns, facts_sha, candidate.as_of), now
    )
    target = intake.destinations.target("done", path.name, now)
    intake.ledger.finish(
        entry.id, status="done", detail="", hint="", counts={}, target=target, now=now
    )
    return intake, path, entry.id


def test_recover_moves_a_file_the_ledger_says_is_done(tmp_path: Path) -> None:
    intake, path, entry_id = finished_but_not_moved(tmp_path)
    recorder = Recorder()
    assert run_once(intake, recorder) == []
    assert recorder.claims == [] and not path.exists()
    entry = intake.ledger.get(entry_id)
    assert entry.settled and entry.final_path is not None and entry.final_path.exists()


def test_recover_finishes_a_move_cut_in_half(tmp_path: Path) -> None:
    intake, path, entry_id = finished_but_not_moved(tmp_path)
    target = intake.ledger.get(entry_id).final_path
    assert target is not None
    target.parent.mkdir(parents=True)
    os.link(path, target)  # move_unique links first, then unlinks the source
    intake.recover()
    assert not path.exists() and target.exists()
    assert files_in(intake.destinations.archive) == [target]
    assert intake.ledger.get(entry_id).settled


def test_recover_finds_a_moved_file_by_content(tmp_path: Path) -> None:
    intake, path, entry_id = finished_but_not_moved(tmp_path)
    planned = intake.ledger.get(entry_id).final_path
    assert planned is not None
    elsewhere = planned.with_name("stock-7.csv")
    elsewhere.parent.mkdir(parents=True)
    path.rename(elsewhere)
    intake.recover()
    entry = intake.ledger.get(entry_id)
    assert entry.settled and entry.final_path == elsewhere


def test_a_move_blocked_by_a_lock_is_retried_on_the_next_scan(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    blocker = tmp_path / "archive"
    blocker.write_text("a file where the archive folder should be")  # mkdir fails: OSError
    outcome = run_once(intake, Recorder())
    assert [o.status for o in outcome] == ["done"]
    assert (intake.inbox / "a.csv").exists()
    assert intake.ledger.counts()["unsettled"] == 1
    assert intake.ready(wait=False) == []  # not offered again: only its move is owed
    blocker.unlink()
    recorder = Recorder()
    assert run_once(intake, recorder) == [] and recorder.claims == []
    assert files_in(intake.inbox) == []
    assert intake.ledger.counts()["unsettled"] == 0


def test_recover_closes_a_claim_whose_file_left_the_inbox(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    path = drop(intake.inbox / "a.csv", "a")
    [candidate] = intake.ready(wait=True)
    with pytest.raises(AlephUnavailable):
        intake.process(candidate, Recorder(fail={"a.csv": AlephUnavailable("down")}))
    path.rename(tmp_path / "taken away.csv")
    intake.recover()
    assert intake.ledger.claimed() == []
    [entry] = intake.ledger.recent(1)
    assert entry.status == "failed" and "left the inbox" in entry.detail
    drop(intake.inbox / "a.csv", "a")  # it comes back: processed as new
    recorder = Recorder()
    assert [o.status for o in run_once(intake, recorder)] == ["done"]


def test_claims_are_left_alone_while_the_inbox_is_unreachable(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    [candidate] = intake.ready(wait=True)
    with pytest.raises(AlephUnavailable):
        intake.process(candidate, Recorder(fail={"a.csv": AlephUnavailable("down")}))
    intake.inbox.rename(tmp_path / "unplugged")
    intake.recover()
    assert len(intake.ledger.claimed()) == 1


def test_recent_and_counts_for_status(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a", age=300)
    drop(intake.inbox / "b.csv", "b", age=200)
    drop(intake.inbox / "c.csv", "a", age=100)
    run_once(intake, Recorder(fail={"b.csv": BadInputFile("bad")}))
    recent = intake.ledger.recent(1)
    assert [(e.name, e.status) for e in recent] == [
        ("c.csv", "duplicate"),
        ("b.csv", "failed"),
        ("a.csv", "done"),
    ]
    assert intake.ledger.recent(1, now=datetime.now(UTC) + timedelta(days=2)) == []
    assert intake.ledger.counts(days=7) == {
        "claimed": 0,
        "done": 1,
        "failed": 1,
        "duplicate": 1,
        "unsettled": 0,
    }


def test_the_inbox_going_away_is_an_outage(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    intake.inbox.rename(tmp_path / "unplugged")
    assert intake.ready(wait=True) == []
    assert intake.inbox_reachable is False
    (tmp_path / "unplugged").rename(intake.inbox)
    assert [c.path.name for c in intake.ready(wait=True)] == ["a.csv"]
    assert intake.inbox_reachable is True


def test_claim_passes_through_the_handler(tmp_path: Path) -> None:
    intake = open_intake(tmp_path)
    drop(intake.inbox / "a.csv", "a")
    seen: list[Claim] = []

    def handler(claim: Claim) -> Outcome:
        seen.append(claim)
        assert intake.ledger.get(claim.id).status == "claimed"  # claimed before processing
        return Outcome("done", "3 changed", {"changed": 3})

    intake.recover()
    [candidate] = intake.ready(wait=True)
    outcome = intake.process(candidate, handler)
    assert outcome == Outcome("done", "3 changed", {"changed": 3})
    assert intake.ledger.get(seen[0].id).counts == {"changed": 3}
