"""The check and the read in two children at once (``isolate_pair``): the read's result is
only ever used after the check accepted the file; a read that dies before then is only
reported when the check accepted; nothing of either child outlives the call."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import _read_checked, read_export
from connector.readers.isolate import DEFAULT_MEMORY_MB, ReaderCrashed, can_fork
from connector.readers.isolate_pair import run_checked
from tests.reader_support import XLSX_STOCK_MAPPING, mapping, rows_of, write_workbook

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")


def checked(value: int) -> int:
    return value


def refused(value: int) -> int:
    raise BadInputFile(f"{value}: refused by the check", hint="a hint")


def hang(*_: object) -> None:
    threading.Event().wait()


def doubled(value: int, verdict: Callable[[], int]) -> int:
    return value + verdict()


def aborts(_: int, verdict: Callable[[], int]) -> None:
    os.abort()  # before the verdict: a parser dying on a hostile file


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def run(check: Callable[..., int], read: Callable[..., object], timeout: float = 60) -> object:
    assert can_fork()
    return run_checked("stock.xlsx", check, (2,), read, (2,), lambda v: v > 0, timeout=timeout)


def test_the_read_gets_the_accepted_verdict() -> None:
    assert run(checked, doubled) == 4
    assert no_child_left()


def test_a_refused_or_unaccepted_check_leaves_the_read_unheard() -> None:
    with pytest.raises(BadInputFile, match="refused by the check") as caught:
        run(refused, hang)
    assert caught.value.hint == "a hint" and not isinstance(caught.value, ReaderCrashed)
    rejected = run_checked("stock.xlsx", checked, (2,), hang, (), lambda v: v > 5, timeout=60)
    assert rejected is None
    assert no_child_left()


def test_a_read_that_dies_is_reported_only_when_the_check_accepted() -> None:
    with pytest.raises(ReaderCrashed, match="stopped by signal 6"):
        run(checked, aborts)
    unaccepted = run_checked("stock.xlsx", checked, (2,), aborts, (2,), lambda v: v > 5)
    assert unaccepted is None
    assert no_child_left()


def test_out_of_time_either_way() -> None:
    with pytest.raises(ReaderCrashed, match="did not finish in time"):
        run(hang, doubled, timeout=0.5)
    with pytest.raises(ReaderCrashed, match="did not finish in time"):
        run(checked, hang, timeout=0.5)
    assert no_child_left()


XLSX_MAPPING = XLSX_STOCK_MAPPING + 'price = "Precio"\n'


def test_a_workbook_reads_the_same_checked_or_careful(tmp_path: Path) -> None:
    """Text, numbers, blanks, a boolean after numbers and a date: the read beside the scan
    gives what the careful read (scan first) gives."""
    sheet = [
        ["SKU", "Stock", "Precio", "Nota"],
        ["A-1", 7, 10.5, 1.5],
        ["B", 2, 0.1 + 0.2, True],
        ["C", "", 3, 2.0],
    ]
    path = write_workbook(tmp_path / "s.xlsx", {"Hoja": sheet})
    products = mapping(tmp_path, XLSX_MAPPING)
    assert can_fork()
    checked_read = _read_checked(path, products, DEFAULT_MEMORY_MB)  # whatever the cores
    assert checked_read is not None
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()  # a second thread: the careful way, in a fresh interpreter
    try:
        assert not can_fork()
        careful = read_export(path, products)
    finally:
        release.set()
        other.join()
    assert rows_of(checked_read.table) == rows_of(careful.table)
    assert [(r.line, r.reason) for r in checked_read.rejects] == [
        (r.line, r.reason) for r in careful.rejects
    ]
    raw, expected = checked_read.sheets[0], careful.sheets[0]
    assert raw.cells.equals(expected.cells)
    assert raw.cells[3].tolist() == ["1,5", "TRUE", "2"]  # True stays a boolean after 1.5
    assert {k: v.tolist() for k, v in raw.numeric_cells.items()} == {
        k: v.tolist() for k, v in expected.numeric_cells.items()
    }
