"""Checks on a CSV export that keep a broken file from sending a wrong value.

- **A cut last line.** A file whose last line has no line break is taken as cut short
  (``1005,50`` cut to ``10`` is still a number): the intake lets it wait like any incomplete
  file, then the reader fails it. ``final_line_break = false`` in the mapping is for an ERP
  that never writes one.
- **An unclosed quote.** A quote that is never closed swallows the following lines into one
  value, and the fields after it shift: the SKU that opened it would get another row's stock.
  A record that spans lines is split back into its physical lines, and every one of them is
  rejected with its line number (``swallowed``).
- **Width.** At most ``MAX_COLUMNS`` fields a line: a 3 MB line of 300,000 separators would
  otherwise become 300,000 columns of a million rows. The first line (the header) beyond it
  refuses the file; a later wider line is rejected and only its first columns are kept.
- **Long fields.** A field longer than ``MAX_FIELD_CHARS`` (the stdlib fallback's own limit)
  rejects its line: no stock, price or SKU is that long, and such a value is a swallowed file
  or junk. The memory of a read stays bounded by the file size limit (``guard``).
- **NUL bytes.** One rule for the whole file: a line holding a NUL byte is rejected with its
  line number; a file whose start is mostly control bytes is binary and fails
  (``guard.check_text``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from connector.errors import BadInputFile
from connector.readers.arrowtext import longest_bytes
from connector.readers.text import SourceText

MAX_COLUMNS = 1_024
MAX_FIELD_CHARS = 131_072  # csv.field_size_limit()'s default: the fallback parser's cap too
_BREAK = re.compile(r"\r\n|\r|\n")


def check_complete(path: Path, source: SourceText, required: bool) -> None:
    """Refuse a file whose last line has no line break (see the module docstring)."""
    data = source.data
    if not required or len(data) <= source.start or data.endswith((b"\n", b"\r")):
        return
    if not data[source.start :].strip():
        return  # nothing but white space: "no data", decided later
    line = data.count(b"\n", source.start) + 1
    raise BadInputFile(
        f"{path.name}: the last line (line {line}) has no line break at its end, so the file "
        "looks cut short (a value like '1005,50' may have been cut to '10'); nothing from it "
        "was used",
        hint="if the ERP was still writing it, drop it again once it is complete; if the ERP "
        "never ends its files with a line break, set final_line_break = false in the mapping",
    )


def check_first_line(path: Path, body: str, delimiter: str, line: int) -> None:
    """The header (or first data line) decides the columns: cap it before any parsing."""
    parts = _BREAK.split(body, maxsplit=1)
    fields = parts[0].count(delimiter) + 1
    if fields > MAX_COLUMNS:
        more = "+" if len(parts) == 1 else ""  # only the head of the file was looked at
        raise BadInputFile(
            f"{path.name}: line {line} has {fields:,}{more} fields; a stock export has at most "
            f"{MAX_COLUMNS:,} columns, so the file was not read",
            hint="check the mapping's 'delimiter' and 'header_row', or export fewer columns",
        )


def swallowed(record: list[str], delimiter: str, line_breaks_allowed: bool) -> bool:
    """A record spanning lines whose values look like swallowed lines (an unclosed quote)."""
    for value in record:
        found = _BREAK.search(value)
        if found and (not line_breaks_allowed or delimiter in value[found.end() :]):
            return True
    return False


def swallowed_note(line: int, first: int, last: int) -> str:
    return (
        f"line {line} is inside a quoted value that runs from line {first} to line {last} "
        "(a quote that is never closed?); none of those lines is used: check the quotes"
    )


def split_physical(text: str, delimiter: str) -> list[str]:
    """A physical line's fields, quotes taken literally (its quoting is what went wrong)."""
    return _BREAK.sub("", text).split(delimiter)


def too_wide_note(width: int) -> str:
    return (
        f"the line has {width:,} fields, more than the {MAX_COLUMNS:,} a stock export has; "
        "check the delimiter and the quotes"
    )


def nul_notes(cells: pd.DataFrame) -> dict[int, str]:
    """Row position -> note, for the rows holding a NUL byte."""
    found = np.zeros(len(cells), dtype=bool)
    for column in cells:
        found |= cells[column].str.contains("\x00", regex=False).to_numpy(dtype=bool)
    return {
        int(row): "the line holds a NUL byte (binary data); it is not used"
        for row in np.flatnonzero(found)
    }


def long_field_notes(cells: pd.DataFrame) -> dict[int, str]:
    """Row position -> note, for the rows holding a field longer than ``MAX_FIELD_CHARS``."""
    found = np.zeros(len(cells), dtype=bool)
    for column in cells:
        if longest_bytes(pa.array(cells[column].array)) <= MAX_FIELD_CHARS:
            continue  # read from the offsets: no lengths array for the usual column
        lengths = cells[column].str.len()
        found |= (lengths > MAX_FIELD_CHARS).to_numpy(dtype=bool)
    return {
        int(row): (
            f"the line holds a field longer than {MAX_FIELD_CHARS:,} characters (no SKU, stock "
            "or price is that long: a damaged line); it is not used"
        )
        for row in np.flatnonzero(found)
    }
