"""The dense-grid guard against its oracle, calamine itself: whatever syntax a sheet's rows
and cells are written in (the usual ``<c r="B2">``, a tab or spaces around ``r``, single
quotes, lower-case columns, no reference at all, a cell whose reference is not in its row, a
``<cols>`` element beside them), the scan measures at least the grid calamine builds for it.
The scan takes a quicker path when every cell is written ``<c r="...``; both paths are held to
the same oracle."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from connector.readers.guard import open_xlsx_zip
from connector.readers.xlsx_scan import greater_than, scan_workbook
from tests.reader_support import write_workbook

PART = "xl/worksheets/sheet1.xml"
CELL_FORMS = ['<c r="{ref}"', "<c\tr='{ref}'", '<c r = "{ref}"', '<c r="{low}"', "<c"]
ROW_FORMS = ['<row r="{n}">', "<row r='{n}' spans=\"1:2\">", "<row>"]


def letters(column: int) -> str:
    name = ""
    while column:
        column, rest = divmod(column - 1, 26)
        name = chr(65 + rest) + name
    return name


def _workbook(folder: Path, xml: bytes) -> Path:
    """A one-sheet workbook ("Stock") whose worksheet part is ``xml``."""
    path = folder / "stock.xlsx"
    base = write_workbook(folder / "base.xlsx", {"Stock": [["x"]]})
    with zipfile.ZipFile(base) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, xml if item.filename == PART else old.read(item))
    return path


@st.composite
def sheets(draw: st.DrawFn) -> bytes:
    """Sheet XML: up to 12 rows of up to 5 cells, columns up to 800 (AED), odd syntax mixed in."""
    usual = draw(st.booleans())  # every cell <c r="...: the quick path
    rows = []
    for n in sorted(draw(st.sets(st.integers(1, 40), min_size=1, max_size=12))):
        row = ROW_FORMS[0] if usual else draw(st.sampled_from(ROW_FORMS))
        cells = []
        for column in sorted(draw(st.sets(st.integers(1, 800), min_size=1, max_size=5))):
            placed = n if draw(st.integers(0, 4)) else draw(st.integers(1, 60))  # not its row's
            ref = f"{letters(column)}{placed}"
            form = CELL_FORMS[0] if usual else draw(st.sampled_from(CELL_FORMS))
            opening = form.format(ref=ref, low=ref.lower())
            cells.append(f'{opening} t="n"><v>{column}</v></c>')
        rows.append(row.format(n=n) + "".join(cells) + "</row>")
    cols = '<cols><col min="1" max="2" width="9"/></cols>' if draw(st.booleans()) else ""
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{cols}<sheetData>{''.join(rows)}</sheetData></worksheet>"
    ).encode()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sheets())
def test_the_scan_measures_at_least_the_grid_calamine_builds(tmp_path: Path, xml: bytes) -> None:
    path = _workbook(tmp_path, xml)
    with CalamineWorkbook.from_path(str(path)) as workbook:
        grid = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    height, width = len(grid), max(map(len, grid), default=0)
    with open_xlsx_zip(path) as archive:
        measured = scan_workbook(path, archive).sheet("Stock")
    assert measured.width >= width
    assert measured.dense_cells >= height * width
    assert measured.cells == xml.count(b"</c>")


FAR_CELLS = {
    "a far cell in row 1": (b'<row r="1"><c r="XFD1048576" t="n"><v>1</v></c></row>', 1_048_576),
    "a four-letter column": (b'<row r="1"><c r="ZZZZ9" t="n"><v>1</v></c></row>', 9),
}


@pytest.mark.parametrize("name", list(FAR_CELLS))
def test_a_cell_is_measured_where_calamine_places_it(tmp_path: Path, name: str) -> None:
    """calamine places a cell at its own reference, whatever row holds it, and reads columns
    past XFD (ZZZZ is column 475,254): both ask it for a grid no machine has room for."""
    row, height = FAR_CELLS[name]
    xml = b"<worksheet><sheetData>" + row + b"</sheetData></worksheet>"
    path = _workbook(tmp_path, xml)
    with open_xlsx_zip(path) as archive:
        measured = scan_workbook(path, archive).sheet("Stock")
    width = 16_384 if height > 9 else 475_254
    assert (measured.max_row, measured.width) == (height, width)
    assert measured.dense_cells >= height * width


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 10**9), st.integers(0, 10**10), st.integers(0, 3))
def test_greater_than_matches_exactly_the_greater_numbers(
    bound: int, number: int, zeros: int
) -> None:
    """The scan's search for a cell below the last row: exact without leading zeros, and
    never missing a greater number written with them."""
    pattern = greater_than(bound)
    assert bool(re.fullmatch(pattern, str(number))) == (number > bound)
    if number > bound:
        assert re.fullmatch(pattern, "0" * zeros + str(number))
