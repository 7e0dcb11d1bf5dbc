"""Arrow's CSV reader on an export's body, and the few checks on its records that stand in
for line numbers (see ``connector.readers.csv``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from connector.readers.arrowtext import empty_mask
from connector.readers.text import SourceText
from connector.readers.transcode import Utf8Blocks


def read_text(source: SourceText, begin: int, end: int, delimiter: str) -> Any:
    """Arrow's multi-threaded CSV reader on the bytes in place (a single-byte codepage turned
    into UTF-8 block by block as Arrow reads it); None when it refuses the file (uneven rows).

    Empty lines are kept as records of empty fields, so record n is physical line n (while no
    quoted value spans lines): line numbers without counting line breaks, which costs more
    than parsing when done for every file."""
    body: Any = pa.BufferReader(pa.py_buffer(source.data).slice(begin, end - begin))
    if source.codec != "utf-8":
        body = pa.PythonFile(Utf8Blocks(source.data, begin, end, source.codec), mode="r")
    return read_table(body, delimiter, pa.large_string())


def read_table(body: Any, delimiter: str, kind: Any, include: list[str] | None = None) -> Any:
    """Arrow's reader, every (or every ``include``d) column of type ``kind``; None when it
    refuses the file (uneven rows)."""
    try:
        return pa_csv.read_csv(
            body,
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                default_column_type=kind,
                strings_can_be_null=False,
                null_values=[],
                include_columns=include,
                check_utf8=pa.types.is_large_string(kind),  # bytes: made text after
            ),
            memory_pool=_parse_pool(),
        )
    except pa.ArrowInvalid:
        return None


def _parse_pool() -> Any:
    """jemalloc for the parse where the wheel has it: its columns then cost 50-60 MB less
    memory on a 1M-row file than through the default pool (measured: the reader's threads
    leave less behind); the default pool elsewhere (Windows wheels have no jemalloc)."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return None


def blank_records(table: Any) -> npt.NDArray[np.bool_]:
    """Records whose fields are all empty: an empty line, or a line of separators."""
    blank = np.ones(table.num_rows, dtype=bool)
    for column in table.columns:
        blank &= empty_mask(column)
        if not blank.any():  # usually decided by the first column (the SKU is never empty)
            break
    return blank


def filled_lines(data: bytes, begin: int, end: int) -> npt.NDArray[np.bool_]:
    """For each physical line of the body (CR LF, LF or a lone CR ends one): not empty."""
    buffer = np.frombuffer(data, dtype=np.uint8, count=end - begin, offset=begin)
    is_lf = np.append(buffer == 10, False)
    carriage = np.flatnonzero(buffer == 13)
    lone_cr = carriage[~is_lf[carriage + 1]]
    breaks = np.sort(np.concatenate((np.flatnonzero(is_lf), lone_cr)))
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buffer)]))
    length = ends - starts
    before = buffer[np.maximum(ends - 1, 0)] if len(buffer) else np.empty(0, dtype=np.uint8)
    crlf = (length > 0) & is_lf[ends] & (before == 13)
    filled: npt.NDArray[np.bool_] = (length - crlf) > 0
    return filled


def has_line_breaks(table: Any) -> bool:
    return any(
        pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py() for column in table.columns
    )
