"""``connector check`` against the sandbox: all good exits 0; each problem named, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from connector.operator.check import run_check, state_is_local
from connector.sandbox.fixtures import make_catalog
from tests.conftest import CANARY_KEY
from tests.operator_support import (
    MAPPING,
    catalog_rows,
    drop,
    export,
    problems,
    run_connector,
    setup,
    without_write_permission,
)
from tests.workspace_support import fast_sandbox

WRONG_KEY = "WRONG-KEY-0b5e2f19-not-linked"


def collect(config_path: Path, file: Path | None = None, **extra: str) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = run_check(config_path, file, lines.append, **extra)
    return code, lines


def test_a_correct_set_up_is_all_good_and_exits_0(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(20))
        config = setup(tmp_path / "site", sb)
        drop(config, "stock-20261123.csv", export(catalog_rows(8)))
        done = run_connector(config, "check")
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    out = done.stdout
    assert problems(out) == []
    assert out.rstrip().endswith("All good.")
    assert "OK       Alephee accepts the API key for account 1001" in out
    assert "OK       folder outbox" in out and "is writable" in out
    # the first rows as the connector understands them: SKU with its zeros, stock, price
    assert "line 3: SKU 0000001, stock 11, price with taxes 1001.25" in out
    assert CANARY_KEY not in out + done.stderr
    assert list(config.folders.inbox.iterdir()), "check must not move inbox files"
    assert [r for r in sb.requests if r.method != "GET"] == []


def test_rejected_rows_are_a_warning_that_says_where_the_report_goes(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(20))
        config = setup(tmp_path / "site", sb)
        drop(config, "stock-20261123.csv", export([*catalog_rows(7), ("", "3", "5,00")] * 2))
        done = run_connector(config, "check")
    assert done.returncode == 1, (done.stdout + done.stderr)[-2000:]
    out = done.stdout
    assert problems(out) == [] and "All good." not in out
    assert "line 10: REJECTED: SKU is empty" in out  # row errors are shown, not set-up problems
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("The set-up is right, but 1 file(s) have rejected rows")
    assert "(stock-20261123.csv)" in last and str(config.folders.outbox) in last


def test_wrong_key_missing_column_and_unwritable_outbox_are_each_named(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(20))
        config = setup(tmp_path / "site", sb, key=WRONG_KEY)
        broken = MAPPING.replace('quantity = "Stock"', 'quantity = "Existencia"')
        (config.folders.mappings / "erp-stock.toml").write_text(broken, encoding="utf-8")
        drop(config, "stock-20261123.csv", export(catalog_rows(5)))
        prefix = without_write_permission(config.folders.outbox)
        try:
            done = run_connector(config, "check", prefix=prefix)
        finally:
            config.folders.outbox.chmod(0o755)
    assert done.returncode == 2, (done.stdout + done.stderr)[-2000:]
    found = problems(done.stdout)
    assert len(found) == 3, done.stdout
    assert any("outbox" in line and "not writable" in line for line in found)
    assert any("refused the credentials (401" in line for line in found)
    assert any("column 'Existencia' not found" in line and "Stock" in line for line in found)
    assert "3 problem(s) to fix." in done.stdout
    assert WRONG_KEY not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_configuration_errors_are_named_with_the_key(tmp_path: Path) -> None:
    (tmp_path / "connector.toml").write_text(
        "[alephee]\naccount_id = 7\napi_key = 'k'\nbatch_size = 5000\n[folders]\ninbox_dir = 'x'\n",
        encoding="utf-8",
    )
    code, lines = collect(tmp_path / "connector.toml")
    assert code == 2
    text = "\n".join(lines)
    assert "PROBLEM" in text and "alephee.batch_size" in text and "1000" in text
    assert "folders.inbox_dir: unknown key" in text
    assert lines[-1].startswith("Fix the configuration first")


def test_a_missing_config_file_says_how_to_create_one(tmp_path: Path) -> None:
    code, lines = collect(tmp_path / "nowhere" / "connector.toml")
    assert code == 2
    assert "connector init" in lines[0]


def test_price_list_account_and_file_argument(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(tmp_path, sb, extra="")
        text = config.source.read_text(encoding="utf-8")
        config.source.write_text(
            text.replace("account_id = 1001", "account_id = 1001\nprice_list_id = 9"),
            encoding="utf-8",
        )
        elsewhere = tmp_path / "stock-export.csv"
        elsewhere.write_bytes(export(catalog_rows(3)))
        code, lines = collect(config.source, elsewhere)
        unmatched = tmp_path / "precios.csv"
        unmatched.write_bytes(export(catalog_rows(3)))
        code2, lines2 = collect(config.source, unmatched)
    assert code == 2
    found = problems("\n".join(lines))
    assert len(found) == 1 and "price list 9 does not exist" in found[0] and "1 (" in found[0]
    assert any(
        "stock-export.csv: read with mapping erp-stock.toml: 3 good rows" in x for x in lines
    )
    assert code2 == 2
    assert any("precios.csv: no mapping matches" in x for x in problems("\n".join(lines2)))


@pytest.mark.skipif(sys.platform == "win32", reason="mount tables are how Linux tells shares")
def test_state_on_a_network_share_is_a_problem(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = setup(tmp_path, sb)
        state = config.folders.state
        mounts = f"//files/erp {state.parent} cifs rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"
        code, lines = collect(config.source, mounts=mounts)
    assert code == 2
    found = problems("\n".join(lines))
    assert len(found) == 1 and "network share" in found[0] and "local" in found[0]
    assert state_is_local(state, mounts="/dev/sda1 / ext4 rw 0 0\n")
    assert not state_is_local(Path("//server/share/state"))


def test_an_empty_inbox_is_a_note_not_a_problem(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = setup(tmp_path, sb)
        (config.folders.inbox / "~$stock.xlsx").write_bytes(b"owner file")  # ignored name
        code, lines = collect(config.source)
    assert code == 0
    assert any(line.startswith("NOTE") and "inbox" in line for line in lines)
    assert lines[-1] == "All good."


XLSX_MAPPING = """
kind = "products"
files = ["*.xlsx"]
sheets = "*"
combine = "sum"

[columns]
sku = "SKU"
quantity = "Stock"
price = "Precio"
"""


def test_an_xlsx_sample_shows_sheets_and_rows(tmp_path: Path) -> None:
    from openpyxl import Workbook

    with fast_sandbox() as sb:
        config = setup(tmp_path, sb)
        (config.folders.mappings / "warehouses.toml").write_text(XLSX_MAPPING, encoding="utf-8")
        book = Workbook()
        central = book.active
        assert central is not None
        central.title = "Central"
        for row in (["SKU", "Stock", "Precio"], ["0000001", 5, 10.5], ["0000002", 1, 0]):
            central.append(row)
        north = book.create_sheet("Norte")
        for row in (["SKU", "Stock", "Precio"], ["0000001", 2, 10.5]):
            north.append(row)
        path = tmp_path / "depositos.xlsx"
        book.save(path)
        code, lines = collect(config.source, path)
    text = "\n".join(lines)
    assert code == 1, text  # the set-up is right; a row would be rejected
    assert "depositos.xlsx: read with mapping warehouses.toml: 1 good rows, 1 rejected" in text
    assert "sheet 'Central' row 2: SKU 0000001, stock 7, price 10.5" in text
    assert "sheet 'Central' row 3: REJECTED: price '0' must be greater than 0" in text
