"""The columnar copy's file (``products.layout``), read back a batch at a time.

The copy is written in batches of ``BATCH_ROWS`` rows. Read whole, its one body (60 MB on a
1M-row file) sat in memory beside the columns made from it, at the peak of the file's way.
Read a batch at a time, each batch's codes are compared with the file's and its other columns
are copied into the final arrays before the next batch is read: the body never is whole in
memory. A copy written whole by an earlier version is one batch: read the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

BATCH_ROWS = 1 << 16
FLAGS = ("unknown", "ambiguous", "twice")


@dataclass(frozen=True)
class Copy:
    """What a copy that fits the file holds, in the arrays ``align`` uses."""

    meta: dict[bytes, bytes]
    brand: pa.ChunkedArray  # as the catalog writes it; null where no product is named
    flags: dict[str, npt.NDArray[np.bool_]]  # unknown, ambiguous, twice
    numbers: dict[str, pd.Series]  # the accepted value columns (Int64)
    dates: dict[str, pd.Series]  # the accepted ``as_of`` columns (categorical)


class _Columns:
    """The arrays a copy is read into, filled batch by batch."""

    def __init__(self, size: int, numbers: list[str], dates: list[str]) -> None:
        self.brand: list[pa.Array] = []
        self.flags = {name: np.zeros(size, dtype=bool) for name in FLAGS}
        # Zeros: pages the system hands out only when written (a column never accepted, as
        # the prices of a stock-only mapping, costs nothing).
        self.numbers = {name: np.zeros(size, dtype=np.int64) for name in numbers}
        self.missing = {name: np.ones(size, dtype=bool) for name in numbers}
        self.codes = {name: np.full(size, -1, dtype=np.int32) for name in dates}
        self.texts: dict[str, dict[str, int]] = {name: {} for name in dates}

    def add(self, batch: pa.RecordBatch, start: int) -> None:
        part = slice(start, start + batch.num_rows)
        self.brand.append(pa.concat_arrays([batch.column("brand")]))  # its own buffers
        for name, values in self.flags.items():
            values[part] = batch.column(name).to_numpy(zero_copy_only=False)
        for name, numbers in self.numbers.items():
            if pa.types.is_null(batch.column(name).type):  # never accepted: stays untouched
                continue
            values = integers(batch.column(name)).array
            numbers[part] = values.to_numpy(dtype=np.int64, na_value=0)
            self.missing[name][part] = values.isna()
        for name, codes in self.codes.items():
            array = batch.column(name)
            if not pa.types.is_dictionary(array.type):  # stored as nulls: never accepted
                continue
            known = self.texts[name]
            texts = array.dictionary.to_pylist()
            # This batch's codes as the whole column's (a missing one, -1, stays -1: last).
            mine = np.array([*(known.setdefault(str(t), len(known)) for t in texts), -1], np.int32)
            codes[part] = mine[array.indices.fill_null(-1).to_numpy(zero_copy_only=False)]

    def done(self, meta: dict[bytes, bytes]) -> Copy:
        numbers = {
            name: pd.Series(pd.arrays.IntegerArray(values, self.missing[name]), copy=False)
            for name, values in self.numbers.items()
        }
        dates = {
            name: pd.Series(
                pd.Categorical.from_codes(
                    codes, categories=pd.Index(list(self.texts[name]), dtype="str")
                )
            )
            for name, codes in self.codes.items()
        }
        brand = pa.chunked_array(self.brand, type=pa.large_string())
        return Copy(meta, brand, self.flags, numbers, dates)


def integers(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A nullable integer column (missing: never accepted), one copy of its numbers."""
    array = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_null(array.type):  # stored as "never accepted" throughout
        size = len(array)
        never = pd.arrays.IntegerArray(np.zeros(size, dtype=np.int64), np.ones(size, dtype=bool))
        return pd.Series(never, copy=False)
    # The numbers straight from the column's buffer (a missing one's slot holds any value,
    # masked): one copy, no filled Arrow column on the way.
    written = np.frombuffer(array.buffers()[1], dtype=np.int64)
    numbers = written[array.offset : array.offset + len(array)].copy()
    missing = array.is_null().to_numpy(zero_copy_only=False)
    return pd.Series(pd.arrays.IntegerArray(numbers, missing), copy=False)


def read(
    path: Path,
    written: pa.Table,
    numbers: list[str],
    dates: list[str],
    meta_fits: Callable[[dict[bytes, bytes]], bool],
) -> Copy | None:
    """The copy at ``path`` when its codes and brands as written are ``written``'s, in the
    same order, and ``meta_fits(meta)``; else None. Raises OSError / ArrowException for a
    missing or damaged file."""
    with pa.OSFile(str(path), "rb") as source:
        reader = ipc.open_file(source)
        meta = dict(reader.schema.metadata or {})
        if not meta_fits(meta):
            return None
        columns = _Columns(written.num_rows, numbers, dates)
        start = 0
        for index in range(reader.num_record_batches):
            batch = reader.get_batch(index)
            if start + batch.num_rows > written.num_rows or not _same_rows(batch, written, start):
                return None
            columns.add(batch, start)
            start += batch.num_rows
            del batch
        if start != written.num_rows:
            return None
    return columns.done(meta)


def _same_rows(batch: pa.RecordBatch, written: pa.Table, start: int) -> bool:
    for name in ("sku", "want"):
        mine = written[name].slice(start, batch.num_rows)
        if pc.all(pc.equal(batch.column(name), mine)).as_py() is not True:
            return False
    return True


def write(path: Path, table: pa.Table) -> None:
    """Write the copy (``path`` is the temporary file), in batches a reader takes one at a
    time."""
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=BATCH_ROWS)
