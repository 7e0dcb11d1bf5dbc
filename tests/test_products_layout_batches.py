"""The columnar copy read back a batch at a time (``products.layout_file``) gives the answers
of the full match: the layout state machine again, with batches of a few rows, so that codes
are compared and ``as_of`` dictionaries merged across batches."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from connector.products import layout_file
from tests.test_products_layout import LayoutModel


def test_a_copy_in_small_batches_never_changes_an_answer() -> None:
    with mock.patch.object(layout_file, "BATCH_ROWS", 2):
        run_state_machine_as_test(
            LayoutModel,
            settings=settings(
                max_examples=40,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )


def test_a_copy_in_batches_reads_back_every_column(tmp_path: Path) -> None:
    """Values with gaps, a column never accepted, dates with a gap, across three batches."""
    dates = pd.Series(["b", "a", None, "a", "b", "c", None], dtype="str").astype("category")
    table = pa.table(
        {
            "sku": pa.array(list("uvwxyzq"), pa.large_string()),
            "want": pa.array([""] * 7, pa.large_string()),
            "brand": pa.array(["B", None, "C", "B", "B", "D", None], pa.large_string()),
            "unknown": pa.array([False, True, False, False, False, False, True]),
            "ambiguous": pa.array([False] * 6 + [True]),
            "twice": pa.array([False, False, False, True, True, False, False]),
            "quantity": pa.array([1, None, 3, 4, None, 6, 7], pa.int64()),
            "price_e4": pa.nulls(7),
            "stock_as_of": pa.array(dates),
        }
    )
    path = tmp_path / "copy.arrow"
    with mock.patch.object(layout_file, "BATCH_ROWS", 3):
        layout_file.write(path, table)
    written = table.select(["sku", "want"])
    copy = layout_file.read(path, written, ["quantity", "price_e4"], ["stock_as_of"], _any)
    assert copy is not None
    got = copy.dates["stock_as_of"]
    assert got.astype(object).where(got.notna(), None).tolist() == [
        "b",
        "a",
        None,
        "a",
        "b",
        "c",
        None,
    ]
    quantity = copy.numbers["quantity"]
    assert [None if pd.isna(v) else v for v in quantity] == [1, None, 3, 4, None, 6, 7]
    assert copy.numbers["price_e4"].isna().all()
    assert copy.brand.to_pylist() == table["brand"].to_pylist()
    for flag in layout_file.FLAGS:
        assert copy.flags[flag].tolist() == table[flag].to_pylist()
    other = pa.table({"sku": pa.array(list("uvwxyzr"), pa.large_string()), "want": written["want"]})
    assert layout_file.read(path, other, ["quantity"], ["stock_as_of"], _any) is None


def _any(meta: dict[bytes, bytes]) -> bool:
    return True
