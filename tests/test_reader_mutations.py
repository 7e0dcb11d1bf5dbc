"""Property: a damaged export never gives a SKU a value other than its own intact row's.

Valid CSV and XLSX exports are damaged the ways files really break (cut short, a stray
quote, binary or wrong-encoding bytes, a line made very wide) and read. Whatever the damage,
reading ends either in a plain ``BadInputFile`` or in rows that each carry exactly the
values of the intact file's row on the same line: a damaged row may be rejected, never
shifted onto another SKU. Checked at the read_export + validate level (milliseconds per
example); one end-to-end example goes through the real runner and the sandbox.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.errors import BadInputFile
from connector.readers import read_in_process
from connector.readers.mapping import ProductMapping
from connector.sandbox.fixtures import make_catalog
from tests.reader_support import basic, mapping, rows_of, write_workbook
from tests.workspace_support import fast_sandbox, run_cli, workspace

ROWS = [(f"{n:07d}", n * 3 + 1, (n + 1) * 1_250) for n in range(1, 13)]  # sandbox SKUs
HEADER = "SKU;Descripción;Stock;Precio"
NOISE = st.sampled_from([b'"', b"\x00", b"\xe9", b"\xff", b"\x01", b'""', b"\xc3"])
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def intact_csv() -> bytes:
    lines = [HEADER] + [f"{sku};Artículo {sku};{qty};{price:,}" for sku, qty, price in ROWS]
    return "".join(line.replace(",", ".") + "\r\n" for line in lines).encode("cp1252")


INTACT = {sku: (qty, price) for sku, qty, price in ROWS}


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """One to three kinds of damage. None inserts a line break into a row (a bare line break
    splits a row into two valid-looking rows: no reader can tell); a byte between CR and LF
    does make one line two, which must not matter either."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["cut", "insert", "widen"]))
        if kind == "cut":
            data = data[: draw(st.integers(1, len(data)))]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(NOISE) + data[at:]
        else:
            lines = data.split(b"\r\n")
            index = draw(st.integers(0, len(lines) - 1))
            lines[index] += b";x" * draw(st.sampled_from([1, 2, 1_500]))
            data = b"\r\n".join(lines)
    return data


def _accepted_rows_are_their_own(path: Path, product_mapping: ProductMapping) -> None:
    """Every accepted row is an intact SKU (the noise a damage put into the code aside) with
    exactly that SKU's intact values."""
    try:
        export = read_in_process(path, product_mapping)
    except BadInputFile:
        return  # the whole file refused, with a reason: nothing sent
    for row in rows_of(export.table):
        seen = "".join(ch for ch in row["sku"] if ch.isascii() and ch.isprintable() and ch != '"')
        assert seen in INTACT, row
        assert (row["quantity"], row["price_e4"] // 10_000) == INTACT[seen], row


@SETTINGS
@given(st.data())
def test_a_damaged_csv_never_moves_a_value_to_another_sku(
    tmp_path: Path, data: st.DataObject
) -> None:
    product_mapping = basic(tmp_path, price='"Precio"')
    body = data.draw(damaged(intact_csv()))
    path = tmp_path / "stock.csv"
    path.write_bytes(body)
    _accepted_rows_are_their_own(path, product_mapping)


XLSX_MAPPING = """
kind = "products"
files = ["*.xlsx"]
header_row = 2
[columns]
sku = "SKU"
quantity = "Stock"
price = "Precio"
"""


@st.composite
def damaged_sheet(draw: st.DrawFn, xml: bytes) -> bytes:
    kind = draw(st.sampled_from(["cut", "insert", "widen"]))
    if kind == "cut":
        return xml[: draw(st.integers(1, len(xml)))]
    if kind == "insert":
        at = draw(st.integers(0, len(xml)))
        return xml[:at] + draw(NOISE) + xml[at:]
    row = draw(st.integers(3, len(ROWS) + 2))  # a cell far to the right of a data row
    start = xml.index(b'<row r="%d"' % row)
    end = xml.index(b"</row>", start)
    far = b'<c r="XFD%d" t="inlineStr"><is><t>9</t></is></c>' % row
    return xml[:end] + far + xml[end:]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_a_damaged_xlsx_never_moves_a_value_to_another_sku(
    tmp_path: Path, data: st.DataObject
) -> None:
    source = tmp_path / "intact.xlsx"
    if not source.exists():
        write_workbook(
            source,
            {"Hoja": [["Existencias"], ["SKU", "Stock", "Precio"]] + [list(r) for r in ROWS]},
        )
    product_mapping = mapping(tmp_path, XLSX_MAPPING, name="m.toml")
    target = tmp_path / "stock.xlsx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            part = old.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                part = data.draw(damaged_sheet(part))
            new.writestr(item.filename, part)
    _accepted_rows_are_their_own(target, product_mapping)


def test_end_to_end_a_swallowed_region_sends_only_intact_values(tmp_path: Path) -> None:
    """The runner, the reader and the sandbox: a quote opened in 0000001's description and
    closed in 0000003's. Read naively 0000001 would get 0000003's stock; now those three
    lines are rejected and every other SKU is sent with its own value."""
    body = intact_csv().replace(b"Art\xedculo 0000001", b'"Art\xedculo 0000001', 1)
    body = body.replace(b"Art\xedculo 0000003", b'Art\xedculo 0000003"', 1)
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(len(ROWS)))
        config = workspace(tmp_path, sb, extra="[orders]\nenabled = false\n")
        mapping(
            config.folders.mappings,
            'kind = "products"\nfiles = ["stock*.csv"]\n[columns]\nsku = "SKU"\n'
            'quantity = "Stock"\n',
            name="stock-prices.toml",
        )
        (config.folders.inbox / "stock-1.csv").write_bytes(body)
        proc = run_cli(config, "once")
        assert proc.returncode == 1, proc.stderr
        assert "Traceback" not in proc.stderr
        for sku, qty, _ in ROWS:
            if sku in ("0000001", "0000002", "0000003"):
                assert sb.updates(sku) == 0, sku
            else:
                assert sb.product(sku)["Stock"]["Quantity"] == qty, sku
