"""CSV exports: decode, find the header, parse every column as text, keep the line numbers.

The file is decoded here (BOM, strict UTF-8, cp1252 fallback) because the encoding decision
and the title rows above the header need the text anyway; the body then goes to pandas'
pyarrow engine as UTF-8 with ``dtype=str``, so SKUs keep their leading zeros and long digits.

The pyarrow engine skips empty lines and reports no line numbers, so line numbers come from
the body's own line breaks: valid while each record is one physical line. When a quoted value
spans lines, or rows have different numbers of fields (pyarrow refuses those), the file is
read again with the standard library's csv reader, which reports ``line_num`` exactly. The C
engine is not the fallback: it parses those files but cannot say which line a row came from.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from connector.errors import BadInputFile
from connector.mapping import ProductMapping
from connector.readers.export import RawSheet, SourceFormat
from connector.readers.guard import check_text, check_text_bytes

SNIFF_LINES = 20
CANDIDATES = (";", ",", "\t", "|")
_SEP_LINE = re.compile(r"sep=(.)[ \t]*(?:\r\n|\r|\n|$)", re.IGNORECASE)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_csv(path: Path, mapping: ProductMapping) -> tuple[SourceFormat, list[RawSheet]]:
    data = path.read_bytes()
    check_text_bytes(path, data, mapping.encoding)
    text, encoding = decode(path, data, mapping.encoding)
    del data
    check_text(path, text)
    sep = _SEP_LINE.match(text)
    first_line = 1
    if sep:
        text, first_line = text[sep.end() :], 2
    skip = mapping.header_row - 1 if mapping.header else mapping.skip_rows
    title, body, body_line = _split_lines(text, skip, first_line)
    del text
    delimiter = _delimiter(mapping, sep, body)
    preamble = list(csv.reader(title, delimiter=delimiter))
    parsed = parse_body(_drop_trailing_blank_lines(body), delimiter, body_line)
    cells, lines, header = parsed.cells, parsed.lines, []
    notes: dict[int, str] = {}
    if mapping.header and len(cells):
        width = int(parsed.widths[0])
        header = [str(value) for value in cells.iloc[0].tolist()[:width]]
        cells, lines = cells.iloc[1:].reset_index(drop=True), lines[1:]
        notes = _wide_rows(cells, parsed.widths[1:], width)
    source = SourceFormat(
        kind="csv", encoding=encoding, delimiter=delimiter, sep_line=sep is not None
    )
    sheet = RawSheet(
        name="", preamble=preamble, header=header, cells=cells, lines=lines, row_notes=notes
    )
    return source, [sheet]


def _drop_trailing_blank_lines(body: str) -> str:
    """Remove empty or whitespace-only lines at the end (a regex here would scan the whole
    body); trailing spaces or tabs of the last real line are kept, they may be empty fields."""
    end = len(body.rstrip())
    tail = body[end:]
    breaks = [found for found in (tail.find("\n"), tail.find("\r")) if found >= 0]
    return body[: end + min(breaks)] if breaks else body


def decode(path: Path, data: bytes, encoding: str) -> tuple[str, str]:
    """The text and the codec used. A byte-order mark always decides (as in Excel: a file
    saved as "CSV UTF-8" is UTF-8 whatever the mapping says); then "auto" tries strict
    UTF-8 and falls back to cp1252; an explicit encoding is used as given."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(path, data, "utf-8-sig"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(path, data, "utf-16"), "utf-16"
    if encoding != "auto":
        return _decode(path, data, encoding), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return _decode(path, data, "cp1252"), "cp1252"


def _decode(path: Path, data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BadInputFile(
            f"{path.name} is not a text file in {codec} (bad byte at line {line})",
            hint="check the mapping's 'encoding' (auto, cp1252, utf-8) or export the file again",
        ) from None


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


def _delimiter(mapping: ProductMapping, sep: re.Match[str] | None, body: str) -> str:
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


@dataclass(frozen=True)
class Parsed:
    cells: pd.DataFrame
    lines: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int64]  # fields per record as written (before padding)


def parse_body(body: str, delimiter: str, first_line: int) -> Parsed:
    """Every record as text columns 0..n-1, and the line each record starts on."""
    if not body.strip():
        empty = np.empty(0, dtype=np.int64)
        return Parsed(pd.DataFrame(), empty, empty)
    encoded = body.encode("utf-8")
    try:
        cells = pd.read_csv(
            io.BytesIO(encoded),
            engine="pyarrow",
            sep=delimiter,
            header=None,
            dtype=str,
            keep_default_na=False,
            na_values=[],
        )
    except (ValueError, pd.errors.ParserError):
        return _parse_with_stdlib(body, delimiter, first_line)
    cells.columns = pd.RangeIndex(cells.shape[1])
    lines = _record_lines(encoded, first_line, len(cells))
    if len(lines) != len(cells) or ('"' in body and _has_line_breaks(cells)):
        return _parse_with_stdlib(body, delimiter, first_line)
    return Parsed(cells, lines, np.full(len(cells), cells.shape[1], dtype=np.int64))


def _record_lines(encoded: bytes, first_line: int, records: int) -> npt.NDArray[np.int64]:
    """Line numbers of the non-empty physical lines (what pyarrow turns into records)."""
    line_feeds = encoded.count(b"\n")
    if encoded.count(b"\r") in (0, encoded.count(b"\r\n")):
        physical = line_feeds + (0 if encoded.endswith(b"\n") else 1)
        if physical == records:  # no empty line anywhere: the common case, no scan needed
            return np.arange(first_line, first_line + records, dtype=np.int64)
    buffer = np.frombuffer(encoded, dtype=np.uint8)
    is_lf = np.append(buffer == 10, False)
    carriage = np.flatnonzero(buffer == 13)
    lone_cr = carriage[~is_lf[carriage + 1]]
    breaks = np.sort(np.concatenate((np.flatnonzero(is_lf), lone_cr)))
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    length = ends - starts
    before = buffer[np.maximum(ends - 1, 0)] if len(buffer) else np.empty(0, dtype=np.uint8)
    crlf = (length > 0) & is_lf[ends] & (before == 13)
    keep = (length - crlf) > 0
    return (np.flatnonzero(keep) + first_line).astype(np.int64)


def _has_line_breaks(cells: pd.DataFrame) -> bool:
    return any(bool(cells[column].str.contains("[\r\n]", regex=True).any()) for column in cells)


def _parse_with_stdlib(body: str, delimiter: str, first_line: int) -> Parsed:
    rows: list[list[str]] = []
    lines: list[int] = []
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)
    consumed = 0
    try:
        for record in reader:
            if record:
                rows.append(record)
                lines.append(first_line + consumed)
            consumed = reader.line_num
    except csv.Error as exc:
        raise BadInputFile(
            f"line {first_line + consumed}: the CSV cannot be parsed ({exc})",
            hint="check the quotes on that line, or the mapping's 'delimiter'",
        ) from None
    widths = np.array([len(row) for row in rows], dtype=np.int64)
    width = int(widths.max()) if len(widths) else 0
    cells = pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype="str")
    cells.columns = pd.RangeIndex(width)
    return Parsed(cells, np.array(lines, dtype=np.int64), widths)


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
