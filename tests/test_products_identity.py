"""A product is brand + SKU, as Alephee identifies it: state, queue, refusals, catalog match,
reports and status, over real sockets against the sandbox; and the migration of a state
database written when products were keyed by SKU alone."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector import db
from connector.operator.status import collect
from connector.products import state
from connector.runner import open_state
from connector.sandbox import SandboxControl
from tests.products_support import (
    DUP,
    PLAIN_MAPPING,
    brand_catalog,
    brand_export,
    brand_workspace,
    drop,
    price_of,
    run_once,
    sent_items,
    stock_of,
)
from tests.workspace_support import fast_sandbox

NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires: a day slot
NIGHT = datetime(2026, 11, 24, 4, 0, tzinfo=UTC)  # 01:00 in Buenos Aires
AS_OF = 2_000_000_000.0  # 2033: later than anything in the v1 database
NOW_PRICES = '[schedule]\nprice_changes = "now"\n'
V1_DB = Path(__file__).parent / "data" / "state" / "connector-v1.db"


def test_the_same_code_under_two_brands_is_two_products(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, NOW_PRICES)
        rows = [(DUP, "ACME", 5, 100.0), (DUP, "BOSCH", 7, 200.0), ("0000003", "ACME", 9, 30.0)]
        drop(config, "stock-1.csv", brand_export(rows), AS_OF)
        code, summary = run_once(config, NOON)
        assert code == 0
        assert (stock_of(sb, DUP, "ACME"), stock_of(sb, DUP, "BOSCH")) == (5, 7)
        assert (price_of(sb, DUP, "ACME"), price_of(sb, DUP, "BOSCH")) == (100.0, 200.0)
        assert summary.sent == summary.accepted == 6  # 3 products x (stock, prices)
        posts = [r.body for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert all(len({item["SKU"] for item in body}) == len(body) for body in posts)
        assert collect(config, now=NOON)["accepted"] == {"accepted": 6, "refused": 0}

        sb.reset_requests()
        rows[0] = (DUP, "ACME", 6, 100.0)  # only ACME's stock changes
        drop(config, "stock-2.csv", brand_export(rows), AS_OF + 60)
        assert run_once(config, NOON)[0] == 0
        assert sent_items(sb) == [{"SKU": DUP, "Brand": "ACME", "Stock": {"Quantity": 6}}]
        assert stock_of(sb, DUP, "BOSCH") == 7


def test_brand_by_id_or_in_another_case_is_the_same_product(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, NOW_PRICES)
        drop(config, "stock-1.csv", brand_export([(DUP, "acme", 5, 100.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        sb.reset_requests()
        # ACME is brand id 1: the same product, the same values: nothing to send.
        drop(config, "stock-2.csv", brand_export([(DUP, "1", 5, 100.0)]), AS_OF + 60)
        code, summary = run_once(config, NOON)
        assert code == 0 and summary.queued == 0 and sent_items(sb) == []


def test_a_code_under_two_brands_needs_the_brand_column(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, NOW_PRICES, mapping=PLAIN_MAPPING)
        rows = [(DUP, "", 5, 100.0), ("0000003", "", 9, 30.0)]
        drop(config, "stock-1.csv", brand_export(rows), AS_OF)
        code, summary = run_once(config, NOON)
        assert code == 1 and summary.rejected == 1
        assert {item["SKU"] for item in sent_items(sb)} == {"0000003"}
        # The unique code is sent with the brand the catalog gives it (strict matching).
        assert all(item["Brand"] == "ACME" for item in sent_items(sb))
        report = next(config.folders.outbox.glob("rejects-stock-1-*.csv"))
        text = report.read_bytes().decode("cp1252")
        assert DUP in text and "several brands" in text


def test_a_refusal_of_one_brand_does_not_touch_the_other(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        catalog = brand_catalog()
        sb.load_catalog(catalog)
        config = brand_workspace(tmp_path, sb, NOW_PRICES)
        drop(config, "stock-0.csv", brand_export([("0000003", "ACME", 1, 10.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0  # caches the catalog with both products
        acme_dup = next(
            p
            for p in catalog
            if p["Identification"]["SKU"] == DUP and p["Identification"]["Brand"]["Name"] == "ACME"
        )
        sb.load_catalog([p for p in catalog if p is not acme_dup], replace=True)
        rows = [(DUP, "ACME", 5, 100.0), (DUP, "BOSCH", 7, 200.0)]
        drop(config, "stock-1.csv", brand_export(rows), AS_OF + 60)
        code, summary = run_once(config, NOON)
        assert code == 1 and (summary.refused, summary.accepted) == (2, 2)  # changes
        assert stock_of(sb, DUP, "BOSCH") == 7
        report = next(config.folders.outbox.glob("rejects-alephee-*.csv"))
        lines = report.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("sku;brand;what")
        refused = sorted(line.split(";")[:3] for line in lines[1:])
        assert refused == [[DUP, "ACME", "price"], [DUP, "ACME", "stock"]]
        sb.reset_requests()
        rows[1] = (DUP, "BOSCH", 8, 200.0)  # ACME's refused values again, BOSCH's stock moves
        drop(config, "stock-2.csv", brand_export(rows), AS_OF + 120)
        assert run_once(config, NOON)[0] == 0
        assert sent_items(sb) == [{"SKU": DUP, "Brand": "BOSCH", "Stock": {"Quantity": 8}}]


# -- the migration -------------------------------------------------------------------------------


def rows_of(conn: sqlite3.Connection, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in conn.execute(sql)]


def test_migration_rekeys_a_v1_database_by_brand_and_sku(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = brand_workspace(tmp_path, sb)
        config.folders.state.mkdir(parents=True, exist_ok=True)
        shutil.copy(V1_DB, config.db_path)
        conn = open_state(config)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
            assert "products_brand_sku_v2" in names
            assert rows_of(conn, "SELECT sku, brand, quantity FROM accepted ORDER BY sku") == [
                (DUP, "BOSCH", 7),  # the v1 catalog cache kept BOSCH for this code
                ("0000003", "ACME", 9),
                ("0000004", "ACME", 4),  # exported without a brand: the catalog's
                ("0000005", "ACME", 2),
                ("0000006", "ACME", 6),
            ]
            queue = rows_of(
                conn, "SELECT sku, brand, grp, price_with_taxes_e4, slot FROM queue ORDER BY sku"
            )
            assert queue == [
                (DUP, "BOSCH", "price", 2_000_000, "night"),
                ("0000003", "ACME", "price", 3_000_000, "night"),
                ("0000004", "ACME", "price", 4_000_000, "night"),
                ("0000005", "ACME", "price", 5_000_000, "night"),
                ("0000006", "ACME", "price", 6_000_000, "night"),
            ]
            assert rows_of(conn, "SELECT sku, brand, grp FROM refused") == [
                ("0000006", "ACME", "stock")
            ]
            assert conn.execute("SELECT COUNT(*) FROM catalog").fetchone()[0] == 6
            # The v1 cache kept one product per code: it is downloaded again with the next file.
            assert conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0
            before = rows_of(conn, "SELECT * FROM accepted ORDER BY sku")
        finally:
            conn.close()
        again = db.connect(config.db_path)
        try:
            state.init(again)  # a named migration runs once
            assert rows_of(again, "SELECT * FROM accepted ORDER BY sku") == before
        finally:
            again.close()


def test_after_the_migration_both_brands_reach_alephee(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog(6))
        config = brand_workspace(tmp_path, sb)
        config.folders.state.mkdir(parents=True, exist_ok=True)
        shutil.copy(V1_DB, config.db_path)
        rows = [(DUP, "ACME", 5, 100.0), (DUP, "BOSCH", 7, 200.0)]
        drop(config, "stock-3.csv", brand_export(rows), AS_OF)
        code, summary = run_once(config, NIGHT)
        assert code == 0, summary.notes
        assert stock_of(sb, DUP, "ACME") == 5  # never sent by the SKU-keyed version
        assert price_of(sb, DUP, "ACME") == 100.0
        assert price_of(sb, DUP, "BOSCH") == 200.0  # the queued night price, with its brand
        items = sent_items(sb)
        assert {"SKU": DUP, "Brand": "BOSCH", "Stock": {"Quantity": 7}} not in items  # accepted
        assert all(item.get("Brand") in ("ACME", "BOSCH") for item in items)
        assert price_of(sb, "0000004", "ACME") == 400.0


def test_the_sandbox_control_api_reads_a_product_by_brand() -> None:
    with fast_sandbox() as sb, SandboxControl(sb.url) as control:
        sb.load_catalog(brand_catalog())
        assert control.product(DUP, "BOSCH")["Identification"]["Brand"]["Name"] == "BOSCH"
        assert control.product(DUP, "acme")["Identification"]["Brand"]["Name"] == "ACME"
        assert control.product(DUP, "2")["Identification"]["Id"] == 200_001  # brand by id
        assert control.product(DUP)["Identification"]["Brand"]["Name"] == "ACME"  # the first
        with pytest.raises(KeyError, match="under brand 'OTRA'"):
            control.product(DUP, "OTRA")
