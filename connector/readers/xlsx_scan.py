"""One streaming pass over an XLSX's XML parts, before calamine or openpyxl parse them.

It finds what the parsers cannot be trusted with:

- a DTD or ``<!ENTITY`` anywhere (entity bombs): the file is refused;
- the real extent of each sheet: calamine builds a dense grid from the first to the last
  cell, so two cells at A1 and XFD1048576 make it allocate 512 GB and abort the process.
  Every worksheet part is measured whatever its name (``sheet1.bin`` is still XML to the
  parsers), as the workbook of ``_rels/.rels`` and the fixed ``xl/workbook.xml`` calamine
  reads both name them; cells and rows written without ``r=`` count by position, as the
  parsers place them (the next column, the next row);
- more real cells than any export holds (``MAX_CELLS``): the file is refused;
- formula cells with no saved result (files written by programs, never opened in Excel):
  parsers return them as empty, which must not become "stock 0".

``zipfile`` stops at each part's declared size and checks its CRC, so a part that lies about
its size surfaces here as a corrupt file instead of inflating without bound.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from connector.errors import BadInputFile
from connector.readers.guard import unsafe_xml
from connector.readers.xlsx_parts import fixed_workbook_sheets, sheet_parts
from connector.readers.xlsx_tags import tag_counts

CHUNK_BYTES = 4 << 20
MAX_CARRY_BYTES = 64 << 20
XML_SUFFIXES = (".xml", ".rels", ".vml")
DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
DTD_MARKERS_UTF16 = tuple(
    marker.decode().encode(codec) for marker in DTD_MARKERS for codec in ("utf-16-le", "utf-16-be")
)
# XML quotes an attribute with " or ': calamine reads <row r='5000'> as row 5000.
_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr\s*=\s*[\"'](\d{1,9})[\"']")
_ROW_REF_USUAL = re.compile(rb'<row r="(\d{1,9})"')  # a literal prefix: five times faster
_WIDE_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]{2,})\d")  # calamine reads ZZZZ1 too
# A column past Z, whatever whitespace and quote come with r= (calamine reads <c\tr='ZZ2'>
# at ZZ): a literal prefix keeps the search fast; _WIDE_REF then measures exactly.
_TWO_LETTERS = re.compile(rb"r\s*=\s*[\"'][A-Za-z][A-Za-z]")
_UNCACHED = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)\s*"
    rb"(<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)
_UNCACHED_ENDS = (b"</f></c>", b"/></c>", b"<v></v></c>")  # how a cell without <v> ends
# Tolerant of what calamine tolerates: either quote, spaces around "=", lower-case columns.
_CELL_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]{1,3})(\d{1,7})[\"']")
_ROW_START = re.compile(rb"<(?:\w+:)?row\b")
_PREFIXED = re.compile(rb":(?:row|c|f)")
_CELL_ROW_USUAL = re.compile(rb'<c r="[A-Za-z]+(\d+)')
_CELL_ROW = re.compile(rb"\sr\s*=\s*[\"'][A-Za-z]+(\d+)")
MAX_CELLS = 60_000_000  # 1,000,000 rows of 60 columns; the cap the bench stays far below


@dataclass
class SheetScan:
    """What one worksheet part really holds. Rows and columns are 0-based here."""

    max_row: int = 0
    rows_seen: int = 0
    rows_numbered: int = 0
    width: int = 26
    cells: int = 0
    uncached: list[tuple[int, int]] = field(default_factory=list)

    @property
    def dense_cells(self) -> int:
        """Upper bound of the grid calamine would allocate for this sheet: a row without
        ``r=`` comes after the one before it, so unnumbered rows add to the highest number."""
        unnumbered = self.rows_seen - self.rows_numbered
        return max(self.max_row + unnumbered, self.rows_seen) * self.width


@dataclass
class WorkbookScan:
    sheet_parts: dict[str, str]
    sheets: dict[str, SheetScan]
    # calamine reads xl/workbook.xml whatever _rels/.rels says: when they name other sheet
    # parts, calamine's view cannot be trusted and only openpyxl reads the file.
    parsers_disagree: bool = False

    def sheet(self, name: str) -> SheetScan:
        return self.sheets.get(self.sheet_parts.get(name, ""), SheetScan())


def scan_workbook(path: Path, archive: zipfile.ZipFile) -> WorkbookScan:
    """Refuse DTDs in every XML part; measure worksheets. Raises BadInputFile."""
    parts = sheet_parts(path, archive)
    fixed = fixed_workbook_sheets(path, archive)
    worksheets = set(parts.values()) | fixed
    scans: dict[str, SheetScan] = {}
    for entry in archive.infolist():
        is_sheet = entry.filename in worksheets
        if not is_sheet and not entry.filename.lower().endswith(XML_SUFFIXES):
            continue
        scan = SheetScan() if is_sheet else None
        _stream_part(path, archive, entry, scan)
        if scan is not None:
            _refuse_huge(path, entry.filename, scan)
            scans[entry.filename] = scan
    disagree = bool(fixed) and fixed != set(parts.values())
    return WorkbookScan(sheet_parts=parts, sheets=scans, parsers_disagree=disagree)


def _refuse_huge(path: Path, part: str, scan: SheetScan) -> None:
    if scan.cells > MAX_CELLS:
        raise BadInputFile(
            f"{path.name}: worksheet {posixpath.basename(part)} holds {scan.cells:,} cells, "
            f"more than the {MAX_CELLS:,} a stock export can have; it was not read",
            hint="export only the stock and price columns, or split the export into files",
        )


def _stream_part(
    path: Path, archive: zipfile.ZipFile, entry: zipfile.ZipInfo, scan: SheetScan | None
) -> None:
    markers: tuple[bytes, ...] = DTD_MARKERS
    tail = b""
    try:
        with archive.open(entry) as handle:
            while block := handle.read(CHUNK_BYTES):
                if not tail and block.startswith((b"\xff\xfe", b"\xfe\xff")):
                    markers = DTD_MARKERS + DTD_MARKERS_UTF16
                buffer = tail + block
                if _declares_dtd(buffer, markers):
                    raise unsafe_xml(path, entry.filename, "it declares a DTD or XML entities")
                tail = _measure(buffer, scan) if scan is not None else buffer[-32:]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        raise unsafe_xml(path, entry.filename, f"damaged zip data: {exc}") from None
    if scan is not None and tail:
        _measure(tail, scan, final=True)


def _declares_dtd(buffer: bytes, markers: tuple[bytes, ...]) -> bool:
    if markers is DTD_MARKERS and b"<!" not in buffer:  # one pass where there is none
        return False
    return any(marker in buffer for marker in markers)


def _measure(buffer: bytes, scan: SheetScan, *, final: bool = False) -> bytes:
    """Measure complete rows of ``buffer``; return the unfinished remainder to carry over."""
    prefixed = _PREFIXED.search(buffer) is not None  # <x:row>, <x:c>, <x:f>: rare
    cut = buffer.rfind(b"</row>")
    if prefixed:
        cut = max(cut, buffer.rfind(b":row>"))
    if final:
        cut = len(buffer)
    if cut < 0:
        if len(buffer) < MAX_CARRY_BYTES:
            return buffer
        cut = len(buffer)
    segment = buffer[:cut]
    tags = tag_counts(segment)
    rows = _ROW_REF_USUAL.findall(segment)
    seen = tags.rows
    if len(rows) < seen or prefixed:  # other attribute order, or a namespace prefix
        rows = _ROW_REF.findall(segment)
        seen += segment.count(b":row ")
    scan.rows_seen += seen
    scan.rows_numbered += len(rows)
    usual = tags.usual_cells
    if not prefixed and tags.c_tags == usual:
        # Every cell starts <c r=": its column is the letters right after, and only a column
        # past Z can widen the grid. Measured four times faster than the general checks.
        cells = usual
        widest = 0
        if _odd_cell(segment, max(scan.max_row, _largest(rows))):
            widest = _widest(segment)
            rows += _CELL_ROW_USUAL.findall(segment)
    else:
        cells = _count_cells(segment)
        widest = _widest(segment) if _TWO_LETTERS.search(segment) else 0
        if cells != usual:  # some cells have no r= (or another attribute order)
            widest += _most_cells_in_a_row(segment)
        rows += _CELL_ROW.findall(segment)
    # A cell is placed at its own reference, whatever its row says: <row r="1"> holding
    # <c r="XFD1048576"> is a grid of a million rows.
    scan.max_row = max(scan.max_row, _largest(rows))
    scan.cells += cells
    scan.width = max(scan.width, widest)
    if tags.formulas or (prefixed and b":f" in segment):
        if any(end in segment for end in _UNCACHED_ENDS) or b":c>" in segment:
            scan.uncached.extend(_uncached_cells(segment))
    return buffer[cut:]


def _odd_cell(segment: bytes, last_row: int) -> bool:
    """Whether a ``<c r="...`` cell lies past column Z or below ``last_row``: one search (an
    export's cells sit in their rows, and most exports stop before column AA), where reading
    every cell's reference would cost more than the rest of the scan. The search is RE2's
    (through Arrow): a DFA, five times faster here than ``re`` on the same pattern."""
    above = greater_than(last_row)
    pattern = f'<c r="(?:[A-Za-z]{{2}}|[A-Za-z]{above}(?:[^0-9]|$))'
    found = pc.match_substring_regex(pa.array([segment], pa.binary()), pattern)
    return bool(found[0].as_py())


def greater_than(number: int) -> str:
    """A pattern for the whole decimal numbers greater than ``number`` (leading zeros may
    match too: they only make the caller count exactly)."""
    digits = str(number)
    longer = rf"\d{{{len(digits) + 1},}}"
    same_length = [
        f"{digits[:i]}[{int(digit) + 1}-9]" + r"\d" * (len(digits) - i - 1)
        for i, digit in enumerate(digits)
        if digit != "9"
    ]
    return "(?:" + "|".join([longer, *same_length]) + ")"


def _largest(numbers: list[bytes]) -> int:
    """The largest of these decimal numbers. The longest text that is also the greatest as
    text is the greatest number (same length: text order is number order); comparing texts is
    C work, where converting a hundred thousand of them is not."""
    if not numbers:
        return 0
    greatest = max(numbers)
    if len(greatest) == max(map(len, numbers)):
        return int(greatest)
    return max(map(int, numbers))


def _widest(segment: bytes) -> int:
    return max((_column_number(letters) for letters in _WIDE_REF.findall(segment)), default=0)


def _count_cells(segment: bytes) -> int:
    count = segment.count(b"<c ") + segment.count(b"<c>") + segment.count(b"<c/>")
    count += segment.count(b"<c\t") + segment.count(b"<c\n") + segment.count(b"<c\r")
    if b":c" in segment:  # a namespace prefix (<x:c ...>)
        count += segment.count(b":c ") + segment.count(b":c>") + segment.count(b":c/>")
    return count


def _most_cells_in_a_row(segment: bytes) -> int:
    """An upper bound of the columns a row without ``r=`` on its cells reaches: each cell
    without a reference takes the column after the previous one."""
    return max((_count_cells(row) for row in _ROW_START.split(segment)), default=0)


def _uncached_cells(segment: bytes) -> list[tuple[int, int]]:
    cells = []
    for match in _UNCACHED.finditer(segment):
        attributes, empty_value = match.group(1), match.group(2)
        if empty_value and b't="str"' in attributes:
            continue  # a formula whose saved result is the empty text: that is a value
        ref = _CELL_REF.search(b" " + attributes)
        if ref:
            cells.append((int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1))
    return cells


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + (letter - 64)
    return number
