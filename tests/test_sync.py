"""Stock and price sync end to end against the sandbox: only changed catalog products, batched."""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.operator_support import MAPPING as ERP_MAPPING
from tests.workspace_support import fast_sandbox, run_cli, workspace

MAPPING = ERP_MAPPING  # one test mapping for the cp1252 ';' exports (tests/operator_support)
NOW_PRICES = '\n[schedule]\nprice_changes = "now"\n'


def export(rows: list[tuple[str, int, float]], title: str = "Exportación ERP") -> bytes:
    lines = [title, "Código;Descripción;Stock;Precio"]
    for sku, qty, price in rows:
        whole, cents = f"{price:.2f}".split(".")
        lines.append(f"{sku};Artículo {sku};{qty};{int(whole):,}".replace(",", ".") + f",{cents}")
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def setup(tmp_path: Path, sb: Sandbox, extra: str = NOW_PRICES) -> Config:
    config = workspace(tmp_path, sb, extra="[orders]\nenabled = false\n" + extra)
    for path in config.folders.mappings.glob("*.toml"):
        if path.name != "orders.toml":
            path.unlink()
    (config.folders.mappings / "test-stock.toml").write_text(MAPPING, encoding="utf-8")
    return config


def drop(config: Config, name: str, content: bytes, mtime: float | None = None) -> Path:
    path = config.folders.inbox / name
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def posts(sb: Sandbox) -> list[list[dict[str, object]]]:
    return [r.body for r in sb.requests if r.endpoint == "POST /v2/products" and r.status == 200]


def run(config: Config, **extra: object) -> int:
    code, _ = once(config, Options(progress=False, **extra))  # type: ignore[arg-type]
    return code


def catalog_rows(n: int) -> list[tuple[str, int, float]]:
    return [(f"{i:07d}", 10 + i % 40, 1000 + i * 1.25) for i in range(1, n + 1)]


def test_full_file_then_changes_then_same_content_then_empty(tmp_path: Path) -> None:
    with fast_sandbox(products_max_items=1_000) as sb:  # takes the default batch whole
        sb.load_catalog(make_catalog(2000))
        config = setup(tmp_path, sb)
        rows = catalog_rows(2000)
        drop(config, "stock-1.csv", export(rows))
        assert run(config) == 0
        assert len(posts(sb)) == math.ceil(2000 / config.alephee.batch_size)
        assert sb.product("0000007")["Stock"]["Quantity"] == rows[6][1]
        sb.reset_requests()

        changed = {f"{i:07d}" for i in range(100, 2000, 95)}
        assert len(changed) == 20
        rows2 = [(s, q + 3 if s in changed else q, p) for s, q, p in rows]
        drop(config, "stock-2.csv", export(rows2))
        assert run(config) == 0
        bodies = posts(sb)
        assert len(bodies) == 1
        assert {item["SKU"] for item in bodies[0]} == changed
        assert all("Price" not in item for item in bodies[0])  # only stock changed
        sb.reset_requests()

        drop(config, "stock-3-copy.csv", export(rows2))  # same content, new name
        assert run(config) == 0
        assert posts(sb) == []

        drop(config, "stock-4-empty.csv", b"")
        drop(config, "stock-5-header.csv", export([]))
        assert run(config) == 0
        assert posts(sb) == []
        assert sb.product("0000100")["Stock"]["Quantity"] == rows2[99][1]
        archived = list(config.folders.archive.rglob("stock-*.csv"))
        assert len(archived) == 5


def test_products_not_in_catalog_are_never_sent_and_are_reported(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(50))
        config = setup(tmp_path, sb)
        rows = [*catalog_rows(50), ("9990001", 5, 100.0), ("0009999", 1, 50.0)]
        drop(config, "stock-1.csv", export(rows))
        assert run(config) == 1  # done, with rejected rows
        sent = {item["SKU"] for body in posts(sb) for item in body}
        assert "9990001" not in sent and "0009999" not in sent
        assert len(sent) == 50
        reports = list(config.folders.outbox.glob("rejects-*.csv"))
        assert len(reports) == 1
        text = reports[0].read_bytes().decode("cp1252")
        assert "9990001" in text and "0009999" in text and "catalog" in text


def test_alephee_rejects_three_items_the_rest_advance(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        catalog = make_catalog(30)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        drop(config, "stock-0.csv", export(catalog_rows(1)))
        assert run(config) == 0  # caches the catalog (30 products)
        gone = {"0000004", "0000009", "0000021"}
        sb.load_catalog(
            [p for p in catalog if p["Identification"]["SKU"] not in gone], replace=True
        )
        sb.reset_requests()
        drop(config, "stock-1.csv", export(catalog_rows(30)))
        assert run(config) == 1
        sent = [item["SKU"] for body in posts(sb) for item in body]
        assert gone <= set(sent) and len(sent) == 29  # 0000001 was already accepted
        report = next(config.folders.outbox.glob("rejects-alephee-*.csv"))
        text = report.read_text(encoding="utf-8-sig")
        assert all(sku in text for sku in gone)
        assert "producto" in text.lower()  # Alephee's own message
        sb.reset_requests()
        unchanged_next = [(s, q, p + 0.0) for s, q, p in catalog_rows(30)]
        drop(config, "stock-2.csv", export(unchanged_next, title="Otra exportación"))
        assert run(config) == 0
        assert posts(sb) == []  # the 3 are not re-sent while their values do not change


def test_price_only_changes_wait_for_the_night_slot(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(10))
        config = setup(tmp_path, sb, extra="")
        noon = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires
        drop(config, "stock-1.csv", export(catalog_rows(10)))
        assert run(config, now=lambda: noon) == 0
        first = posts(sb)
        assert all("Price" not in item for body in first for item in body)
        from connector.operator.status import collect

        queue = collect(config, now=noon)["queue"]
        assert queue["deferred"] == 10 and queue["next_deferred_at"].startswith("2026-11-24T03:00")
        sb.reset_requests()
        later_rows = [(s, q + 1 if s == "0000002" else q, p) for s, q, p in catalog_rows(10)]
        drop(config, "stock-2.csv", export(later_rows))
        code, summary = once(config, Options(progress=False, now=lambda: noon + timedelta(hours=1)))
        assert code == 0 and summary.queued == 1  # deferred prices are not queued again
        assert [item["SKU"] for body in posts(sb) for item in body] == ["0000002"]
        assert collect(config, now=noon)["queue"]["deferred"] == 10
        sb.reset_requests()
        night = noon + timedelta(hours=13)  # 01:00 local
        assert run(config, now=lambda: night) == 0
        prices = [item for body in posts(sb) for item in body]
        assert len(prices) == 10 and all("Price" in item for item in prices)


def test_stock_to_zero_goes_now_even_when_stock_waits_for_night(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(
            tmp_path, sb, extra='\n[schedule]\nstock_changes = "night"\nprice_changes = "night"\n'
        )
        noon = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        rows = [("0000001", 0, 10.0), ("0000002", 4, 10.0)]
        drop(config, "stock-1.csv", export(rows))
        assert run(config, now=lambda: noon) == 0
        sent = [item for body in posts(sb) for item in body]
        assert [item["SKU"] for item in sent] == ["0000001"]
        assert sent[0]["Stock"] == {"Quantity": 0}


def test_an_older_export_arriving_late_does_not_overwrite(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(tmp_path, sb)
        drop(config, "stock-new.csv", export([("0000001", 7, 10.0)]), mtime=2_000_000_000)
        assert run(config) == 0
        drop(config, "stock-old.csv", export([("0000001", 3, 10.0)]), mtime=1_900_000_000)
        assert run(config) == 0
        assert sb.product("0000001")["Stock"]["Quantity"] == 7


@pytest.mark.slow
@pytest.mark.parametrize("point", ["sync.after_post", "sync.after_commit", "intake.after_claim"])
def test_sigkill_during_sync_loses_nothing(tmp_path: Path, point: str) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(300))
        config = setup(tmp_path, sb)
        rows = catalog_rows(300)
        drop(config, "stock-1.csv", export(rows))
        crashed = run_cli(config, "once", crash_at=point)
        assert crashed.returncode in (-9, 137), crashed.stderr[-2000:]
        again = run_cli(config, "once")
        assert again.returncode == 0, again.stderr[-2000:]
        for sku, qty, price in rows:
            product = sb.product(sku)
            assert product["Stock"]["Quantity"] == qty
            assert product["Price"][0]["PriceWithTaxes"] == pytest.approx(price)
        assert len(list(config.folders.archive.rglob("stock-1*.csv"))) == 1
        assert list(config.folders.inbox.glob("*.csv")) == []


def test_catalog_is_cached_refreshed_on_schedule_and_on_demand(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(10))
        config = setup(tmp_path, sb)
        start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

        def catalog_calls() -> int:
            return len([r for r in sb.requests if r.endpoint == "GET /v2/products"])

        for n, hours in enumerate((0, 1, 2)):
            drop(config, f"stock-{n}.csv", export([("0000001", n + 1, 10.0)]))
            assert run(config, now=lambda h=hours: start + timedelta(hours=h)) == 0
        assert catalog_calls() == 1  # one download, then the cache
        drop(config, "stock-9.csv", export([("0000001", 50, 10.0)]))
        assert run(config, now=lambda: start + timedelta(hours=25)) == 0
        assert catalog_calls() == 2  # older than catalog_refresh_hours (24)
        assert run(config, refresh_catalog=True, now=lambda: start + timedelta(hours=26)) == 0
        assert catalog_calls() == 3  # on demand
        bodies = [item for body in posts(sb) for item in body]
        assert all(set(item["Stock"]) == {"Quantity"} for item in bodies if "Stock" in item)


def test_two_warehouse_sheets_are_summed_and_unknown_products_reported_per_sheet(
    tmp_path: Path,
) -> None:
    from openpyxl import load_workbook

    from tests.reader_support import write_workbook

    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        config = setup(tmp_path, sb)
        (config.folders.mappings / "depositos.toml").write_text(
            'kind = "products"\nname = "depositos"\nfiles = ["depositos*.xlsx"]\n'
            'sheets = "*"\ncombine = "sum"\n[columns]\nsku = "Código"\nquantity = "Stock"\n',
            encoding="utf-8",
        )
        write_workbook(
            config.folders.inbox / "depositos-1.xlsx",
            {
                "Central": [["Código", "Stock"], ["0000001", 4], ["9990001", 1]],
                "Norte": [["Código", "Stock"], ["0000001", 6], ["9990001", 2]],
            },
        )
        assert run(config) == 1
        assert sb.product("0000001")["Stock"]["Quantity"] == 10
        report = next(config.folders.outbox.glob("rejects-depositos-1-*.xlsx"))
        book = load_workbook(report, read_only=True)
        found = []
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                if row and row[0] == "9990001":
                    found.append((sheet.title, row[-1]))
        book.close()
        assert [title for title, _ in found] == ["Central", "Norte"]
        assert all("catalog" in str(reason) for _, reason in found)
