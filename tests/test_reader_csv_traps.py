"""CSV exports that used to send a wrong value or stop a run: unclosed quotes, a cut last
line, width bombs, NUL bytes, mixed encodings, footers, a wrong header_row."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import read_export
from connector.readers.skip import footer_hint
from tests.reader_support import basic, read_in_subprocess, rows_of, write_text_file

HEADER = "SKU;Descripción;Stock;Precio"


def _read(tmp_path: Path, body: bytes, **kwargs: str) -> tuple[list[tuple[str, int, int]], list]:
    path = tmp_path / "stock.csv"
    path.write_bytes(body)
    export = read_export(path, basic(tmp_path, price='"Precio"', **kwargs))
    table = [(r["sku"], r["quantity"], r["price_e4"] // 10_000) for r in rows_of(export.table)]
    return table, [(r.line, r.sku, r.reason) for r in export.rejects]


def test_an_unclosed_quote_rejects_every_line_it_swallowed(tmp_path: Path) -> None:
    """B's description opens a quote that C's closes: read naively, B gets C's stock and
    price. Every swallowed line is rejected with its own number instead."""
    lines = [HEADER, "A;uno;1;10", 'B;"Tornillo 1/2;2;20', 'C;Tuerca";3;30', "D;dos;4;40"]
    table, rejects = _read(tmp_path, "\r\n".join([*lines, ""]).encode("cp1252"))
    assert table == [("A", 1, 10), ("D", 4, 40)]
    assert [(line, sku) for line, sku, _ in rejects] == [(3, "B"), (4, "C")]
    assert all("quoted value that runs from line 3 to line 4" in r for *_, r in rejects)


def test_a_quote_never_closed_swallows_to_the_end_and_every_line_is_listed(
    tmp_path: Path,
) -> None:
    lines = [HEADER, "A;uno;1;10", 'B;"Tornillo;2;20'] + [f"S{n};x;{n};{n}" for n in range(21)]
    table, rejects = _read(tmp_path, "\n".join([*lines, ""]).encode("utf-8"))
    assert table == [("A", 1, 10)]
    assert [sku for _, sku, _ in rejects] == ["B"] + [f"S{n}" for n in range(21)]
    assert [line for line, _, _ in rejects] == list(range(3, 25))


def test_a_real_multi_line_description_is_still_read(tmp_path: Path) -> None:
    lines = [HEADER, 'A;"dos\r\nlíneas";1;10', "B;x;2;20", ""]
    table, rejects = _read(tmp_path, "\r\n".join(lines).encode("cp1252"))
    assert table == [("A", 1, 10), ("B", 2, 20)] and rejects == []
    strict, rejects = _read(
        tmp_path, "\r\n".join(lines).encode("cp1252"), extra="line_breaks_in_values = false"
    )
    assert strict == [("B", 2, 20)] and [r[0] for r in rejects] == [2, 3]


def test_a_cut_last_line_is_never_read(tmp_path: Path) -> None:
    body = f"{HEADER}\r\nA;x;1;10\r\nB;y;1005;50".encode("cp1252")  # cut: was 1005;50,25
    with pytest.raises(BadInputFile, match=r"last line \(line 3\) has no line break") as caught:
        _read(tmp_path, body)
    assert "final_line_break = false" in caught.value.hint
    table, _ = _read(tmp_path, body, extra="final_line_break = false")
    assert table == [("A", 1, 10), ("B", 1005, 50)]


def test_a_header_of_300000_columns_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(("SKU;Stock" + ";x" * 300_000 + "\r\nA;1\r\n").encode())
    mapping = tmp_path / "stock.toml"
    basic(tmp_path)
    outcome = read_in_subprocess(path, mapping)
    assert outcome["outcome"] == "bad"
    assert re.search(
        r"line 1 has [\d,]+\+ fields; a stock export has at most 1,024", outcome["message"]
    )
    assert outcome["grew_mb"] < 100


def test_a_data_line_of_300000_columns_is_rejected_in_bounded_memory(tmp_path: Path) -> None:
    """2.9 MB, 300,000 columns on one line: it took 1.2 GB; now the line is rejected and the
    others read, with the reader growing by well under 200 MB."""
    path = tmp_path / "stock.csv"
    rows = ["SKU;Stock", "A;1", "B;2" + ";99999999" * 300_000, "C;3"]
    write_text_file(path, rows)
    assert 2_500_000 < path.stat().st_size < 3_000_000
    mapping = tmp_path / "stock.toml"
    basic(tmp_path)
    outcome = read_in_subprocess(path, mapping)
    assert outcome["outcome"] == "read"
    assert outcome["grew_mb"] < 200, outcome
    export = read_export(path, basic(tmp_path))
    assert [(r["sku"], r["quantity"]) for r in rows_of(export.table)] == [("A", 1), ("C", 3)]
    assert [(r.line, r.sku) for r in export.rejects] == [(3, "B")]
    assert "300,002 fields" in export.rejects[0].reason


def test_a_field_of_a_megabyte_rejects_its_line_in_bounded_memory(tmp_path: Path) -> None:
    """One 1 MB description: the line is rejected with its number, the others are read, and
    the reader grows by well under 200 MB."""
    path = tmp_path / "stock.csv"
    rows = ["SKU;Descripción;Stock", "A;x;1", "B;" + "y" * 1_000_000 + ";2", "C;z;3"]
    write_text_file(path, rows)
    mapping = tmp_path / "stock.toml"
    basic(tmp_path)
    outcome = read_in_subprocess(path, mapping)
    assert outcome["outcome"] == "read" and outcome["grew_mb"] < 200, outcome
    export = read_export(path, basic(tmp_path))
    assert [(r["sku"], r["quantity"]) for r in rows_of(export.table)] == [("A", 1), ("C", 3)]
    assert [(r.line, r.sku) for r in export.rejects] == [(3, "B")]
    assert "longer than 131,072 characters" in export.rejects[0].reason


def test_a_nul_byte_rejects_its_line_wherever_it_is(tmp_path: Path) -> None:
    filler = [f"F{n:05d};x;1;1" for n in range(8_000)]  # pushes line 8003 past 64 KB
    lines = [HEADER, "A;x;1;10", *filler, "B;x\x00y;2;20", "C;x;3;30", ""]
    table, rejects = _read(tmp_path, "\r\n".join(lines).encode("cp1252"))
    assert ("A", 1, 10) in table and ("C", 3, 30) in table
    assert all(sku != "B" for sku, _, _ in table)
    assert [(line, sku) for line, sku, _ in rejects] == [(8003, "B")]
    assert "NUL byte" in rejects[0][2]


def test_a_binary_file_goes_to_failed(tmp_path: Path) -> None:
    with pytest.raises(BadInputFile, match="not a text file"):
        _read(tmp_path, b"SKU;Stock\r\n" + bytes(range(32)) * 100 + b"\r\n")


def test_one_cp1252_byte_in_a_utf8_file_is_named_as_such(tmp_path: Path) -> None:
    body = "SKU;Descripción;Stock;Precio\r\nA;Ñandú;1;10\r\n".encode() + b"B;caf\xe9;2;20\r\n"
    with pytest.raises(BadInputFile) as caught:
        _read(tmp_path, body)
    message = str(caught.value)
    assert "written in UTF-8, but line 3 holds a byte that is not UTF-8 (0xE9" in message
    assert "not found" not in message


def test_footer_and_group_rows_are_skipped_when_the_mapping_says_so(tmp_path: Path) -> None:
    lines = [
        HEADER,
        "Rubro: Tornillería;;;",
        "A;x;1;10",
        "B;y;2;20",
        "TOTAL;;;12.345",
        "Fin del listado",
        "",
    ]
    body = "\r\n".join(lines).encode("cp1252")
    path = tmp_path / "stock.csv"
    path.write_bytes(body)
    plain = read_export(path, basic(tmp_path, price='"Precio"'))
    assert [r.line for r in plain.rejects] == [2, 5, 6]
    hint = footer_hint(plain)
    assert "the last 2 rows are rejected (the first: 'TOTAL')" in hint
    assert "footer_rows = 2" in hint
    extra = 'footer_rows = 2\nskip_rows_matching = ["Rubro: .*"]'
    table, rejects = _read(tmp_path, body, extra=extra)
    assert table == [("A", 1, 10), ("B", 2, 20)] and rejects == []
    table, rejects = _read(
        tmp_path, body, extra='skip_rows_matching = ["Rubro: .*", "TOTAL", "Fin .*"]'
    )
    assert table == [("A", 1, 10), ("B", 2, 20)] and rejects == []


def test_a_wrong_header_row_shows_the_line_that_looks_like_the_header(tmp_path: Path) -> None:
    path = write_text_file(tmp_path / "stock.csv", ["Listado de stock", "SKU;Stock", "A;1"])
    with pytest.raises(BadInputFile) as caught:
        read_export(path, basic(tmp_path, header_row=1))
    message = str(caught.value)
    assert "on line 1 (header_row): the header was probably not found there" in message
    assert "line 2 looks like the header: SKU, Stock" in message
