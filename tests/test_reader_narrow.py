"""The mapped-columns read of a CSV (``csv_narrow``) gives what the whole read gives: the same
table, the same rejects with the same raw rows, and it steps aside when a rule needs every
column (quotes, NUL bytes, very long lines)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.readers import read_export
from connector.readers.csv import read_csv
from connector.readers.csv_checks import MAX_FIELD_CHARS
from connector.readers.export import Export
from connector.readers.rejects import write_rejects
from tests.reader_support import CP1252_MAPPING, mapping, write_text_file

HEADER = "Código;Descripción;Marca;Cantidad;Precio c/IVA;Costo"
BRAND_MAPPING = CP1252_MAPPING.replace("[columns]", '[columns]\nbrand = "Marca"')


def _lines(*body: str) -> list[str]:
    return ["Listado de stock;;;;;", HEADER, *body]


def _same(narrow: Export, path: Path, folder: Path, text: str) -> None:
    """The same header, width and raw rows as the whole read of the same file."""
    loaded = mapping(folder, text, name="again.toml")
    _, sheets = read_csv(path, loaded)
    whole = sheets[0]
    assert whole.whole is None
    raw = narrow.sheets[0]
    assert raw.header == whole.header and raw.width == whole.cells.shape[1]
    assert raw.rows(list(map(int, whole.lines))) == whole.rows(list(map(int, whole.lines)))
    assert raw.keys == whole.keys


def test_cp1252_file_reads_mapped_columns_and_rejects_show_whole_rows(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-a.csv",
        _lines(
            "0001;Ñandú azul;ACME;15;1.234,50;800",
            "0002;Tornillo “fino”;ACME;x;12,50;1",
            "",
            "0003;Arandela;Bosch;7;9,99;",
        ),
    )
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    raw = export.sheets[0]
    assert raw.whole is not None  # the mapped columns only
    assert raw.cells.shape == (3, 0)  # once validated, no column is kept: rows come whole
    _, sheets = read_csv(path, mapping(tmp_path, CP1252_MAPPING), mapped_only=True)
    assert list(sheets[0].cells.columns) == [0, 3, 4, 5]
    assert [r.line for r in export.rejects] == [4]
    assert export.rejects[0].original == {
        "Código": "0002",
        "Descripción": "Tornillo “fino”",
        "Marca": "ACME",
        "Cantidad": "x",
        "Precio c/IVA": "12,50",
        "Costo": "1",
    }
    assert export.table["sku"].tolist() == ["0001", "0003"]
    assert export.table["line"].tolist() == [3, 6]
    _same(export, path, tmp_path, CP1252_MAPPING)


def test_a_mapped_column_with_accents_is_transcoded(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-b.csv",
        _lines("0001;Uno;Ñandú;1;1,00;1", "0002;Dos;Café €;2;2,00;2", "0003;Tres;ACME;3;3,00;3"),
    )
    export = read_export(path, mapping(tmp_path, BRAND_MAPPING))
    assert export.sheets[0].whole is not None
    assert export.table["brand"].tolist() == ["Ñandú", "Café €", "ACME"]
    _same(export, path, tmp_path, BRAND_MAPPING)


def test_utf8_file_with_bom(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-c.csv",
        _lines("0001;Ñandú;Ñ;1;1,00;1", "0002;Dos;B;-2;2,00;2"),
        encoding="utf-8-sig",
    )
    export = read_export(path, mapping(tmp_path, BRAND_MAPPING))
    assert export.sheets[0].whole is not None
    assert export.table["brand"].tolist() == ["Ñ"]
    assert export.rejects[0].original["Descripción"] == "Dos"
    _same(export, path, tmp_path, BRAND_MAPPING)


@pytest.mark.parametrize(
    "row, reason",
    [
        ('0002;"Tornillo; fino";ACME;2;2,00;2', ""),  # a quote anywhere: the whole read
        ("0002;Torni\x00llo;ACME;2;2,00;2", "NUL byte"),
        ("0002;" + "x" * (MAX_FIELD_CHARS + 1) + ";ACME;2;2,00;2", "longer than"),
    ],
)
def test_rules_on_unmapped_columns_read_the_whole_file(
    tmp_path: Path, row: str, reason: str
) -> None:
    path = write_text_file(tmp_path / "stock-d.csv", _lines("0001;Uno;A;1;1,00;1", row))
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    assert export.sheets[0].whole is None
    if reason:
        assert [r.line for r in export.rejects] == [4]
        assert reason in export.rejects[0].reason
    else:
        assert export.rejects == [] and export.table["sku"].tolist() == ["0001", "0002"]


def test_uneven_rows_fall_back_to_the_whole_read(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-e.csv", _lines("0001;Uno;A;1;1,00;1", "0002;Dos;A;2;2,00;2;extra")
    )
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    assert export.sheets[0].whole is None
    assert [r.line for r in export.rejects] == [4]


def test_rejects_report_of_a_narrow_read_writes_whole_rows(tmp_path: Path) -> None:
    path = write_text_file(
        tmp_path / "stock-f.csv", _lines("0001;Ñandú;A;1;1,00;1", "0002;Dos;B;-1;2,00;2")
    )
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING))
    assert export.sheets[0].whole is not None
    report = write_rejects(tmp_path, export, export.rejects, datetime(2026, 1, 1, tzinfo=UTC))
    text = report.read_bytes().decode("cp1252").splitlines()
    assert text[1] == HEADER + ";line;reason"
    assert text[2].startswith("0002;Dos;B;'-1;2,00;2;4;")  # '-1: formula-safe
