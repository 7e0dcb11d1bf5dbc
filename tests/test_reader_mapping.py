"""Products mappings: loading, matching files, and errors that name file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from connector.errors import ConfigError
from connector.readers import read_export
from connector.readers.mapping import (
    documented_keys,
    load_mapping_file,
    load_mappings,
    match_mapping,
    normalise_header,
)
from tests.reader_support import ROOT, rows_of, write_text_file

GOOD = """
kind = "products"
files = ["stock*.csv"]
[columns]
sku = "SKU"
quantity = "Stock"
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_mappings(folder)
    assert caught.value.exit_code == 2
    return caught.value.problems


def test_load_skips_other_kinds_and_sorts_by_file_name(tmp_path: Path) -> None:
    _write(tmp_path, "orders.toml", 'kind = "orders"\nlayout = "lines"\n')
    _write(tmp_path, "b-prices.toml", GOOD.replace("stock*.csv", "*.csv"))
    _write(tmp_path, "A-stock.toml", GOOD)
    _write(tmp_path, "notes.txt", "not a mapping")
    mappings = load_mappings(tmp_path)
    assert [m.source.name for m in mappings] == ["A-stock.toml", "b-prices.toml"]
    assert match_mapping(Path("inbox/STOCK-0800.CSV"), mappings) is mappings[0]
    assert match_mapping(Path("inbox/precios.csv"), mappings) is mappings[1]
    assert match_mapping(Path("inbox/precios.xlsx"), mappings) is None


def test_exclude_vetoes_a_match(tmp_path: Path) -> None:
    _write(tmp_path, "stock.toml", GOOD.replace("[columns]", 'exclude = ["*BACKUP*"]\n[columns]'))
    mappings = load_mappings(tmp_path)
    assert match_mapping(Path("stock-backup.csv"), mappings) is None
    assert match_mapping(Path("stock-1.csv"), mappings) is mappings[0]


def test_a_rejects_report_matches_the_mapping_of_its_source(tmp_path: Path) -> None:
    _write(tmp_path, "stock.toml", GOOD)
    mappings = load_mappings(tmp_path)
    assert match_mapping(Path("rejects-stock-0800-20250312-101500.csv"), mappings)
    assert match_mapping(Path("rejects-stock-0800-20250312-101500-2.csv"), mappings)
    assert match_mapping(Path("rejects-otro-20250312-101500.csv"), mappings) is None


def test_every_problem_names_file_line_and_key(tmp_path: Path) -> None:
    files = {
        "a-keys.toml": GOOD.replace("files", 'delimeter = ";"\nfiles') + 'stok = "Stock"\n',
        "b-prices.toml": GOOD + 'price = "Precio"\nprice_with_taxes = "Precio final"\n',
        "c-separators.toml": GOOD.replace("[columns]", 'thousands = ","\n[columns]'),
        "d-values.toml": 'kind = "products"\nfiles = ["*.xlsx"]\n[columns]\nsku = 1\n',
    }
    for name, text in files.items():
        _write(tmp_path, name, text)
    problems = _problems(tmp_path)
    where = {name: str(tmp_path / name) for name in files}
    assert problems == [
        f"{where['a-keys.toml']} line 3: delimeter: unknown key: remove it or check its "
        "spelling (docs/mapping-products.md)",
        f"{where['a-keys.toml']} line 8: columns.stok: unknown key: remove it or check its "
        "spelling (docs/mapping-products.md)",
        f"{where['b-prices.toml']} line 4: columns: both price and price_with_taxes are "
        "mapped; Alephee takes one or the other: remove one of them",
        f"{where['c-separators.toml']} line 4: thousands: must differ from the decimal separator",
        f"{where['d-values.toml']} line 3: columns: no value column is mapped: add at least "
        "one of quantity, price, price_with_taxes, suggested_retail_price, cost",
    ]


def test_syntax_errors_give_the_toml_line(tmp_path: Path) -> None:
    _write(tmp_path, "broken.toml", 'kind = "products"\nfiles = *.csv\n')
    [problem] = _problems(tmp_path)
    assert problem.startswith(f"{tmp_path / 'broken.toml'}: not valid TOML (")
    assert "(at line 2, column 9)" in problem


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ('encoding = "klingon"', "encoding: unknown encoding 'klingon'"),
        ('delimiter = ";;"', 'delimiter: use "auto", ";", ",", "|" or "tab"'),
        ("header = false", "header = false needs every column as a position"),
        ("skip_rows = 2", "skip_rows is for files without a header"),
        ("sheets = []", "sheets: the sheet list is empty"),
        ('combine = "avg"', "combine: Input should be 'sum' or 'first'"),
        ("header_row = 0", "header_row: Input should be greater than or equal to 1"),
    ],
)
def test_value_problems(tmp_path: Path, extra: str, expected: str) -> None:
    _write(tmp_path, "m.toml", GOOD.replace("[columns]", f"{extra}\n[columns]"))
    problems = _problems(tmp_path)
    assert any(expected in p for p in problems), problems


def test_column_spec_problems(tmp_path: Path) -> None:
    _write(tmp_path, "m.toml", GOOD.replace('quantity = "Stock"', "quantity = []\ncost = 0"))
    text = "\n".join(_problems(tmp_path))
    assert "columns.quantity: the alias list is empty" in text
    assert "columns.cost: Input should be greater than or equal to 1" in text


def test_kind_is_required_and_missing_folder_is_explained(tmp_path: Path) -> None:
    _write(tmp_path, "m.toml", GOOD.replace('kind = "products"', ""))
    assert _problems(tmp_path) == [
        f'{tmp_path / "m.toml"}: kind: is required: write kind = "products" (or "orders")'
    ]
    with pytest.raises(ConfigError, match="does not exist"):
        load_mappings(tmp_path / "nope")


def test_normalise_header() -> None:
    assert normalise_header(" Cód. Artículo ") == normalise_header("COD_ARTICULO") == "codarticulo"
    assert normalise_header("Precio c/IVA") == "preciociva"
    assert normalise_header("Ñandú") == "nandu"


def test_shipped_mapping_is_documented_identical_and_reads_the_demo_shape(tmp_path: Path) -> None:
    shipped = ROOT / "mappings" / "stock-prices.toml"
    packaged = ROOT / "connector" / "data" / "mappings" / "stock-prices.toml"
    assert shipped.read_bytes() == packaged.read_bytes()
    mapping = load_mapping_file(shipped)
    assert mapping is not None and mapping.kind == "products"
    assert match_mapping(Path("stock-20261123-0800.csv"), [mapping]) is mapping
    path = write_text_file(
        tmp_path / "stock-20261123-0800.csv",
        [
            "Exportación de stock y precios - Sistema Gestión Ñandú",
            "Código;Descripción;Stock;Precio",
            "0001234;Tornillo 3/8;15;1.234,50",
        ],
    )
    [row] = rows_of(read_export(path, mapping).table)
    assert (row["sku"], row["quantity"], row["price_with_taxes_e4"]) == ("0001234", 15, 12_345_000)


def test_docs_describe_every_key() -> None:
    docs = (ROOT / "docs" / "mapping-products.md").read_text(encoding="utf-8")
    missing = [
        key
        for key in documented_keys()
        if f"| `{key}` |" not in docs and f"| `[{key}]` |" not in docs
    ]
    assert missing == []
    module_doc = (ROOT / "connector" / "readers" / "mapping.py").read_text(encoding="utf-8").split('"""')[1]
    undocumented = [
        key
        for key in documented_keys()
        if f"    {key} " not in module_doc and f"    [{key}]" not in module_doc
    ]
    assert undocumented == []
