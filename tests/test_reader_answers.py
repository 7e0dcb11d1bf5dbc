"""A reader child's answer (``readers.answers``): what the parent reads back is what the child
wrote, arrays included and still writable; a cut-short answer is an error, never a value."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.readers import _read_checked, answers, read_in_process
from connector.readers.isolate import DEFAULT_MEMORY_MB, can_fork
from tests.reader_support import XLSX_STOCK_MAPPING, mapping, rows_of, write_workbook

TEXTS = st.lists(st.text(max_size=12), max_size=60)
NUMBERS = st.lists(st.integers(-(2**62), 2**62), max_size=60)


def frame(texts: list[str], numbers: list[int]) -> pd.DataFrame:
    size = min(len(texts), len(numbers))
    masked = pd.array(numbers[:size], dtype="Int64")
    if size:
        masked[0] = pd.NA
    return pd.DataFrame(
        {
            "text": pd.Series(texts[:size], dtype="str"),
            "masked": masked,
            "plain": np.asarray(numbers[:size], dtype=np.int64),
        }
    )


def through_a_file(value: object) -> object:
    with tempfile.TemporaryFile() as handle:
        answers.write(value, handle)
        handle.flush()
        return answers.read(answers.mapped(handle))


def through_bytes(value: object) -> object:
    stream = io.BytesIO()
    answers.write(value, stream)
    return answers.read(stream.getvalue())


@settings(max_examples=60, deadline=None)
@given(TEXTS, NUMBERS, st.sampled_from([through_a_file, through_bytes]))
def test_an_answer_reads_back_as_written(texts: list[str], numbers: list[int], way: object) -> None:
    table = frame(texts, numbers)
    arrow = pa.array(texts, pa.string())
    contiguous = np.asarray(numbers, dtype=np.int64)  # out of band
    strided = np.arange(len(numbers) * 2, dtype=np.int64)[::2]  # not contiguous: in band
    value = (
        "ok",
        {"table": table, "arrow": arrow, "array": contiguous, "strided": strided, "list": numbers},
    )
    assert callable(way)
    kind, back = way(value)
    assert kind == "ok"
    pd.testing.assert_frame_equal(back["table"], table)
    assert back["arrow"].equals(arrow)
    assert back["array"].tolist() == numbers
    assert back["strided"].tolist() == strided.tolist()
    assert back["list"] == numbers
    back["array"][:] = 0  # writable, as the child's arrays were
    back["strided"][:] = 0
    assert not back["array"].any() and np.array_equal(contiguous, numbers)


def test_every_cut_short_answer_is_an_error() -> None:
    stream = io.BytesIO()
    answers.write(("ok", frame(["a", "bc", "d"], [1, 2, 3])), stream)
    whole = stream.getvalue()
    assert answers.read(whole)[0] == "ok"
    for size in range(len(whole)):
        with pytest.raises(Exception):  # noqa: B017 - any error: the caller reports a crash
            answers.read(whole[:size])


def test_an_empty_answer_file_maps_to_nothing() -> None:
    with tempfile.TemporaryFile() as handle:
        assert answers.mapped(handle) == b""


CELL = st.one_of(
    st.text(alphabet="AÑb-7 ", max_size=6),
    st.integers(-5, 10**6),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.booleans(),
    st.none(),
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(CELL, CELL, CELL, CELL), min_size=1, max_size=12))
def test_an_export_read_by_the_children_is_the_one_read_here(
    tmp_path: Path, rows: list[tuple[object, ...]]
) -> None:
    """Whatever the cells, the export that travels back from the forked children (its
    buffers mapped) is the export this process reads itself, and its arrays are writable."""
    path = write_workbook(
        tmp_path / "s.xlsx", {"Hoja": [["SKU", "Stock", "Precio", "Nota"], *rows]}
    )
    products = mapping(tmp_path, XLSX_STOCK_MAPPING + 'price = "Precio"\n')
    assert can_fork()
    travelled = _read_checked(path, products, DEFAULT_MEMORY_MB)
    here = read_in_process(path, products)
    assert travelled is not None
    assert rows_of(travelled.table) == rows_of(here.table)
    assert travelled.rejects == here.rejects
    assert rows_of(travelled.members) == rows_of(here.members)
    raw, expected = travelled.sheets[0], here.sheets[0]
    assert raw.cells.equals(expected.cells) and raw.lines.tolist() == expected.lines.tolist()
    assert raw.header == expected.header and raw.preamble == expected.preamble
    assert {k: v.tolist() for k, v in raw.numeric_cells.items()} == {
        k: v.tolist() for k, v in expected.numeric_cells.items()
    }
    raw.lines[:] = 0  # a mapped answer is writable, as an array read here is
