"""The reader's child process, both ways it starts: a fork of a process that runs no other
thread, a fresh interpreter otherwise (another thread could hold a lock the fork would copy).
Every protection holds either way; a forked child leaves nothing of itself in the parent."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import read_export
from connector.readers.isolate import ReaderCrashed, can_fork, run_isolated
from tests.reader_support import ROOT, XLSX_STOCK_MAPPING, mapping, rows_of, write_workbook

XLSX_MAPPING = XLSX_STOCK_MAPPING


@pytest.fixture(params=["fork", "fresh interpreter"])
def start(request: pytest.FixtureRequest) -> Iterator[str]:
    """The way the child starts: a real second thread in this process forces the fresh
    interpreter, as the inbox watcher's thread does in ``connector run``."""
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="a-watcher")
    if request.param == "fresh interpreter":
        other.start()
    try:
        assert can_fork() is (request.param == "fork")
        yield str(request.param)
    finally:
        release.set()
        if other.is_alive():
            other.join()


def refuse(name: str) -> None:
    raise BadInputFile(f"{name}: refused in the child", hint="a hint")


def fail(name: str) -> None:
    raise KeyError(name)


def hang() -> None:
    threading.Event().wait()


def test_an_abort_or_memory_exhaustion_is_a_reason_not_a_crash(start: str) -> None:
    with pytest.raises(ReaderCrashed, match="stopped by signal 6"):
        run_isolated("stock.xlsx", os.abort)
    with pytest.raises(ReaderCrashed, match="needs more than 300 MB of memory"):
        run_isolated("stock.xlsx", bytearray, 2 << 30, memory_mb=300)
    assert run_isolated("stock.xlsx", sum, [1, 2, 3]) == 6  # and the next call works


def test_errors_come_back_as_they_were_or_as_a_plain_error(start: str) -> None:
    with pytest.raises(BadInputFile, match="refused in the child") as caught:
        run_isolated("stock.xlsx", refuse, "stock.xlsx")
    assert caught.value.hint == "a hint" and not isinstance(caught.value, ReaderCrashed)
    with pytest.raises(RuntimeError, match=r"KeyError: 'stock\.xlsx'"):
        run_isolated("stock.xlsx", fail, "stock.xlsx")


def test_a_child_out_of_time_is_killed(start: str) -> None:
    with pytest.raises(ReaderCrashed, match="did not finish in time"):
        run_isolated("stock.xlsx", hang, timeout=0.5)


def test_a_workbook_reads_the_same_either_way(tmp_path: Path, start: str) -> None:
    path = write_workbook(tmp_path / "s.xlsx", {"Hoja": [["SKU", "Stock"], ["A-1", 7], ["B", 2]]})
    export = read_export(path, mapping(tmp_path, XLSX_MAPPING))
    assert [(row["sku"], row["quantity"]) for row in rows_of(export.table)] == [
        ("A-1", 7),
        ("B", 2),
    ]


class _Finalised:
    """Appends a line to ``log`` when collected; kept in a cycle so only ``gc`` collects it."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.me = self

    def __del__(self) -> None:
        with self.log.open("a") as handle:
            handle.write(f"{os.getpid()}\n")


def _collect() -> int:
    return gc.collect()


def test_a_forked_child_never_finalises_the_parents_objects(tmp_path: Path) -> None:
    """A parent's unreachable database connection must not be closed by the child."""
    assert can_fork()
    log = tmp_path / "finalised.txt"
    gc.disable()
    try:
        _Finalised(log)  # unreachable at once, waiting for the parent's collector
        run_isolated("stock.xlsx", _collect)
        assert not log.exists()
    finally:
        gc.enable()
    gc.collect()
    assert log.read_text().split() == [str(os.getpid())]


def test_a_forked_child_leaves_no_output_or_exit_hook_of_the_parent_twice(tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "s.xlsx", {"Hoja": [["SKU", "Stock"], ["A-1", 7]]})
    mapping(tmp_path, XLSX_MAPPING)
    code = textwrap.dedent(
        f"""
        import atexit, sys
        from pathlib import Path
        from connector.readers import read_export
        from connector.readers.mapping import load_mapping_file
        atexit.register(lambda: print("exit hook"))
        sys.stdout.write("buffered before the read;")  # not flushed when the child forks
        export = read_export(Path({str(path)!r}), load_mapping_file(Path({str(tmp_path)!r}) /
                             "stock.toml"))
        print(len(export.table))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n") == ["buffered before the read;1", "exit hook", ""]
