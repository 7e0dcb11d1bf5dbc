"""The CSV outbox: Excel-safe text, locale separators, BOM, CRLF, never overwriting a file."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.cells import DANGEROUS_START, safe_text
from connector.config import OutboxSettings
from connector.orders.rows import order_rows
from connector.outbox.publish import write_outbox
from connector.outbox.typed import Cell, Date, Number, Text
from tests.outbox_support import (
    BOM,
    BUENOS_AIRES,
    HOSTILE_EXPECTED,
    HOSTILE_NAMES,
    LONG_ID,
    default_mapping,
    read_csv,
    realistic_order,
)

WHEN = datetime(2025, 1, 31, 14, 5, 9, tzinfo=BUENOS_AIRES)
HEADER = ["Pedido", "Cliente", "SKU", "Importe"]
ES_AR = OutboxSettings(locale="es-AR")
NUMBER_TEXT = re.compile(r"-?\d+([,.]\d+)?")


def hostile_rows() -> list[list[Cell]]:
    return [
        [Text(LONG_ID), Text(name), Text("0012345"), Number(Decimal("-1234.56"), 2)]
        for name in HOSTILE_NAMES
    ]


def test_hostile_text_round_trips_neutralised(tmp_path: Path) -> None:
    path = write_outbox(tmp_path, "orders", HEADER, hostile_rows(), settings=ES_AR, when=WHEN)
    assert path.name == "orders-20250131-140509.csv"
    data = path.read_bytes()
    assert data.startswith(BOM)
    assert b"\r\n" in data and data.count(b"\n") == data.count(b"\r\n")  # CRLF only
    rows = read_csv(path)
    assert rows[0] == HEADER
    assert {len(row) for row in rows} == {len(HEADER)}  # the column count never changes
    assert [row[1] for row in rows[1:]] == HOSTILE_EXPECTED
    assert {row[0] for row in rows[1:]} == {LONG_ID}  # every digit kept
    assert {row[2] for row in rows[1:]} == {"0012345"}
    assert {row[3] for row in rows[1:]} == {"-1234,56"}  # a number the connector wrote
    assert ";-1234,56\r\n" in data.decode("utf-8-sig")  # unquoted: Excel reads a number
    for row in rows[1:]:
        for column, text in enumerate(row):
            if text.startswith(DANGEROUS_START):
                assert column == 3 and NUMBER_TEXT.fullmatch(text), text


def test_header_never_starts_with_ID(tmp_path: Path) -> None:
    header = ["ID", "Cliente"]
    path = write_outbox(tmp_path, "orders", header, [], settings=ES_AR, when=WHEN)
    assert not path.read_bytes()[len(BOM) :].startswith(b"ID")
    assert read_csv(path) == [["Id", "Cliente"]]


@pytest.mark.parametrize(
    ("locale", "delimiter", "amount"),
    [("es-AR", ";", "1234,50"), ("pt-BR", ";", "1234,50"), ("en-US", ",", "1234.50")],
)
def test_locale_sets_delimiter_and_decimal_mark(
    tmp_path: Path, locale: str, delimiter: str, amount: str
) -> None:
    settings = OutboxSettings.model_validate({"locale": locale})
    rows: list[list[Cell]] = [
        [Text("1"), Text("a,b;c"), Text("x"), Number(Decimal("1234.5"), 2)],
        [Text("2"), Text(""), Text("y"), Number(Decimal("1234567.891"))],
    ]
    path = write_outbox(tmp_path, "orders", HEADER, rows, settings=settings, when=WHEN)
    parsed = read_csv(path, delimiter)
    assert parsed[1] == ["1", "a,b;c", "x", amount]
    sep = "," if delimiter == ";" else "."
    assert parsed[2][3] == f"1234567{sep}891"  # no thousands separator


def test_per_column_decimal_separator_and_rounding(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [
        [
            Number(Decimal("2.345"), 2),
            Number(Decimal("2.5"), 0),
            Number(Decimal("-0.001"), 2),
            Number(Decimal("10"), 2, "."),
        ]
    ]
    path = write_outbox(tmp_path, "orders", ["A", "B", "C", "D"], rows, settings=ES_AR, when=WHEN)
    assert read_csv(path)[1] == ["2,35", "3", "0,00", "10.00"]


def test_dates_use_the_mapping_pattern(tmp_path: Path) -> None:
    moment = datetime(2025, 1, 31, 14, 5, tzinfo=BUENOS_AIRES)
    rows: list[list[Cell]] = [[Date(moment, "%d/%m/%Y %H:%M"), Date(moment, "%Y-%m-%d")]]
    path = write_outbox(tmp_path, "cancellations", ["F1", "F2"], rows, settings=ES_AR, when=WHEN)
    assert path.name.startswith("cancellations-")
    assert read_csv(path)[1] == ["31/01/2025 14:05", "2025-01-31"]


def test_without_bom_for_other_consumers(tmp_path: Path) -> None:
    settings = OutboxSettings(bom=False)
    path = write_outbox(
        tmp_path, "orders", ["Pedido"], [[Text("Núñez")]], settings=settings, when=WHEN
    )
    assert path.read_bytes() == "Pedido\r\nNúñez\r\n".encode()


def test_two_writes_in_the_same_second_make_two_files(tmp_path: Path) -> None:
    first = write_outbox(tmp_path, "orders", ["Pedido"], [[Text("1")]], settings=ES_AR, when=WHEN)
    second = write_outbox(tmp_path, "orders", ["Pedido"], [[Text("2")]], settings=ES_AR, when=WHEN)
    assert first != second
    assert second.name == "orders-20250131-140509-2.csv"
    assert read_csv(first)[1] == ["1"] and read_csv(second)[1] == ["2"]
    assert {path.name for path in tmp_path.iterdir()} == {first.name, second.name}


def test_a_file_open_elsewhere_is_never_replaced(tmp_path: Path) -> None:
    taken = tmp_path / "order-lines-20250131-140509.csv"
    taken.write_bytes(b"the accountant's copy")
    with open(taken, "rb"):  # held open, as Excel would
        path = write_outbox(tmp_path, "order-lines", ["Pedido"], [], settings=ES_AR, when=WHEN)
    assert path != taken and taken.read_bytes() == b"the accountant's copy"


def test_bad_calls_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown outbox kind"):
        write_outbox(tmp_path, "pedidos", ["A"], [], settings=ES_AR, when=WHEN)
    with pytest.raises(ValueError, match="row 1 has 2 cells for 1 columns"):
        write_outbox(tmp_path, "orders", ["A"], [[Text("a"), Text("b")]], settings=ES_AR, when=WHEN)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_default_mapping_rows_to_csv(tmp_path: Path) -> None:
    mapping = default_mapping()
    order = realistic_order()
    order["Buyer"]["Name"] = '=HYPERLINK("http://x","y")'
    rows = order_rows(order, mapping, tz=BUENOS_AIRES)
    path = write_outbox(tmp_path, "orders", mapping.orders_header, rows, settings=ES_AR, when=WHEN)
    parsed = read_csv(path)
    assert parsed[0] == mapping.orders_header
    line = dict(zip(parsed[0], parsed[1], strict=True))
    assert line["Fecha"] == "31/01/2025 14:05"
    assert line["Cliente"] == '\'=HYPERLINK("http://x","y")'
    assert line["Pedido marketplace"] == LONG_ID
    assert line["SKU"] == "0012345"
    assert line["Precio unitario"] == "1234,50"
    assert line["Costo envío"] == "0,00"


texts = st.text(st.characters(exclude_categories=[]), max_size=40)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(names=st.lists(texts, min_size=1, max_size=5))
def test_any_text_round_trips_safely(tmp_path: Path, names: list[str]) -> None:
    rows: list[list[Cell]] = [[Text(name), Number(Decimal(-1))] for name in names]
    path = write_outbox(tmp_path, "orders", ["Texto", "N"], rows, settings=ES_AR, when=WHEN)
    parsed = read_csv(path)[1:]
    expected = [safe_text(name).encode("utf-8", "replace").decode("utf-8") for name in names]
    assert [row[0] for row in parsed] == expected
    assert all(len(row) == 2 and row[1] == "-1" for row in parsed)
    assert not any(row[0].startswith(DANGEROUS_START) for row in parsed)


def test_control_characters_and_oversized_text_keep_the_file_sound(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [[Text("\x00Ana\x07 Pérez\x1b")], [Text("x" * 40_000)]]
    path = write_outbox(tmp_path, "orders", ["Cliente"], rows, settings=ES_AR, when=WHEN)
    parsed = read_csv(path)
    assert parsed[1] == ["Ana Pérez"]
    assert len(parsed[2][0]) == 32_767 and parsed[2][0].endswith("...")  # Excel's cell limit
