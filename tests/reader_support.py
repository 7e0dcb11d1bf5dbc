"""Helpers for the reader tests: mappings, real CSV/XLSX files, crafted hostile workbooks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from connector.readers.mapping import ProductMapping, load_mapping_file

ROOT = Path(__file__).resolve().parent.parent

CP1252_MAPPING = """
kind = "products"
name = "ERP cp1252"
files = ["stock*.csv"]
encoding = "auto"
delimiter = "auto"
decimal = ","
thousands = "."
header_row = 2

[columns]
sku = ["Código", "codigo articulo", "SKU"]
quantity = ["Stock", "Cantidad"]
price_with_taxes = ["Precio c/IVA", "Precio final"]
cost = ["Costo"]
"""

# A products mapping of an .xlsx with SKU and Stock columns (the isolation tests).
XLSX_STOCK_MAPPING = """
kind = "products"
files = ["*.xlsx"]
[columns]
sku = "SKU"
quantity = "Stock"
"""

WAREHOUSE_MAPPING = """
kind = "products"
files = ["*.xlsx"]
decimal = ","
thousands = "."
header_row = 2
sheets = ["Depósito Central", "Depósito Norte"]
combine = "sum"

[columns]
sku = ["Código", "SKU"]
quantity = ["Stock", "Cantidad"]
price = "Precio"
"""


def basic(folder: Path, *, header_row: int = 1, extra: str = "", **columns: str) -> ProductMapping:
    """A CSV mapping with SKU and stock (plus ``columns`` as TOML values) and auto formats."""
    lines = [
        'kind = "products"',
        'files = ["*.csv"]',
        'decimal = ","',
        'thousands = "."',
        f"header_row = {header_row}",
        extra,
        "[columns]",
        'sku = ["Código", "SKU"]',
        'quantity = ["Stock", "Cantidad"]',
    ]
    lines += [f"{name} = {value}" for name, value in columns.items()]
    return mapping(folder, "\n".join(lines))


def mapping(folder: Path, text: str, name: str = "stock.toml") -> ProductMapping:
    """Write a mapping file and load it the way the connector does."""
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    loaded = load_mapping_file(path)
    assert loaded is not None
    return loaded


def write_text_file(
    path: Path, lines: Sequence[str], *, encoding: str = "cp1252", newline: str = "\r\n"
) -> Path:
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode(encoding))
    return path


def write_workbook(
    path: Path, sheets: dict[str, list[list[Any]]], *, formulas: bool = False
) -> Path:
    """An XLSX with one sheet per entry (openpyxl); "=..." stays text unless ``formulas``."""
    workbook = Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        assert sheet is not None
        sheet.title = title
        first = False
        for row in rows:
            sheet.append(row)
        for cells in sheet.iter_rows():
            for cell in cells:
                if isinstance(cell.value, str) and not formulas:
                    cell.data_type = "s"  # text, even when it starts with "="
    workbook.save(path)
    return path


def rewrite_part(source: Path, target: Path, part: str, change: Any) -> Path:
    """Copy an XLSX, passing one part's bytes through ``change`` (bytes -> bytes)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = old.read(item.filename)
            new.writestr(item.filename, change(data) if item.filename == part else data)
    return target


def add_part(source: Path, target: Path, part: str, data: bytes) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            new.writestr(item.filename, old.read(item.filename))
        new.writestr(part, data)
    return target


def rows_of(table: Any) -> list[dict[str, Any]]:
    """The accepted table as plain dicts (NA -> None) for exact comparisons."""
    records: list[dict[str, Any]] = []
    for record in table.to_dict("records"):
        records.append({key: (None if _is_na(value) else value) for key, value in record.items()})
    return records


def _is_na(value: Any) -> bool:
    import pandas as pd

    return value is pd.NA or (isinstance(value, float) and value != value)


def read_in_subprocess(path: Path, mapping_path: Path) -> dict[str, Any]:
    """read_export in a fresh interpreter: outcome, message and the peak RSS in MB."""
    code = textwrap.dedent(
        f"""
        import json, resource
        from pathlib import Path
        from connector.errors import BadInputFile
        from connector.readers.mapping import load_mapping_file
        from connector.readers import read_export
        mapping = load_mapping_file(Path({str(mapping_path)!r}))
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            read_export(Path({str(path)!r}), mapping)
            outcome, message = "read", ""
        except BadInputFile as exc:
            outcome, message = "bad", str(exc)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({{"outcome": outcome, "message": message,
                          "grew_mb": (peak - base) / 1024}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


SST_PART = "xl/sharedStrings.xml"
SST_CONTENT_TYPE = (
    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
SST_REL = (
    b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/sharedStrings" Target="sharedStrings.xml"/>'
)


def poison_workbook(source: Path, target: Path, kind: str) -> Path:
    """A small XLSX crafted to make a native parser allocate without bound.

    ``bin``: the worksheet part is named sheet1.bin and has a cell at XFD1048576;
    ``no_refs``: a row at 1048576 with 16,384 cells written without ``r=``;
    ``in_a_row``: the cell at XFD1048576 written inside the last real row;
    ``strings``: a shared-strings table claiming four billion strings."""
    far = b'<c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
    wide = b"<c/>" * 16_383 + b'<c t="inlineStr"><is><t>x</t></is></c>'
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            name, data = item.filename, old.read(item.filename)
            if name == "xl/worksheets/sheet1.xml" and kind == "bin":
                name = "xl/worksheets/sheet1.bin"
                data = data.replace(
                    b"</sheetData>", b'<row r="1048576">' + far + b"</row></sheetData>"
                )
            elif name == "xl/worksheets/sheet1.xml" and kind == "in_a_row":
                data = data.replace(b"</row></sheetData>", far + b"</row></sheetData>")
            elif name == "xl/worksheets/sheet1.xml" and kind == "no_refs":
                data = data.replace(
                    b"</sheetData>", b'<row r="1048576">' + wide + b"</row></sheetData>"
                )
            if kind == "bin":
                data = data.replace(b"worksheets/sheet1.xml", b"worksheets/sheet1.bin")
            if kind == "strings" and name == "[Content_Types].xml":
                data = data.replace(b"</Types>", SST_CONTENT_TYPE + b"</Types>")
            if kind == "strings" and name == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", SST_REL + b"</Relationships>")
            new.writestr(name, data)
        if kind == "strings":
            new.writestr(
                SST_PART,
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                b'count="4000000000" uniqueCount="4000000000"><si><t>x</t></si></sst>',
            )
    return target


def calamine_every_sheet(path: Path) -> int:
    """calamine with no scan in front of it (run in a child process by the tests)."""
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as workbook:
        return sum(
            len(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
            for name in workbook.sheet_names
        )


def peak_child_mb(code: str) -> tuple[str, float]:
    """Run ``code`` in a fresh interpreter; its last printed line and the peak RSS (MB) of
    the processes it started (the reader's child process)."""
    wrapper = code + textwrap.dedent(
        """
        import resource as _resource
        print("PEAK", _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    return lines[-2], float(lines[-1].split()[1])
