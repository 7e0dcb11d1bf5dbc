"""A reader child's answer (``readers.answers``): what the parent reads back is what the child
wrote, arrays included and still writable; a cut-short answer is an error, never a value."""

from __future__ import annotations

import io
import tempfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.readers import answers

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
