"""A CSV export read for its mapped columns only, the other columns' text re-read when needed.

A stock export carries descriptions, brands and more besides the few columns a mapping uses.
Parsing those into text costs most of the read's memory, and for a single-byte codepage a
transcoding of the whole file (measured on a 1M-row cp1252 export: 0.65 s and 130 MB more
than the mapped columns read as bytes). So when it is safe, Arrow converts only the mapped
columns, as the file's own bytes (``large_binary``), and those are turned into text column by
column (a view when they are ASCII, as they almost always are). The rejects report still gets
each rejected row exactly as written: ``connector.readers.lines.LineSource`` cuts the few
lines it needs out of the file's bytes, or, once the read is done, out of the file again.

Safe means every rule of the full read still holds with only those columns at hand:

- no quote in the body: a field is then exactly the text between two delimiters, a record
  exactly one physical line (``str.split`` re-reads it as Arrow read it), and no quoted
  value can hide a line break in a column not looked at;
- no NUL byte (its rule looks at every column);
- no line long enough to hold a field over ``MAX_FIELD_CHARS``: every aligned window of
  ``WINDOW`` bytes holds a line break, so no line reaches ``2 * WINDOW`` bytes;
- the mapping names its columns in a header line, and they are all found in it.

Otherwise the file is read whole, as before. Arrow refuses rows of another width either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from connector.errors import BadInputFile
from connector.readers.columns import resolve_columns
from connector.readers.csv_arrow import blank_records, filled_lines, read_table
from connector.readers.csv_checks import MAX_FIELD_CHARS
from connector.readers.csv_records import Parsed
from connector.readers.export import RawSheet
from connector.readers.lines import LineSource, Stamp
from connector.readers.mapping import FileMapping
from connector.readers.text import SourceText

WINDOW = MAX_FIELD_CHARS // 2


@dataclass(frozen=True)
class Narrow:
    header: list[str]  # every field of the header line
    columns: list[int]  # the mapped ones, ascending
    key: int  # the SKU's


def mapped_columns(
    path: Path,
    source: SourceText,
    begin: int,
    header_line: str,
    delimiter: str,
    mapping: FileMapping,
) -> Narrow | None:
    """The header and the mapped columns, when the file may be read for those columns alone
    (see the module docstring); else None."""
    data = source.data
    if not mapping.header or data.find(b'"', begin) >= 0 or data.find(b"\x00", begin) >= 0:
        return None
    if not _short_lines(data, begin):
        return None
    header = header_line.split(delimiter)
    probe = RawSheet(
        name="",
        preamble=[],
        header=header,
        cells=pd.DataFrame(columns=pd.RangeIndex(len(header))),
        lines=np.empty(0, dtype=np.int64),
    )
    try:
        found = resolve_columns(path, probe, mapping)
    except BadInputFile:  # the full read says what is wrong, with the rows at hand
        return None
    return Narrow(header, sorted(set(found.values())), found.get("sku", -1))


def _short_lines(data: bytes, begin: int) -> bool:
    """Whether every aligned window of ``WINDOW`` bytes holds a line break: then no line (so
    no field) reaches ``2 * WINDOW`` bytes. A look at the first line break of each window."""
    for start in range(begin, len(data), WINDOW):
        stop = min(start + WINDOW, len(data))
        if data.find(b"\n", start, stop) < 0 and data.find(b"\r", start, stop) < 0:
            return False
    return True


def text_column(values: Any, codec: str) -> Any:
    """A column Arrow read as the file's bytes, as text: a view of the same buffers when the
    bytes already are UTF-8 (the file is UTF-8, or the column is ASCII), else transcoded."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    return pa.chunked_array([_text_chunk(chunk, codec) for chunk in chunks], type=pa.large_string())


def _text_chunk(chunk: Any, codec: str) -> Any:
    offsets_buffer, data_buffer = chunk.buffers()[1:3]
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        chunk.offset : chunk.offset + len(chunk) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.empty(0, np.uint8)
    data = data[offsets[0] : offsets[-1]]
    if codec == "utf-8" or not (data >= 0x80).any():
        return chunk.view(pa.large_string())
    extra = _utf8_extra(codec)[data]  # bytes each character gains in UTF-8
    gained = np.concatenate(([0], np.cumsum(extra, dtype=np.int64)))
    rebased = offsets - offsets[0]
    text = data.tobytes().decode(codec).encode("utf-8")
    new_offsets = pa.py_buffer(rebased + gained[rebased])
    return pa.Array.from_buffers(
        pa.large_string(), len(chunk), [None, new_offsets, pa.py_buffer(text)]
    )


@lru_cache(maxsize=8)
def _utf8_extra(codec: str) -> npt.NDArray[np.int64]:
    """Per byte of a single-byte ``codec``: its character's UTF-8 length, minus one."""
    lengths = [len(bytes([b]).decode(codec, errors="replace").encode("utf-8")) for b in range(256)]
    return np.array(lengths, dtype=np.int64) - 1


def parse_mapped(
    source: SourceText,
    begin: int,
    end: int,
    delimiter: str,
    first_line: int,
    narrow: Narrow,
    origin: tuple[Path, Stamp | None],
) -> Parsed | None:
    """The mapped columns of a body ``csv_narrow.mapped_columns`` accepted, read as the
    file's bytes (no transcoding of the whole file), then each made text. None: the full
    read must decide (rows of different widths, empty lines Arrow could not place).
    ``origin``: the file and its stamp (None when ``source`` is not its bytes), where the
    whole rows are read again once the bytes are let go (``connector.readers.lines``)."""
    names = [f"f{index}" for index in narrow.columns]
    body = pa.BufferReader(pa.py_buffer(source.data).slice(begin, end - begin))
    table = read_table(body, delimiter, pa.large_binary(), names)
    if table is None:
        return None
    lines = np.arange(first_line, first_line + table.num_rows, dtype=np.int64)
    if blank_records(table).any():  # maybe empty lines: drop them, as Arrow could not
        filled = filled_lines(source.data, begin, end)
        if len(filled) != table.num_rows:
            return None
        table, lines = table.filter(pa.array(filled)), lines[filled]
    columns = {}
    for index, name in zip(narrow.columns, names, strict=True):
        text = text_column(table.column(name), source.codec)
        if index == narrow.key:  # rows are picked by SKU all along: from one chunk, 7x faster
            text = pa.chunked_array([text.combine_chunks()])
        columns[index] = pd.array(text, dtype="str")
    del table
    cells = pd.DataFrame(columns, copy=False)
    width = len(narrow.header)
    path, stamp = origin
    whole = LineSource(
        path, stamp, begin, end, first_line, source.codec, delimiter, width, source.data
    )
    return Parsed(cells, lines, np.full(len(cells), width, dtype=np.int64), whole=whole)
