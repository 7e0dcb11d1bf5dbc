"""Loading the orders mapping: the shipped file, defaults, and plain errors for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.orders.mapping import load_order_mapping
from tests.outbox_support import (
    DEFAULT_MAPPING,
    PACKAGED_MAPPING,
    default_mapping,
    load_text_mapping,
    write_mapping,
)

MINIMAL = """
kind = "orders"
[[columns]]
name = "Pedido"
path = "Id"
"""


def with_top(line: str) -> str:
    """MINIMAL with a top-level key (it must come before the first [[columns]] table)."""
    return MINIMAL.replace('kind = "orders"', f'kind = "orders"\n{line}')


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = write_mapping(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_order_mapping(path)
    assert str(path) in str(caught.value)  # every message names the file
    return caught.value.problems


def test_shipped_mapping_is_packaged_identically_and_loads_cleanly() -> None:
    assert DEFAULT_MAPPING.read_bytes() == PACKAGED_MAPPING.read_bytes()
    mapping = default_mapping()
    assert mapping.layout == "lines"
    assert mapping.kits == "kit"
    assert mapping.warnings == ()
    assert mapping.orders_header[:3] == ["Fecha", "Pedido", "Pedido ERP"]
    assert {"SKU", "Cantidad", "Precio unitario", "Costo envío", "CUIT/DNI"} <= set(
        mapping.orders_header
    )
    assert mapping.lines_header is None


def test_defaults_of_a_minimal_mapping(tmp_path: Path) -> None:
    mapping = load_text_mapping(tmp_path, MINIMAL)
    assert mapping.own_order_id.text == "ALE-{Id}"
    assert mapping.kit_type_keys == {2}
    assert mapping.component_type_keys == {3}
    assert mapping.skip_cancelled_items is True
    assert mapping.columns[0].format == "text"
    assert mapping.columns[0].pattern == "%Y-%m-%d %H:%M"
    assert mapping.cancellations_header == [
        "Pedido Alephee",
        "Pedido ERP",
        "Pedido marketplace",
        "Fecha cancelación",
        "Estado",
        "Cancelado",
        "SKU",
        "Cantidad",
    ]


def test_header_plus_lines_splits_columns_and_picks_the_id_column_as_key(tmp_path: Path) -> None:
    mapping = load_text_mapping(
        tmp_path,
        """
kind = "orders"
layout = "header+lines"
[[columns]]
name = "Fecha"
path = "DateCreated"
format = "date"
[[columns]]
name = "Pedido"
path = "Id"
[[columns]]
name = "SKU"
path = "Item.Product.Sku"
""",
    )
    assert mapping.orders_header == ["Fecha", "Pedido"]
    assert mapping.lines_header == ["Pedido", "SKU"]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('format = "dat"', "column 1 ('Pedido') format: Input should be 'text', 'date'"),
        ('value = "x"', "column 1 ('Pedido'): give exactly one of path"),
        ('colour = "red"', "column 1 ('Pedido') colour: unknown key"),
        ('lookup = { "1" = "a" }\nformat = "decimal"', "lookup gives text"),
        ("decimals = 2", 'decimals needs format = "decimal"'),
        ('decimals = 2\nformat = "integer"', 'decimals needs format = "decimal"'),
        ('decimal_separator = ","', 'decimal_separator needs format = "decimal" or "integer"'),
        ('pattern = "%d"', 'pattern is for date columns: add format = "date"'),
        ('format = "date"\npattern = "dd/mm"', "'dd/mm' has no %-field"),
        ('decimal_separator = ";"\nformat = "decimal"', "decimal_separator: Input should be"),
    ],
)
def test_column_mistakes_name_the_column_and_the_fix(
    tmp_path: Path, snippet: str, expected: str
) -> None:
    problems = problems_of(tmp_path, MINIMAL + snippet + "\n")
    assert any(expected in line for line in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace('path = "Id"', 'path = "Buyer..Name"'), "is not a field path"),
        (MINIMAL.replace('path = "Id"', "path = []"), "is an empty list"),
        (MINIMAL.replace('kind = "orders"', ""), "kind: is required"),
        (MINIMAL.replace('kind = "orders"', 'kind = "products"'), "not an orders mapping"),
        (MINIMAL.replace('name = "Pedido"', 'name = "ID pedido"'), "taken for SYLK"),
        (with_top('own_order_id = "ALE"'), "has no {field}"),
        (with_top('own_order_id = "ALE-{Id"'), "balance the braces"),
        (with_top('own_order_id = "ALE-{Item.Id}"'), "can only use order fields"),
        (with_top("component_type_keys = [2]"), "share a value"),
        (with_top('kits = "both"'), "kits: Input should be 'kit' or 'components'"),
        (with_top('layout = "header+lines"'), "needs order columns and Item. columns"),
        (with_top('date_format = "%Q"'), "date_format: '%Q' uses %Q"),
        (with_top('date_format = "%-d/%m"'), "work on every system"),
        ('kind = "orders"\n', "columns: is required"),
        (MINIMAL + '[[columns]]\nname = "Pedido"\npath = "ExternalOrderId"\n', "same name"),
        (
            MINIMAL + "[[cancellations.columns]]\nname = 3\n",
            "cancellations column 1 (3) name: Input should be a valid string",
        ),
    ],
)
def test_mapping_mistakes_are_config_errors_with_a_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    problems = problems_of(tmp_path, text)
    assert any(expected in line for line in problems), problems


def test_unknown_line_key_is_reported(tmp_path: Path) -> None:
    text = MINIMAL + '[[columns]]\nname = "SKU"\npath = "Item.Product.Sku"\n'
    text = text.replace(
        'kind = "orders"', 'kind = "orders"\nlayout = "header+lines"\nline_key = "X"'
    )
    assert any("line_key 'X' is not the name" in line for line in problems_of(tmp_path, text))


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, 'kind = "orders"\n[[columns]\n')
    assert "line 2" in problems[0]


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="connector init"):
        load_order_mapping(tmp_path / "nope.toml")


def test_every_problem_is_listed_not_only_the_first(tmp_path: Path) -> None:
    text = MINIMAL + 'format = "dat"\n[[columns]]\nname = "X"\n'
    problems = problems_of(tmp_path, text)
    assert len(problems) == 2


def test_path_typos_become_warnings_with_a_suggestion(tmp_path: Path) -> None:
    text = MINIMAL + (
        '[[columns]]\nname = "Cliente"\npath = "Buyer.Nmae"\n'
        '[[columns]]\nname = "Pago"\npath = "Payments.Total"\n'
        '[[columns]]\nname = "Canal"\npath = "Marketplace.Channel"\n'
        '[[columns]]\nname = "Crudo"\npath = "ExternalJson.shipping.id"\n'
        '[[columns]]\nname = "Precio"\npath = "Item.UnitPrise"\n'
    )
    warnings = load_text_mapping(tmp_path, text).warnings
    assert any("'Buyer.Nmae'" in w and "did you mean Name?" in w for w in warnings), warnings
    assert any("Payments is a list: pick one entry, e.g. Payments[0].Total" in w for w in warnings)
    assert any("did you mean UnitPrice?" in w for w in warnings)
    # case-insensitive names and the raw marketplace payload are not typos
    assert not any("Marketplace" in w or "ExternalJson" in w for w in warnings)
    assert len(warnings) == 3
