"""The fast CSV path gives what the plain one gives: Arrow on the file's own bytes, only the head
and the tail decoded in Python, numbers parsed with Arrow kernels, numeric SKUs hashed as
integers, and columns worked on two at a time."""

from __future__ import annotations

import codecs
import gc
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector.errors import BadInputFile
from connector.readers import numbers, read_export
from connector.readers.csv import Stdlib, parse_body
from connector.readers.duplicates import _repeated
from connector.readers.numbers import clean, number_pattern, parse_e4
from connector.readers.text import HEAD_BYTES, TAIL_BYTES, drop_trailing_blank_lines, open_text
from tests.reader_support import basic, rows_of, write_text_file

SEPARATORS = [(",", "."), (".", ","), (",", ""), (",", " "), (".", "")]
FIELD = st.text(alphabet="abñ€09,.", max_size=4)
LINE = st.one_of(st.just(""), st.just(";;"), st.lists(FIELD, min_size=3, max_size=3).map(";".join))


@given(
    st.lists(st.tuples(LINE, st.sampled_from(["\r\n", "\n", "\r"])), min_size=1, max_size=25),
    st.sampled_from(["utf-8", "cp1252"]),
)
def test_arrow_and_the_standard_library_agree_on_cells_and_lines(
    lines: list[tuple[str, str]], codec: str
) -> None:
    body = "".join(line + end for line, end in lines)
    source = open_text(Path("stock.csv"), body.encode(codec), codec)
    fast = parse_body(source, 0, ";", 1)
    plain = Stdlib(";", 1, False, 0).parse(drop_trailing_blank_lines(body))
    assert fast.lines.tolist() == plain.lines.tolist()
    assert fast.widths.tolist() == plain.widths.tolist()
    assert fast.cells.to_numpy(dtype=object).tolist() == plain.cells.to_numpy(dtype=object).tolist()


def test_empty_lines_before_the_header_and_between_rows(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes("Título\r\n\r\nSKU;Stock\r\nA;1\r\n\r\n;;\r\nB;2\r\n".encode("cp1252"))
    export = read_export(path, basic(tmp_path, header_row=2))
    assert [(r["sku"], r["line"]) for r in rows_of(export.table)] == [("A", 4), ("B", 7)]
    assert export.sheets[0].header == ["SKU", "Stock"]
    assert export.original(6) == {"SKU": "", "Stock": "", "column 3": ""}
    assert export.original(5) == {}


def test_title_rows_longer_than_the_decoded_head(tmp_path: Path) -> None:
    title = "Listado;" + "x;" * HEAD_BYTES
    path = write_text_file(tmp_path / "stock.csv", [title, "SKU;Stock", "A;1", "B;2"])
    export = read_export(path, basic(tmp_path, header_row=2))
    assert [(r["sku"], r["quantity"], r["line"]) for r in rows_of(export.table)] == [
        ("A", 1, 3),
        ("B", 2, 4),
    ]
    assert export.sheets[0].preamble[0][:2] == ["Listado", "x"]


def test_a_title_cell_too_long_for_any_csv_reader_is_a_bad_file(tmp_path: Path) -> None:
    path = write_text_file(tmp_path / "stock.csv", ["x" * 200_000, "SKU;Stock", "A;1"])
    with pytest.raises(BadInputFile, match="line 1: a title row cannot be parsed"):
        read_export(path, basic(tmp_path, header_row=2))


@pytest.mark.parametrize("codec", ["cp1252", "utf-8"])
def test_trailing_blank_lines_longer_than_the_decoded_tail(tmp_path: Path, codec: str) -> None:
    blank = [" \t\u00a0 "] * TAIL_BYTES  # no-break spaces are white space too
    path = write_text_file(
        tmp_path / "stock.csv", ["SKU;Stock", "A;1", "B;2", *blank], encoding=codec
    )
    export = read_export(path, basic(tmp_path))
    assert export.rejects == []
    assert [(r["sku"], r["line"]) for r in rows_of(export.table)] == [("A", 2), ("B", 3)]


@pytest.mark.parametrize("lead", ["", "x"])
def test_the_tail_window_never_cuts_a_character(tmp_path: Path, lead: str) -> None:
    last = "B;2;" + lead + "ñ€" * TAIL_BYTES
    path = write_text_file(
        tmp_path / "stock.csv", ["SKU;Stock;Nota", "A;1;x", last, "  "], encoding="utf-8"
    )
    export = read_export(path, basic(tmp_path))
    assert export.rejects == []
    assert export.original(3)["Nota"] == lead + "ñ€" * TAIL_BYTES


def test_a_byte_cp1252_leaves_undefined_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(b"SKU;Stock\r\nA;1\r\nB\x81;2\r\n")
    with pytest.raises(BadInputFile, match=r"not a text file in cp1252 \(bad byte at line 3\)"):
        read_export(path, basic(tmp_path))
    export = read_export(path, basic(tmp_path, extra='encoding = "latin-1"'))
    assert [r["sku"] for r in rows_of(export.table)] == ["A", "B\x81"]


def test_a_bad_byte_after_a_utf8_bom_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(codecs.BOM_UTF8 + b"SKU;Stock\r\nA;1\r\nB\xff;2\r\n")
    with pytest.raises(BadInputFile, match=r"in utf-8-sig \(bad byte at line 3\)"):
        read_export(path, basic(tmp_path))


@given(
    st.lists(
        st.one_of(
            st.just(""),
            st.text(alphabet="0123456789", min_size=1, max_size=19),
            st.text(alphabet="0A", min_size=1, max_size=3),
        ),
        max_size=40,
    )
)
def test_repeated_skus_agree_with_hashing_the_text(skus: list[str]) -> None:
    series = pd.Series(skus, dtype="str")
    named = (series != "").to_numpy(dtype=bool)
    expected = series.duplicated(keep=False).to_numpy(dtype=bool) & named
    assert (_repeated(series, named) & named).tolist() == expected.tolist()


@st.composite
def _written_numbers(draw: st.DrawFn) -> str:
    """Numbers as an ERP writes them: sign, leading zeros, grouping, zeros after the point."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = f"{draw(st.integers(0, 10**16)):,}".replace(",", draw(st.sampled_from(",. ")))
    zeros = "0" * draw(st.integers(0, 3))
    point = draw(st.sampled_from(["", ",", "."]))
    digits = draw(st.text(alphabet="0123456789", max_size=6)) + "0" * draw(st.integers(0, 6))
    return sign + zeros + whole + (point + digits if point else "")


NUMBERISH = st.one_of(st.text(alphabet="0123456789.,+-' \u00a0", max_size=14), _written_numbers())


@given(NUMBERISH, st.sampled_from(SEPARATORS))
def test_parse_e4_agrees_with_a_plain_python_reading(
    text: str, separators: tuple[str, str]
) -> None:
    decimal, thousands = separators
    cleaned = clean(pd.Series([text], dtype="str"))
    parsed = parse_e4(cleaned, decimal, thousands)
    flags = (parsed.empty[0], parsed.invalid[0], parsed.too_precise[0], parsed.too_large[0])
    value = None if pd.isna(parsed.e4.iloc[0]) else int(parsed.e4.iloc[0])
    assert (*flags, value) == _reference(cleaned.iloc[0], decimal, thousands)


@given(st.lists(st.text(alphabet="0123456789", max_size=16), min_size=1, max_size=30))
def test_a_column_of_plain_digits_agrees_with_a_plain_python_reading(texts: list[str]) -> None:
    """A stock column (digits and empty cells) takes one cast: the same results."""
    parsed = parse_e4(pd.Series(texts, dtype="str"), ",", ".")
    for row, text in enumerate(texts):
        flags = (parsed.empty[row], parsed.invalid[row], parsed.too_precise[row])
        value = None if pd.isna(parsed.e4.iloc[row]) else int(parsed.e4.iloc[row])
        found = (*flags, bool(parsed.too_large[row]), value)
        assert found == _reference(text, ",", ".")


def _reference(
    text: str, decimal: str, thousands: str
) -> tuple[bool, bool, bool, bool, int | None]:
    """The documented rules, one value at a time: a full match of the pattern, at most 4
    decimals once trailing zeros are dropped, at most 14 digits before the point."""
    if text == "":
        return (True, False, False, False, None)
    if not re.fullmatch(number_pattern(decimal, thousands), text):
        return (False, True, False, False, None)
    marks = [" ", "\u00a0", "\u202f"] if thousands == " " else [thousands] if thousands else []
    body = text.lstrip("+-")
    for mark in marks:
        body = body.replace(mark, "")
    whole, _, fraction = body.partition(decimal)
    fraction = fraction.rstrip("0")
    if len(fraction) > 4:
        return (False, False, True, False, None)
    if len(whole) > 14:
        return (False, False, False, True, None)
    value = int(whole + fraction.ljust(4, "0"))
    return (False, False, False, False, -value if text.startswith("-") else value)


def test_a_file_of_rejects_keeps_every_original_and_the_collector_on(tmp_path: Path) -> None:
    lines = ["SKU;Stock;Nota", *(f"{n:05d};x{n};nota {n}" for n in range(2000))]
    export = read_export(write_text_file(tmp_path / "stock.csv", lines), basic(tmp_path))
    assert len(export.rejects) == 2000 and gc.isenabled()
    reject = export.rejects[1234]
    assert (reject.line, reject.sku) == (1236, "01234")
    assert reject.original == {"SKU": "01234", "Stock": "x1234", "Nota": "nota 1234"}


def test_columns_worked_side_by_side_give_the_same_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = numbers.PARALLEL_ROWS + 5_000
    lines = ["SKU;Stock;Precio", *(f"{n % (rows - 50):07d};{n % 7 - 1};{n},5" for n in range(rows))]
    path = write_text_file(tmp_path / "stock.csv", lines)
    stock = basic(tmp_path, price='"Precio"')
    side_by_side = read_export(path, stock)
    monkeypatch.setattr(numbers, "PARALLEL_ROWS", 10**9)
    one_by_one = read_export(path, stock)
    pd.testing.assert_frame_equal(side_by_side.table, one_by_one.table)
    assert side_by_side.rejects == one_by_one.rejects and len(side_by_side.rejects) > 5_000
