"""Hostile and broken inbox files: a clear BadInputFile, no crash, bounded memory."""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from connector.errors import BadInputFile
from connector.readers import read_export
from connector.readers.guard import OLE_MAGIC
from tests.reader_support import (
    WAREHOUSE_MAPPING,
    add_part,
    basic,
    mapping,
    read_in_subprocess,
    rewrite_part,
    write_workbook,
)

SHEET = "xl/worksheets/sheet1.xml"
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY l0 "ha">'
    + b"".join(
        b'<!ENTITY l%d "%s">' % (n, b"".join(b"&l%d;" % (n - 1) for _ in range(10)))
        for n in range(1, 10)
    )
    + b"]>"
)


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    return write_workbook(
        tmp_path / "source.xlsx",
        {"Depósito Central": [["t"], ["SKU", "Stock", "Precio"], ["A", 1, 1]]},
    )


@pytest.fixture
def xlsx_mapping(tmp_path: Path) -> Path:
    mapping(tmp_path, WAREHOUSE_MAPPING.replace('"Depósito Norte"', ""), name="m.toml")
    return tmp_path / "m.toml"


def _read(path: Path, mapping_path: Path) -> str:
    from connector.readers.mapping import load_mapping_file

    loaded = load_mapping_file(mapping_path)
    assert loaded is not None
    with pytest.raises(BadInputFile) as caught:
        read_export(path, loaded)
    assert caught.value.hint, "every refusal tells the operator what to do"
    return str(caught.value)


def test_truncated_xlsx(tmp_path: Path, workbook: Path, xlsx_mapping: Path) -> None:
    cut = tmp_path / "stock.xlsx"
    cut.write_bytes(workbook.read_bytes()[: workbook.stat().st_size // 2])
    assert _read(cut, xlsx_mapping) == "stock.xlsx: the file is incomplete or not a real XLSX"


def test_text_named_xlsx(tmp_path: Path, xlsx_mapping: Path) -> None:
    fake = tmp_path / "stock.xlsx"
    fake.write_text("SKU;Stock\nA;1\n")
    assert "incomplete or not a real XLSX" in _read(fake, xlsx_mapping)


def test_entity_bomb_in_a_sheet(tmp_path: Path, workbook: Path, xlsx_mapping: Path) -> None:
    def bomb(data: bytes) -> bytes:
        body = data.split(b"?>", 1)[-1] if data.startswith(b"<?xml") else data
        return LAUGHS + body.replace(b"<t>A</t>", b"<t>&l9;</t>")

    path = rewrite_part(workbook, tmp_path / "stock.xlsx", SHEET, bomb)
    message = _read(path, xlsx_mapping)
    assert message == (
        f"stock.xlsx is an unsafe or corrupt XLSX ({SHEET}: it declares a DTD or XML entities)"
    )
    outcome = read_in_subprocess(path, xlsx_mapping)
    assert outcome["outcome"] == "bad" and outcome["grew_mb"] < 100


def test_entity_bomb_in_the_workbook_part(
    tmp_path: Path, workbook: Path, xlsx_mapping: Path
) -> None:
    path = rewrite_part(
        workbook, tmp_path / "stock.xlsx", "xl/workbook.xml", lambda data: LAUGHS + data
    )
    assert "it declares a DTD or XML entities" in _read(path, xlsx_mapping)


def test_zip_bomb_by_compression_ratio(tmp_path: Path, workbook: Path, xlsx_mapping: Path) -> None:
    path = add_part(workbook, tmp_path / "stock.xlsx", "xl/media/image1.bin", bytes(30 << 20))
    assert path.stat().st_size < 200_000
    message = _read(path, xlsx_mapping)
    assert message.startswith("stock.xlsx looks like a zip bomb (part xl/media/image1.bin is")
    outcome = read_in_subprocess(path, xlsx_mapping)
    assert outcome["outcome"] == "bad" and outcome["grew_mb"] < 100


def test_zip_bomb_by_declared_size(tmp_path: Path, workbook: Path, xlsx_mapping: Path) -> None:
    path = tmp_path / "stock.xlsx"
    path.write_bytes(_declare_size(workbook.read_bytes(), SHEET, 0xFFFF_FFF0))
    assert "looks like a zip bomb (it would unpack to more than" in _read(path, xlsx_mapping)


def test_a_part_lying_about_its_size_is_corrupt(
    tmp_path: Path, workbook: Path, xlsx_mapping: Path
) -> None:
    path = tmp_path / "stock.xlsx"
    path.write_bytes(_declare_size(workbook.read_bytes(), SHEET, 40))
    assert f"unsafe or corrupt XLSX ({SHEET}: damaged zip data" in _read(path, xlsx_mapping)


def _declare_size(data: bytes, part: str, size: int) -> bytes:
    """Patch the uncompressed size of ``part`` in both its local and central headers."""
    patched = bytearray(data)
    name = part.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = patched.find(signature)
        while position >= 0:
            name_at = position + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + len(name)] == name:
                patched[position + offset : position + offset + 4] = struct.pack("<I", size)
            position = patched.find(signature, position + 4)
    return bytes(patched)


def test_random_binary_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(random.Random(7).randbytes(20_000))
    with pytest.raises(BadInputFile, match=r"^stock.csv is not a text file \(it holds binary"):
        read_export(path, basic(tmp_path))


def test_binary_without_nul_bytes_named_csv(tmp_path: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(bytes(range(1, 9)) * 2_000 + b"SKU;Stock\r\n")
    with pytest.raises(BadInputFile, match="not a text file"):
        read_export(path, basic(tmp_path))


def test_xlsx_named_csv(tmp_path: Path, workbook: Path) -> None:
    path = tmp_path / "stock.csv"
    path.write_bytes(workbook.read_bytes())
    with pytest.raises(BadInputFile, match="is an Excel workbook \\(XLSX\\), not a text file"):
        read_export(path, basic(tmp_path))


def test_xls_renamed_to_xlsx(tmp_path: Path, xlsx_mapping: Path) -> None:
    path = tmp_path / "stock.xlsx"
    path.write_bytes(OLE_MAGIC + bytes(4088) + "Workbook".encode("utf-16-le") + bytes(4000))
    assert "is an old Excel 97-2003 (.xls) file renamed to .xlsx" in _read(path, xlsx_mapping)


def test_password_protected_xlsx(tmp_path: Path, xlsx_mapping: Path) -> None:
    path = tmp_path / "stock.xlsx"
    path.write_bytes(
        OLE_MAGIC + bytes(3_000_000) + "EncryptedPackage".encode("utf-16-le") + bytes(10)
    )
    assert _read(path, xlsx_mapping) == "stock.xlsx is password-protected and cannot be read"


def test_macro_workbooks_are_refused(tmp_path: Path, workbook: Path, xlsx_mapping: Path) -> None:
    xlsm = tmp_path / "stock.xlsm"
    xlsm.write_bytes(workbook.read_bytes())
    with pytest.raises(BadInputFile, match="macro-enabled workbook"):
        read_export(xlsm, basic(tmp_path))
    renamed = add_part(workbook, tmp_path / "stock.xlsx", "xl/vbaProject.bin", b"\x00" * 64)
    assert "contains macros (an .xlsm renamed to .xlsx)" in _read(renamed, xlsx_mapping)


@pytest.mark.parametrize("name", ["stock.xls", "stock.ods", "stock.pdf"])
def test_other_formats_are_refused_by_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"whatever")
    with pytest.raises(BadInputFile) as caught:
        read_export(path, basic(tmp_path))
    assert caught.value.hint


@pytest.mark.slow
def test_cells_far_apart_do_not_exhaust_memory(tmp_path: Path, xlsx_mapping: Path) -> None:
    """Two cells at A3 and XFD1048576 would make calamine allocate ~512 GB and abort the
    process; the scan sees it and the bounded openpyxl reader is used instead."""
    source = write_workbook(
        tmp_path / "source.xlsx",
        {"Depósito Central": [["t"], ["SKU", "Stock", "Precio"], ["A", 1, 1]]},
    )
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    path = rewrite_part(
        source,
        tmp_path / "stock.xlsx",
        SHEET,
        lambda data: data.replace(b"</sheetData>", far + b"</sheetData>"),
    )
    outcome = read_in_subprocess(path, xlsx_mapping)
    assert outcome["outcome"] == "read", outcome
    assert outcome["grew_mb"] < 400


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stock.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("_rels/.rels", zlib.compress(b"x"))
    with pytest.raises(BadInputFile, match="unsafe or corrupt XLSX"):
        read_export(path, mapping(tmp_path, WAREHOUSE_MAPPING))
