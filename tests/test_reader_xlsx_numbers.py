"""XLSX fast paths read what the plain ones read. Number cells become text by whole-column
Arrow work (``xlsx_cells._number_texts``); every cell must read exactly as ``cell_text`` writes it
one by one: 15 significant digits, the mapping's decimal separator, whole numbers without a
decimal part."""

from __future__ import annotations

import re
import string
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from connector.readers.guard import open_xlsx_zip
from connector.readers.xlsx_cells import EXACT_INTEGER_LIMIT, cell_text, column_text
from connector.readers.xlsx_scan import _TWO_LETTERS, scan_workbook
from tests.reader_support import write_workbook

EDGES = [
    0.1 + 0.2,
    1e-4,
    9.99e-5,
    1.5e-4,
    99999999999999.9,
    123456789012345.5,
    1e15,
    1e15 + 0.5,
    -0.0,
    1493.8176000000001,
    2.0**53,
    2.0**53 - 1,
    float("nan"),
    float("inf"),
    -float("inf"),
    5e-324,
]
NUMBERS = st.one_of(
    st.floats(),
    st.sampled_from(EDGES),
    st.integers(-(10**9), 10**9).map(lambda cents: cents / 100),  # prices
    st.integers(-EXACT_INTEGER_LIMIT + 1, EXACT_INTEGER_LIMIT - 1),
    st.integers(0, 500).map(float),  # stock as Excel stores it
)
CELLS = st.lists(st.one_of(NUMBERS, st.just(""), st.just("ABC-1")), min_size=1, max_size=40)


def column(cells: list[object]) -> np.ndarray:
    values = np.empty(len(cells), dtype=object)
    values[:] = cells
    return values


@settings(max_examples=300, deadline=None)
@given(CELLS, st.sampled_from([",", "."]))
def test_a_column_reads_as_each_cell_alone(cells: list[object], decimal: str) -> None:
    texts, odd = column_text(column(cells), decimal)
    assert texts.tolist() == [cell_text(cell, decimal) for cell in cells]
    expected_odd = [
        i
        for i, cell in enumerate(cells)
        if type(cell) in (int, float)
        and not (float(cell).is_integer() and abs(float(cell)) < EXACT_INTEGER_LIMIT)
    ]
    assert odd.tolist() == expected_odd


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(NUMBERS, st.booleans()), min_size=1, max_size=40),
    st.sampled_from([",", "."]),
)
def test_a_boolean_among_numbers_reads_as_a_boolean(
    cells: list[float | int | bool], decimal: str
) -> None:
    """Arrow reads True after a float as 1.0: such a column must not pass as numbers."""
    texts, odd = column_text(column(cells), decimal)
    assert texts.tolist() == [cell_text(cell, decimal) for cell in cells]
    assert odd.tolist() == [
        i
        for i, cell in enumerate(cells)
        if type(cell) in (int, float) and not (float(cell).is_integer() and abs(cell) < 2**53)
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(NUMBERS, min_size=1, max_size=40), st.sampled_from([",", "."]))
def test_a_column_of_numbers_only_stays_in_arrow_and_reads_the_same(
    cells: list[float | int], decimal: str
) -> None:
    texts, _ = column_text(column(cells), decimal)
    assert str(texts.dtype) == "str"
    assert texts.tolist() == [cell_text(cell, decimal) for cell in cells]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60), st.text(alphabet='AZaz1 \t\nr="<c>', max_size=30))
def test_the_wide_column_check_finds_every_column_past_z(noise: bytes, cells: str) -> None:
    """``xlsx_scan`` looks for a column past Z with one regex search. It finds all that the
    search it replaced found (every capital mapped to A, then ' r="AA'), and a reference after
    any whitespace too: calamine reads <c\tr="ZZ2"> at column ZZ."""
    segment = noise + cells.encode()
    letters = bytes.maketrans(string.ascii_uppercase.encode(), b"A" * 26)
    if b' r="AA' in segment.translate(letters) or re.search(rb'\sr="[A-Z]{2}', segment):
        assert _TWO_LETTERS.search(segment)


ODD_CELLS = {
    "after a tab": (b'<c\tr="ZZ2" t="n"><v>1</v></c></row>', 2),
    "single quotes": (b"</row><row r='5000'><c r='ZZ5000' t=\"n\"><v>1</v></c></row>", 5000),
    "spaces around =": (b'</row><row r = "5000"><c r = "ZZ5000" t="n"><v>1</v></c></row>', 5000),
    "lower-case column": (b'</row><row r="5000"><c r="zz5000" t="n"><v>1</v></c></row>', 5000),
}


@pytest.mark.parametrize("name", list(ODD_CELLS))
def test_a_cell_reference_is_measured_as_calamine_reads_it(tmp_path: Path, name: str) -> None:
    """The dense-grid guard must see the grid calamine will build: XML allows any whitespace
    before an attribute and either quote around its value, and calamine reads them all."""
    cell, rows = ODD_CELLS[name]
    path = tmp_path / "stock.xlsx"
    write_workbook(path, {"Stock": [["Código", "Stock"], ["0001", 5]]})
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts[part] = parts[part].replace(b"</row></sheetData>", cell + b"</sheetData>", 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for part_name, data in parts.items():
            target.writestr(part_name, data)
    with CalamineWorkbook.from_path(str(path)) as workbook:
        sheet = workbook.get_sheet_by_index(0)
        assert (sheet.width, sheet.height) == (702, rows)  # column ZZ
    with open_xlsx_zip(path) as archive:
        measured = scan_workbook(path, archive).sheet("Stock")
    assert measured.width >= 702
    assert measured.dense_cells >= 702 * rows
