"""Files made to stop the connector: small poison workbooks, and the child process that reads
them. Every one is a real file; the crashes are real processes dying."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import read_export, xlsx_scan
from connector.readers.guard import open_xlsx_zip
from connector.readers.isolate import ReaderCrashed, run_isolated
from connector.readers.xlsx_scan import scan_workbook
from tests.reader_support import (
    calamine_every_sheet,
    mapping,
    peak_child_mb,
    poison_workbook,
    rows_of,
    write_workbook,
)

XLSX_MAPPING = """
kind = "products"
files = ["*.xlsx"]
header_row = 2
[columns]
sku = "SKU"
quantity = "Stock"
price = "Precio"
"""


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write_workbook(
        tmp_path / "good.xlsx", {"Hoja": [["t"], ["SKU", "Stock", "Precio"], ["A", 7, 12]]}
    )


def _scan(path: Path) -> xlsx_scan.WorkbookScan:
    with open_xlsx_zip(path) as archive:
        return scan_workbook(path, archive)


@pytest.mark.parametrize("kind", ["bin", "no_refs", "in_a_row"])
def test_poison_sheets_are_measured_whatever_their_part_name_or_refs(
    tmp_path: Path, good: Path, kind: str
) -> None:
    poison = poison_workbook(good, tmp_path / "stock.xlsx", kind)
    assert poison.stat().st_size < 6_000  # a 5 KB file...
    [measured] = _scan(poison).sheets.values()
    assert measured.dense_cells >= 1_048_576 * 16_384  # ...claiming 17 billion cells, seen


@pytest.mark.parametrize("kind", ["bin", "no_refs", "in_a_row"])
def test_poison_sheets_never_reach_calamine_and_read_in_bounded_memory(
    tmp_path: Path, good: Path, kind: str
) -> None:
    poison = poison_workbook(good, tmp_path / "stock.xlsx", kind)
    map_file = tmp_path / "m.toml"
    mapping(tmp_path, XLSX_MAPPING, name="m.toml")
    line, peak = peak_child_mb(
        f"""
from pathlib import Path
from connector.readers import read_export
from connector.readers.mapping import load_mapping_file
export = read_export(Path({str(poison)!r}), load_mapping_file(Path({str(map_file)!r})))
print(sorted(export.table["sku"].tolist()))
"""
    )
    assert line == "['A']"  # the real row is read; the far cell is outside the columns
    assert peak < 400, f"the reader's child process peaked at {peak:.0f} MB"


def test_without_the_scan_calamine_aborts_in_the_child_and_only_the_child(
    tmp_path: Path, good: Path
) -> None:
    """The safety net, against the real engine: calamine on a poison file with nothing in
    front of it asks for tens of GB; the child's memory cap makes it abort, the parent (this
    test) gets a ReaderCrashed with a plain reason and carries on."""
    poison = poison_workbook(good, tmp_path / "stock.xlsx", "strings")
    with pytest.raises(ReaderCrashed) as caught:
        run_isolated(poison.name, calamine_every_sheet, poison, memory_mb=512)
    assert "stock.xlsx: the reader was stopped by signal 6" in str(caught.value)
    assert caught.value.hint
    assert run_isolated(good.name, calamine_every_sheet, good) == 3  # the next file is fine


def test_a_poison_shared_strings_table_fails_the_file_with_a_reason(
    tmp_path: Path, good: Path
) -> None:
    poison = poison_workbook(good, tmp_path / "stock.xlsx", "strings")
    loaded = mapping(tmp_path, XLSX_MAPPING, name="m.toml")
    with pytest.raises(BadInputFile, match=r"stock\.xlsx: the reader was stopped by signal 6"):
        read_export(poison, loaded)
    assert rows_of(read_export(good, loaded).table)[0]["quantity"] == 7


def test_a_child_that_aborts_or_runs_out_of_memory_is_a_reason_not_a_crash() -> None:
    with pytest.raises(ReaderCrashed, match="stopped by signal 6"):
        run_isolated("stock.xlsx", os.abort)
    with pytest.raises(ReaderCrashed, match="needs more than 300 MB of memory"):
        run_isolated("stock.xlsx", bytearray, 2 << 30, memory_mb=300)


def test_a_reader_error_in_the_child_comes_back_as_it_was(tmp_path: Path) -> None:
    fake = tmp_path / "stock.xlsx"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(BadInputFile, match="incomplete or not a real XLSX") as caught:
        read_export(fake, mapping(tmp_path, XLSX_MAPPING, name="m.toml"))
    assert not isinstance(caught.value, ReaderCrashed)


def test_more_real_cells_than_an_export_holds_is_refused(
    tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx_scan, "MAX_CELLS", 5)
    with pytest.raises(BadInputFile, match=r"holds 7 cells, more than the 5"):
        _scan(good)


def test_the_workbook_calamine_reads_is_measured_even_if_rels_point_elsewhere(
    tmp_path: Path, good: Path
) -> None:
    """_rels/.rels may name another workbook part; calamine still reads xl/workbook.xml."""
    poison = poison_workbook(good, tmp_path / "p.xlsx", "bin")
    decoy = tmp_path / "stock.xlsx"
    with zipfile.ZipFile(poison) as old, zipfile.ZipFile(decoy, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "_rels/.rels":
                data = data.replace(b"xl/workbook.xml", b"xl/decoy.xml")
            new.writestr(item.filename, data)
        new.writestr("xl/decoy.xml", old.read("xl/workbook.xml"))
        harmless = old.read("xl/_rels/workbook.xml.rels").replace(b"sheet1.bin", b"decoy.xml")
        new.writestr("xl/_rels/decoy.xml.rels", harmless)
        with zipfile.ZipFile(good) as clean:
            new.writestr("xl/worksheets/decoy.xml", clean.read("xl/worksheets/sheet1.xml"))
    scan = _scan(decoy)
    assert scan.sheet_parts == {"Hoja": "xl/worksheets/decoy.xml"}  # what the rels say...
    measured = scan.sheets["xl/worksheets/sheet1.bin"]  # ...and what calamine would read
    assert measured.dense_cells >= 1_048_576 * 16_384
    assert scan.parsers_disagree  # so only openpyxl, which follows the rels, reads it
    export = read_export(decoy, mapping(tmp_path, XLSX_MAPPING, name="m.toml"))
    assert rows_of(export.table)[0]["quantity"] == 7
