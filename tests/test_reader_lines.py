"""Whole rows of a narrow CSV read, read again from the file once its bytes are let go
(``connector.readers.lines``): the same rows the whole read gives, for any file, and a file
changed since it was read is refused rather than misquoted."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import BadInputFile
from connector.readers import lines, read_export
from connector.readers.csv import read_csv
from connector.readers.export import Export
from tests.reader_support import CP1252_MAPPING, mapping

HEADER = ["Código", "Descripción", "Marca", "Stock", "Precio c/IVA", "Costo"]
OPEN_END = CP1252_MAPPING.replace("header_row = 2", "header_row = 2\nfinal_line_break = false")
# Text a narrow read accepts in any column: no delimiter, quote, NUL or line break.
TEXT = st.text(
    st.characters(codec="cp1252", exclude_characters=';"\r\n\x00', exclude_categories=["Cs", "Cc"]),
    max_size=12,
)
STOCK = st.one_of(st.integers(0, 999).map(str), st.sampled_from(["-1", "x", "", "2,5"]))
ROW = st.tuples(TEXT, TEXT, STOCK, st.sampled_from(["12,50", "0", "1.234,5", "y"]))


def _body(rows: list[tuple[str, str, str, str]], blanks: list[bool]) -> list[str]:
    body = []
    for number, (description, brand, stock, price) in enumerate(rows, start=1):
        if number <= len(blanks) and blanks[number - 1]:
            body.append("")  # an empty line: not a row, but it keeps its number
        body.append(f"{number:05d};{description};{brand};{stock};{price};1")
    return body


def _write(
    path: Path, text: list[str], breaks: list[str], encoding: str, final: bool, tail: str = ""
) -> Path:
    ends = [breaks[i % len(breaks)] for i in range(len(text))]
    joined = "".join(line + end for line, end in zip(text, ends, strict=True))
    if not final and not tail:
        joined = joined[: -len(ends[-1])]
    path.write_bytes((joined + tail).encode(encoding))
    return path


def _whole_rows(export: Export, path: Path, folder: Path, text: str) -> None:
    """Every row, and every reject's row, as the whole read (every column parsed) gives it."""
    _, sheets = read_csv(path, mapping(folder, text, name="whole.toml"))
    whole, raw = sheets[0], export.sheets[0]
    assert whole.whole is None
    assert isinstance(raw.whole, lines.LineSource) and raw.whole.data is None
    every = list(map(int, whole.lines))
    assert raw.rows(every) == whole.rows(every)
    assert raw.rows(every[::3]) == whole.rows(every[::3])  # a few lines, anywhere
    for reject in export.rejects:
        assert list(reject.original.values()) == whole.row(reject.line)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(ROW, min_size=1, max_size=30),
    blanks=st.lists(st.booleans(), max_size=30),
    breaks=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=4),
    encoding=st.sampled_from(["cp1252", "utf-8", "utf-8-sig"]),
    final=st.booleans(),
    tail=st.sampled_from(["", "\r\n\r\n", "\n \n", ";;;;;\n"]),  # blank lines after the body
    block=st.integers(1, 40),
)
def test_rows_read_again_from_the_file_are_the_rows_the_whole_read_gives(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str, str]],
    blanks: list[bool],
    breaks: list[str],
    encoding: str,
    final: bool,
    tail: str,
    block: int,
) -> None:
    folder = tmp_path_factory.mktemp("lines")
    text = ["Listado de stock;;;;;", ";".join(HEADER), *_body(rows, blanks)]
    path = _write(folder / "stock.csv", text, breaks, encoding, final, tail)
    loaded = OPEN_END if not final else CP1252_MAPPING
    export = read_export(path, mapping(folder, loaded))
    # Blocks of a few bytes: lines (and CR LF pairs) cut at every place of a block.
    with mock.patch.object(lines, "BLOCK", block):
        _whole_rows(export, path, folder, loaded)


def _export_with_rejects(folder: Path) -> tuple[Path, Export]:
    text = [
        "Listado;;;;;",
        ";".join(HEADER),
        "00001;Ñandú;ACME;1;1,00;1",
        "00002;Tornillo;ACME;-1;2,00;2",
        "00003;Arandela;Bosch;3;3,00;3",
    ]
    path = _write(folder / "stock.csv", text, ["\r\n"], "cp1252", True)
    return path, read_export(path, mapping(folder, CP1252_MAPPING))


def test_the_read_keeps_no_bytes_and_reads_rows_again(tmp_path: Path) -> None:
    _, export = _export_with_rejects(tmp_path)
    assert export.rejects[0].original["Stock"] == "-1"  # cut while the bytes were there
    assert export.original(5)["Descripción"] == "Arandela"  # read again from the file
    assert export.original(3)["Descripción"] == "Ñandú"


def test_a_file_changed_since_the_read_is_refused(tmp_path: Path) -> None:
    path, export = _export_with_rejects(tmp_path)
    before = path.stat()
    data = path.read_bytes()
    path.write_bytes(data.replace(b"Arandela", b"Arandelo"))  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the same time
    with pytest.raises(BadInputFile, match="changed while the connector was reading it"):
        export.original(5)
    path.write_bytes(data + b"00004;Nuevo;ACME;4;4,00;4\r\n")
    with pytest.raises(BadInputFile, match="changed"):
        export.original(5)
    path.unlink()
    with pytest.raises(BadInputFile, match="changed"):
        export.original(5)


def test_an_export_read_in_a_child_process_reads_rows_from_the_file(tmp_path: Path) -> None:
    path, _ = _export_with_rejects(tmp_path)
    export = read_export(path, mapping(tmp_path, CP1252_MAPPING), isolate=True)
    assert export.original(5)["Descripción"] == "Arandela"
    assert export.rejects[0].original["Stock"] == "-1"
