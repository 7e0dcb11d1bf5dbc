"""The diff is a pure function: exact comparisons, only carried fields, stable result."""

from __future__ import annotations

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from connector.products.diff import diff


def table(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for col in (
        "quantity",
        "price_e4",
        "price_with_taxes_e4",
        "suggested_retail_price_e4",
        "cost_e4",
    ):
        if col not in frame:
            frame[col] = pd.NA
        frame[col] = frame[col].astype("Int64")
    frame["sku"] = frame["sku"].astype(str)
    for col, default in (("brand", ""), ("line", 0), ("sheet", "")):
        if col not in frame:
            frame[col] = default
    return frame


def test_only_changed_and_new_products() -> None:
    current = table(
        [
            {"sku": "001", "quantity": 5, "line": 2},
            {"sku": "002", "quantity": 7, "line": 3},
            {"sku": "003", "quantity": 0, "line": 4},
        ]
    )
    accepted = table([{"sku": "001", "quantity": 5}, {"sku": "002", "quantity": 6}])
    (stock,) = diff(current, accepted, frozenset({"quantity"}))
    assert list(stock.table["sku"]) == ["002", "003"]
    assert stock.unchanged == 1
    assert stock.to_dict()["changed"][0] == {
        "sku": "002",
        "brand": "",
        "line": 3,
        "quantity": [6, 7],
    }
    assert stock.to_dict()["changed"][1]["quantity"] == [None, 0]


def test_fields_not_carried_are_never_changes() -> None:
    current = table([{"sku": "001", "quantity": 5}])
    accepted = table([{"sku": "001", "quantity": 5, "price_e4": 10_000}])
    groups = diff(current, accepted, frozenset({"quantity"}))
    assert [g.group for g in groups] == ["stock"]
    assert len(groups[0]) == 0


def test_price_change_in_any_field_sends_the_group() -> None:
    current = table([{"sku": "A", "price_e4": 12_345_000, "suggested_retail_price_e4": 15_000_000}])
    accepted = table(
        [{"sku": "A", "price_e4": 12_345_000, "suggested_retail_price_e4": 14_000_000}]
    )
    (price,) = diff(current, accepted, frozenset({"price", "suggested_retail_price"}))
    assert len(price) == 1
    assert price.to_dict()["changed"][0]["suggested_retail_price"] == [1400.0, 1500.0]
    assert price.to_dict()["changed"][0]["price"] == [1234.5, 1234.5]


def test_products_missing_from_the_file_are_left_alone() -> None:
    current = table([{"sku": "A", "quantity": 1}])
    accepted = table([{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 9}])
    (stock,) = diff(current, accepted, frozenset({"quantity"}))
    assert len(stock) == 0 and "B" not in set(stock.table["sku"])


@given(
    st.dictionaries(
        st.text("0123456789", min_size=1, max_size=8), st.integers(0, 10**6), max_size=40
    ),
    st.dictionaries(
        st.text("0123456789", min_size=1, max_size=8), st.integers(0, 10**6), max_size=40
    ),
)
def test_diff_matches_a_plain_dictionary_comparison(
    new: dict[str, int], old: dict[str, int]
) -> None:
    current = table(
        [{"sku": k, "quantity": v} for k, v in new.items()] or [{"sku": "x", "quantity": 1}]
    )
    new = new or {"x": 1}
    accepted = table(
        [{"sku": k, "quantity": v} for k, v in old.items()] or [{"sku": "y", "quantity": 1}]
    )
    old = old or {"y": 1}
    (stock,) = diff(current, accepted, frozenset({"quantity"}))
    expected = {k for k, v in new.items() if old.get(k) != v}
    assert set(stock.table["sku"]) == expected
    assert stock.unchanged == len(new) - len(expected)
