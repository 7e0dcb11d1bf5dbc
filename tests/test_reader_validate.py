"""Alephee's rules per row, the duplicate rule, and exact number parsing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.readers import read_export
from connector.readers.numbers import clean, parse_e4
from tests.reader_support import basic, rows_of, write_text_file


def _read(tmp_path: Path, lines: list[str], **columns: str) -> tuple[list[dict], dict[int, str]]:
    mapping = basic(tmp_path, **columns)
    export = read_export(write_text_file(tmp_path / "stock.csv", lines), mapping)
    return rows_of(export.table), {reject.line: reject.reason for reject in export.rejects}


def test_every_row_rule_rejects_with_a_plain_reason(tmp_path: Path) -> None:
    table, reasons = _read(
        tmp_path,
        [
            "SKU;Stock;Precio;PVP;Costo",
            "OK1;5;10,5;12;7",  # 2: fine
            ";5;10;;",  # 3: empty SKU
            "A3;abc;10;;",  # 4: stock not a number
            "A4;2,5;10;;",  # 5: stock not whole
            "A5;-1;10;;",  # 6: negative stock
            "A6;;10;;",  # 7: stock empty
            "A7;1;0;;",  # 8: price 0
            "A8;1;-3;;",  # 9: negative price
            "A9;1;1,23456;;",  # 10: five decimals
            "A10;1;;;",  # 11: price empty
            "A11;1;10;0;",  # 12: SRP must be > 0 when present
            "A12;1;10;;x",  # 13: cost not a number
            "A13;1;10;;",  # 14: empty SRP and cost: fine, not sent
            "A14;1,000;1,50000;;",  # 15: trailing zeros are not decimals
            "A15;99999999999;1;;",  # 16: stock beyond an int32
            "A16;1;12.50;;",  # 17: thousands '.' must group three digits
            "A17;1;1.234.567,8;;",  # 18: grouped thousands are fine
        ],
        price='"Precio"',
        suggested_retail_price='"PVP"',
        cost='"Costo"',
    )
    assert reasons == {
        3: "SKU is empty",
        4: "stock 'abc' is not a number (write it like 1.234,56)",
        5: "stock '2,5' is not a whole number",
        6: "stock '-1' is negative; Alephee takes 0 or more",
        7: "stock is empty",
        8: "price '0' must be greater than 0",
        9: "price '-3' must be greater than 0",
        10: "price '1,23456' has more than 4 decimals",
        11: "price is empty",
        12: "suggested retail price '0' must be greater than 0",
        13: "cost 'x' is not a number (write it like 1.234,56)",
        16: "stock '99999999999' is too large",
        17: "price '12.50' is not a number (write it like 1.234,56)",
    }
    by_sku = {row["sku"]: row for row in table}
    assert set(by_sku) == {"OK1", "A13", "A14", "A17"}
    assert by_sku["OK1"]["suggested_retail_price_e4"] == 120_000
    assert by_sku["A13"]["suggested_retail_price_e4"] is None
    assert by_sku["A13"]["cost_e4"] is None
    assert by_sku["A14"]["quantity"] == 1 and by_sku["A14"]["price_e4"] == 15_000
    assert by_sku["A17"]["price_e4"] == 12_345_678_000


def test_several_problems_in_one_row_are_all_named(tmp_path: Path) -> None:
    _, reasons = _read(tmp_path, ["SKU;Stock;Precio", ";-1;0"], price='"Precio"')
    assert reasons == {
        2: "SKU is empty; stock '-1' is negative; Alephee takes 0 or more; "
        "price '0' must be greater than 0"
    }


def test_rows_with_nothing_mapped_are_skipped_silently(tmp_path: Path) -> None:
    mapping = basic(tmp_path)
    path = write_text_file(
        tmp_path / "stock.csv", ["SKU;Descripción;Stock", "A;x;1", ";FERRETERÍA;", "B;y;2"]
    )
    export = read_export(path, mapping)
    assert [row["sku"] for row in rows_of(export.table)] == ["A", "B"]
    assert export.rejects == [] and export.rows_read == 2


def test_a_long_hostile_value_is_shortened_in_the_reason(tmp_path: Path) -> None:
    _, reasons = _read(tmp_path, ["SKU;Stock", "A;" + "9x" * 5000])
    assert len(reasons[2]) < 120


def test_identical_duplicates_collapse_to_the_first_line(tmp_path: Path) -> None:
    table, reasons = _read(
        tmp_path,
        ["SKU;Stock;Precio", "A;1;1.234,5", "B;2;3", "A;1;1234,50", "A;01;1234,5000"],
        price='"Precio"',
    )
    assert reasons == {}
    assert [(row["sku"], row["line"]) for row in table] == [("A", 2), ("B", 3)]


def test_conflicting_duplicates_reject_every_line_of_the_sku(tmp_path: Path) -> None:
    table, reasons = _read(tmp_path, ["SKU;Stock", "A;1", "B;2", "A;1", "C;3", "A;4", "B;2"])
    message = "SKU appears on lines 2, 4 and 6 with different values; keep one line per SKU"
    assert reasons == {2: message, 4: message, 6: message}
    assert [row["sku"] for row in table] == ["B", "C"]


def test_an_unreadable_duplicate_conflicts_with_a_good_one(tmp_path: Path) -> None:
    _, reasons = _read(tmp_path, ["SKU;Stock", "A;1", "A;uno"])
    assert reasons[2].startswith("SKU appears on lines 2 and 3 with different values")
    assert reasons[3].startswith("stock 'uno' is not a number")
    assert reasons[3].endswith("keep one line per SKU")


def test_brand_is_part_of_the_product_key(tmp_path: Path) -> None:
    table, reasons = _read(tmp_path, ["SKU;Marca;Stock", "A;BUJ;1", "A;ACME;2"], brand='"Marca"')
    assert reasons == {}
    assert [(row["sku"], row["brand"], row["quantity"]) for row in table] == [
        ("A", "BUJ", 1),
        ("A", "ACME", 2),
    ]
    export = read_export(tmp_path / "stock.csv", basic(tmp_path, brand='"Marca"'))
    assert export.source_rows("A", "ACME") == [(3, "")]


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "expected"),
    [
        ("1.234,50", ",", ".", 12_345_000),
        ("1 234,5", ",", " ", 12_345_000),
        ("1\u00a0234,5", ",", " ", 12_345_000),
        ("1,234.5", ".", ",", 12_345_000),
        ("1234.5", ".", "", 12_345_000),
        (",5", ",", ".", 5_000),
        ("+7", ",", "", 70_000),
        ("-0,0001", ",", "", -1),
        ("12,", ",", "", 120_000),
        ("99999999999999", ",", "", 999_999_999_999_990_000),
    ],
)
def test_parse_e4_examples(text: str, decimal: str, thousands: str, expected: int) -> None:
    parsed = parse_e4(clean(pd.Series([text], dtype="str")), decimal, thousands)
    assert parsed.e4.tolist() == [expected]


@pytest.mark.parametrize("text", ["1e5", "1.2.3", "12.50", "--1", "-", ",", "1,2,3", "٣"])
def test_parse_e4_refuses_what_is_not_a_number(text: str) -> None:
    parsed = parse_e4(clean(pd.Series([text], dtype="str")), ",", ".")
    assert parsed.invalid.tolist() == [True] and parsed.e4.isna().all()


def test_parse_e4_flags_too_large_and_too_precise() -> None:
    parsed = parse_e4(pd.Series(["999999999999999", "1,00001", "1"], dtype="str"), ",", "")
    assert parsed.too_large.tolist() == [True, False, False]
    assert parsed.too_precise.tolist() == [False, True, False]
    assert parsed.e4.tolist()[2] == 10_000


def test_connector_marker_apostrophe_is_dropped_on_read() -> None:
    cleaned = clean(pd.Series(["'-5", "'=A1", "'hola", " 7 "], dtype="str"))
    assert cleaned.tolist() == ["-5", "=A1", "'hola", "7"]


@given(
    st.integers(min_value=-(10**13), max_value=10**13),
    st.sampled_from([(",", "."), (".", ","), (",", ""), (",", " "), (".", "")]),
)
def test_parse_e4_reads_back_any_value_written_in_the_locale(
    e4: int, separators: tuple[str, str]
) -> None:
    decimal, thousands = separators
    whole, fraction = divmod(abs(e4), 10_000)
    grouped = f"{whole:,}".replace(",", thousands)
    text = ("-" if e4 < 0 else "") + grouped + (f"{decimal}{fraction:04d}" if fraction else "")
    parsed = parse_e4(pd.Series([text], dtype="str"), decimal, thousands)
    assert parsed.e4.tolist() == [e4], text
