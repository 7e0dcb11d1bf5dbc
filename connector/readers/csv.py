"""CSV exports: decode the head, find the header, parse every column as text, keep the lines.

Only the head of the file (title rows, header, the sample the delimiter is sniffed from) is
decoded in Python (see ``connector.readers.text``). The body goes to Arrow's CSV reader as the
file's own bytes, every column as text (``default_column_type=string``), so SKUs keep their
leading zeros and long digits. It is the reader ``pandas.read_csv(engine="pyarrow",
dtype=str)`` uses, called directly: no decoded copy of the body, no re-encoding, and pandas
wraps Arrow's columns without copying them.

Arrow reports no line numbers, so it keeps empty lines as records of empty fields: record n
is then physical line n, while each record is one physical line. Only when some record is
all empty are the line breaks scanned, to drop the empty lines (they are not rows). When
a quoted value spans lines, or rows have different numbers of fields (Arrow refuses those),
the body is read again with the standard library's csv reader, which reports ``line_num``
exactly. pandas' C engine is not the fallback: it parses those files but cannot say which
line a row came from.

A product export (``read_export``) is usually parsed for its mapped columns alone, as bytes,
the rest of a rejected row being cut out of the file's bytes again when a report needs it
(``connector.readers.csv_narrow``, which says when that is safe). The Arrow calls themselves
are in ``connector.readers.csv_arrow``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from connector.errors import BadInputFile
from connector.readers.csv_arrow import blank_records, filled_lines, has_line_breaks, read_text
from connector.readers.csv_checks import (
    check_complete,
    check_first_line,
    long_field_notes,
    nul_notes,
)
from connector.readers.csv_narrow import Narrow, mapped_columns, parse_mapped
from connector.readers.csv_records import Parsed, Stdlib
from connector.readers.export import RawSheet, SourceFormat
from connector.readers.guard import check_text, check_text_bytes
from connector.readers.lines import LineSource, Stamp, read_stamped
from connector.readers.mapping import FileMapping
from connector.readers.text import (
    HEAD_BYTES,
    SAMPLE_CHARS,
    SourceText,
    body_end,
    decoded_head,
    open_text,
)

SNIFF_LINES = 20
CANDIDATES = (";", ",", "\t", "|")
_SEP_LINE = re.compile(r"sep=(.)[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_csv(
    path: Path, mapping: FileMapping, *, mapped_only: bool = False
) -> tuple[SourceFormat, list[RawSheet]]:
    """``mapped_only``: the mapped columns may be all that is parsed, the rest of a row being
    read again only when it is asked for (``connector.readers.csv_narrow``)."""
    data, stamp = read_stamped(path)
    check_text_bytes(path, data, mapping.encoding)
    source = open_text(path, data, mapping.encoding)
    origin = (path, stamp if source.data is data else None)  # where whole rows are read again
    del data
    check_complete(path, source, mapping.final_line_break)
    head = _head(path, source, mapping)
    delimiter = _delimiter(mapping, head.sep, head.body)
    check_first_line(path, head.body, delimiter, head.body_line)
    preamble = _preamble(head.title, delimiter, 2 if head.sep else 1)
    keep = 0 if mapping.header else _positions(mapping) + 1
    narrow = None
    if mapped_only:
        first = _LINE_BREAK.split(head.body, maxsplit=1)[0]
        narrow = mapped_columns(path, source, head.begin, first, delimiter, mapping)
    parsed = parse_body(
        source,
        head.begin,
        delimiter,
        head.body_line,
        mapping.line_breaks_in_values,
        keep,
        narrow,
        origin,
    )
    cells, lines, header = parsed.cells, parsed.lines, []
    notes = dict(parsed.notes)
    if mapping.header and len(cells):
        width = int(parsed.widths[0])
        if narrow and parsed.whole is not None:
            header = narrow.header
        else:
            header = [str(value) for value in cells.iloc[0].tolist()[:width]]
        cells, lines = cells.iloc[1:].reset_index(drop=True), lines[1:]
        notes = {row - 1: note for row, note in notes.items() if row}
        notes = {**_wide_rows(cells, parsed.widths[1:], width), **notes}
    if source.data.find(b"\x00", head.begin) >= 0:
        notes.update(nul_notes(cells))
    notes = {**long_field_notes(cells), **notes}
    fmt = SourceFormat(
        kind="csv", encoding=source.encoding, delimiter=delimiter, sep_line=head.sep is not None
    )
    sheet = RawSheet(
        name="",
        preamble=preamble,
        header=header,
        cells=cells,
        lines=lines,
        row_notes=notes,
        # The rows are read again from the file when asked for: the bytes go with ``source``.
        whole=parsed.whole.detached() if isinstance(parsed.whole, LineSource) else parsed.whole,
    )
    return fmt, [sheet]


@dataclass(frozen=True)
class Head:
    """The decoded start of a file: the ``sep=`` line, the title lines, and the start of the
    body (where the header or the data begins) as text and as a byte offset."""

    sep: re.Match[str] | None
    title: list[str]
    body: str  # at least SAMPLE_CHARS of it, or all of it
    body_line: int
    begin: int


def _head(path: Path, source: SourceText, mapping: FileMapping) -> Head:
    """Decode just enough of the file: the checks and the sniffing look at 64 K characters."""
    size = HEAD_BYTES
    while True:
        text, whole = decoded_head(source, size)
        sep = _SEP_LINE.match(text)
        cut, first_line = (sep.end(), 2) if sep else (0, 1)
        skip = mapping.header_row - 1 if mapping.header else mapping.skip_rows
        title, body, body_line = _split_lines(text[cut:], skip, first_line)
        if whole or len(body) > SAMPLE_CHARS:
            check_text(path, text)
            begin = source.start + source.text_bytes(text[: len(text) - len(body)])
            return Head(sep, title, body, body_line, begin)
        size *= 4


def _split_lines(text: str, count: int, first_line: int) -> tuple[list[str], str, int]:
    """The first ``count`` lines, the rest, and the rest's first line number."""
    title: list[str] = []
    position = 0
    for _ in range(count):
        found = _LINE_BREAK.search(text, position)
        if not found:
            title.append(text[position:])
            return title, "", first_line + len(title)
        title.append(text[position : found.start()])
        position = found.end()
    return title, text[position:], first_line + count


def _delimiter(mapping: FileMapping, sep: re.Match[str] | None, body: str) -> str:
    if mapping.delimiter != "auto":
        return mapping.delimiter
    if sep:
        return sep.group(1)
    return sniff_delimiter(_LINE_BREAK.split(body[:65536], maxsplit=SNIFF_LINES)[:SNIFF_LINES])


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate that splits the header and agrees with most following lines.

    A small rule rather than csv.Sniffer, which fails ("could not determine delimiter") on
    short samples and is easily misled by decimal commas inside ';' files.
    """
    lines = [line for line in lines if line.strip()]
    best, best_key = ";", (0, 0)
    for candidate in CANDIDATES:
        counts = [line.count(candidate) for line in lines]
        if not counts or counts[0] == 0:
            continue
        key = (sum(count == counts[0] for count in counts), counts[0])
        if key > best_key:
            best, best_key = candidate, key
    return best


def _positions(mapping: FileMapping) -> int:
    return max(ref.position or 0 for ref in mapping.column_refs().values())


def parse_body(
    source: SourceText,
    begin: int,
    delimiter: str,
    first_line: int,
    line_breaks_allowed: bool = True,
    keep: int = 0,
    narrow: Narrow | None = None,
    origin: tuple[Path, Stamp | None] | None = None,
) -> Parsed:
    """Every record from byte ``begin`` on as text columns 0..n-1, and the line each record
    starts on. ``keep``: columns kept of a line wider than the first (0: one more than the
    first record has, at least ``KEEP_AT_LEAST``): a line of 300,000 fields costs no more
    memory than a normal one. ``narrow``: the mapped columns only (the whole records then
    come from ``Parsed.whole``, which reads them again from ``origin``: the file and its
    stamp)."""
    end, blank = body_end(source, begin)
    if blank:
        empty = np.empty(0, dtype=np.int64)
        return Parsed(pd.DataFrame(), empty, empty)
    found = None
    if narrow and origin:
        found = parse_mapped(source, begin, end, delimiter, first_line, narrow, origin)
    if found is not None:
        return found
    table = read_text(source, begin, end, delimiter)
    quoted = table is not None and source.data.find(b'"', begin, end) >= 0
    fallback = Stdlib(delimiter, first_line, line_breaks_allowed, keep)
    if table is None or (quoted and has_line_breaks(table)):
        return fallback.parse(source.decode(begin, end))
    lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
    if blank_records(table).any():  # maybe empty lines: drop them, as Arrow could not
        filled = filled_lines(source.data, begin, end)
        if len(filled) != table.num_rows:
            return fallback.parse(source.decode(begin, end))
        table, lines = table.filter(pa.array(filled)), lines[filled]
    columns = {index: pd.array(column, dtype="str") for index, column in enumerate(table.columns)}
    cells = pd.DataFrame(columns, copy=False)  # Arrow's buffers as they are: no copy
    cells.columns = pd.RangeIndex(table.num_columns)
    return Parsed(cells, lines, np.full(len(cells), table.num_columns, dtype=np.int64))


def _preamble(title: list[str], delimiter: str, first_line: int) -> list[list[str]]:
    """The title rows as cells (a rejects report writes them back above the header)."""
    reader = csv.reader(title, delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:  # e.g. a title of more than 128 K characters in one cell
        raise BadInputFile(
            f"line {first_line + reader.line_num - 1}: a title row cannot be parsed ({exc})",
            hint="check the mapping's 'header_row', or export the file without the title",
        ) from None


def _wide_rows(
    cells: pd.DataFrame, widths: npt.NDArray[np.int64], header_width: int
) -> dict[int, str]:
    """Rows with more fields than the header: their values may be shifted (wrong delimiter,
    an unquoted decimal comma), so they are rejected rather than guessed. Rows of nothing
    but separators (";;;;") are just empty."""
    notes = {}
    for index in np.flatnonzero(widths > header_width):
        if any(str(value).strip() for value in cells.iloc[int(index)].tolist()):
            notes[int(index)] = (
                f"the line has {int(widths[index])} fields but the header has {header_width}; "
                "check the delimiter and the quotes"
            )
    return notes
