"""CSV records through the standard library's reader, for what Arrow cannot take: quoted
values spanning lines and rows of different widths. It reports ``line_num`` exactly, which
is what lets an unclosed quote be caught (``csv_checks.swallowed``) and every swallowed line
be rejected with its own number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from connector.errors import BadInputFile
from connector.readers.csv_checks import (
    MAX_COLUMNS,
    split_physical,
    swallowed,
    swallowed_note,
    too_wide_note,
)
from connector.readers.export import RowSource

KEEP_AT_LEAST = 64  # columns kept of a line wider than the header (enough to show a header)


@dataclass(frozen=True)
class Parsed:
    cells: pd.DataFrame
    lines: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int64]  # fields per record as written (before padding)
    notes: dict[int, str] = field(default_factory=dict)  # record position -> why it is bad
    whole: RowSource | None = None  # the whole records, when ``cells`` has some columns only


@dataclass(frozen=True)
class Stdlib:
    """The standard library's csv reader, which reports ``line_num`` exactly: for quoted
    values spanning lines and rows of different widths (Arrow refuses those)."""

    delimiter: str
    first_line: int
    line_breaks_allowed: bool
    keep: int

    def parse(self, body: str) -> Parsed:
        physical = io.StringIO(body, newline="").readlines()  # csv's own idea of a line
        rows: list[list[str]] = []
        lines: list[int] = []
        widths: list[int] = []
        notes: dict[int, str] = {}
        reader = csv.reader(physical, delimiter=self.delimiter)
        consumed = 0
        try:
            for record in reader:
                start, consumed = consumed, reader.line_num
                if not record:
                    continue
                spans = consumed - start > 1
                if spans and swallowed(record, self.delimiter, self.line_breaks_allowed):
                    for offset in range(start, consumed):
                        if not physical[offset].strip():
                            continue
                        notes[len(rows)] = swallowed_note(
                            self.first_line + offset,
                            self.first_line + start,
                            self.first_line + consumed - 1,
                        )
                        self._add(rows, widths, split_physical(physical[offset], self.delimiter))
                        lines.append(self.first_line + offset)
                    continue
                self._add(rows, widths, record)
                lines.append(self.first_line + start)
        except csv.Error as exc:
            raise BadInputFile(
                f"line {self.first_line + consumed}: the CSV cannot be parsed ({exc})",
                hint="check the quotes on that line, or the mapping's 'delimiter'",
            ) from None
        return _frame(rows, lines, widths, notes)

    def _add(self, rows: list[list[str]], widths: list[int], record: list[str]) -> None:
        """Keep a record, cut to the columns that can matter (bounded memory)."""
        keep = self.keep or (max(widths[0] + 1, KEEP_AT_LEAST) if widths else MAX_COLUMNS + 1)
        widths.append(len(record))
        rows.append(record[: min(keep, MAX_COLUMNS + 1)])


def _frame(
    rows: list[list[str]], lines: list[int], widths: list[int], notes: dict[int, str]
) -> Parsed:
    width = max((len(row) for row in rows), default=0)
    cells = pd.DataFrame([row + [""] * (width - len(row)) for row in rows], dtype="str")
    cells.columns = pd.RangeIndex(width)
    for position, written in enumerate(widths):
        if written > MAX_COLUMNS and position not in notes:
            notes[position] = too_wide_note(written)
    return Parsed(cells, np.array(lines, dtype=np.int64), np.array(widths, dtype=np.int64), notes)
