"""Discovery: ignore rules, order, as_of, outage."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connector.config import IntakeSettings
from connector.errors import ConfigError
from connector.intake.scan import NameOrder, is_ignored, list_inbox
from tests.intake_support import drop

IGNORE = IntakeSettings().ignore
BA = ZoneInfo("America/Argentina/Buenos_Aires")


def names(inbox: Path, order: NameOrder) -> list[str]:
    found = list_inbox(inbox, IGNORE, order)
    assert found is not None
    return [c.path.name for c in found]


@pytest.mark.parametrize(
    "name",
    [
        "~$stock.xlsx",
        "~$STOCK.XLSX",
        ".~lock.stock.csv#",
        "stock.tmp",
        "stock.PART",
        ".hidden",
        "stock.csv.done",
        "stock.csv.ok",
        "STOCK.CSV.DONE",
    ],
)
def test_ignored_names_are_never_candidates(tmp_path: Path, name: str) -> None:
    drop(tmp_path / name, "x")
    drop(tmp_path / "stock.csv", "sku;stock\n")
    assert is_ignored(name, IGNORE)
    assert names(tmp_path, NameOrder(None, UTC)) == ["stock.csv"]


def test_marker_files_are_ignored_even_with_an_empty_ignore_list(tmp_path: Path) -> None:
    drop(tmp_path / "a.csv", "x")
    drop(tmp_path / "a.csv.done", "")
    found = list_inbox(tmp_path, [], NameOrder(None, UTC))
    assert found is not None
    assert [c.path.name for c in found] == ["a.csv"]


def test_subfolders_are_not_scanned(tmp_path: Path) -> None:
    drop(tmp_path / "sub" / "deep.csv", "x")
    drop(tmp_path / "top.csv", "x")
    assert names(tmp_path, NameOrder(None, UTC)) == ["top.csv"]


def test_without_a_pattern_order_is_mtime_then_name(tmp_path: Path) -> None:
    drop(tmp_path / "c.csv", "1", age=300)
    drop(tmp_path / "a.csv", "2", age=100)
    drop(tmp_path / "b.csv", "3", age=100)
    stamp = os.stat(tmp_path / "a.csv").st_mtime_ns
    os.utime(tmp_path / "b.csv", ns=(stamp, stamp))
    assert names(tmp_path, NameOrder(None, UTC)) == ["c.csv", "a.csv", "b.csv"]


def test_sequence_in_the_name_wins_over_mtime(tmp_path: Path) -> None:
    for seq, age in [(10, 500), (2, 10), (1, 100), (9, 1000)]:
        drop(tmp_path / f"stock_{seq}.csv", str(seq), age=age)
    drop(tmp_path / "other.csv", "o", age=5000)  # does not fit: after those that do
    order = NameOrder(r"stock_(?P<seq>\d+)\.csv", UTC)
    assert names(tmp_path, order) == [
        "stock_1.csv",
        "stock_2.csv",
        "stock_9.csv",
        "stock_10.csv",
        "other.csv",
    ]


def test_date_in_the_name_gives_order_and_as_of_in_site_time(tmp_path: Path) -> None:
    drop(tmp_path / "stock_20250131.csv", "b", age=10)
    drop(tmp_path / "stock_20250130235959.csv", "a", age=5)
    order = NameOrder(r"(?P<date>\d{8})(?P<time>\d{6})?", BA)
    found = list_inbox(tmp_path, IGNORE, order)
    assert found is not None
    assert [c.path.name for c in found] == ["stock_20250130235959.csv", "stock_20250131.csv"]
    # Buenos Aires is UTC-3: 23:59:59 local is 02:59:59 the next day in UTC.
    assert found[0].as_of == datetime(2025, 1, 31, 2, 59, 59, tzinfo=UTC)
    assert found[1].as_of == datetime(2025, 1, 31, 3, 0, 0, tzinfo=UTC)


def test_as_of_falls_back_to_mtime(tmp_path: Path) -> None:
    path = drop(tmp_path / "stock.csv", "x", age=60)
    found = list_inbox(tmp_path, IGNORE, NameOrder(r"(?P<date>\d{8})", UTC))
    assert found is not None
    assert found[0].as_of.tzinfo is UTC
    assert found[0].as_of.timestamp() == pytest.approx(path.stat().st_mtime, abs=1e-3)
    assert abs(found[0].as_of.timestamp() - (time.time() - 60)) < 5


def test_an_impossible_date_falls_back_to_mtime(tmp_path: Path) -> None:
    drop(tmp_path / "stock_20251399.csv", "x", age=60)
    found = list_inbox(tmp_path, IGNORE, NameOrder(r"(?P<date>\d{8})", UTC))
    assert found is not None
    assert found[0].order_key[0] == 1
    assert abs(found[0].as_of.timestamp() - (time.time() - 60)) < 5


@pytest.mark.parametrize("pattern", [r"stock_(\d+", r"stock_\d+\.csv"])
def test_a_bad_order_pattern_is_a_config_error(pattern: str) -> None:
    with pytest.raises(ConfigError, match="order_pattern"):
        NameOrder(pattern, UTC)


def test_accents_and_spaces(tmp_path: Path) -> None:
    inbox = tmp_path / "Depósito Central"
    drop(inbox / "stock ñ.csv", "x")
    assert names(inbox, NameOrder(None, UTC)) == ["stock ñ.csv"]


def test_a_missing_inbox_is_an_outage_not_an_empty_list(tmp_path: Path) -> None:
    assert list_inbox(tmp_path / "gone", IGNORE, NameOrder(None, UTC)) is None
