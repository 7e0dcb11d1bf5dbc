"""First contact sends only what Alephee lacks: the catalog download keeps Alephee's stock and
prices, and products with no accepted state are seeded from them (``snapshot.seed``) before the
first export is diffed. Against the sandbox (realistic profile), POST calls counted there."""

from __future__ import annotations

import math
import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.config import Config
from connector.products import catalog_values
from connector.products.snapshot import SEED_AS_OF
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.test_sync import drop, export, posts, run, setup
from tests.workspace_support import fast_sandbox, run_cli

Row = tuple[str, int, float]  # sku, stock, price with taxes


def alephee_rows(catalog: list[dict[str, Any]]) -> list[Row]:
    """An export whose every value equals what Alephee holds."""
    return [
        (
            p["Identification"]["SKU"],
            p["Stock"]["Quantity"],
            p["Price"][0]["PriceWithTaxes"],
        )
        for p in catalog
    ]


def sent_skus(sb: Sandbox) -> list[str]:
    return [str(item["SKU"]) for body in posts(sb) for item in body]


def db(config: Config) -> sqlite3.Connection:
    conn = sqlite3.connect(config.db_path)
    conn.row_factory = sqlite3.Row
    return conn


# -- reading Alephee's values -------------------------------------------------------------------


def test_the_catalog_values_of_the_sample_shapes() -> None:
    product = {
        "identification": {"id": 7, "sku": 1234, "brand": {"ID": 3, "name": "ACME"}},
        "stock": {"quantity": "12"},
        "price": [
            {"PriceWithTaxes": "1234.50", "Cost": 10.1, "PriceList": {"Id": 2}},
            {"PriceWithTaxes": 99, "PriceList": {"Id": "1"}},
        ],
    }
    row = catalog_values.parse(product, 2)
    assert row == (7, "1234", None, "ACME", 3, 12, None, 12_345_000, None, 101_000)
    assert catalog_values.parse(product, 1)[5:] == (12, None, 990_000, None, None)
    # several lists and none configured: which one the connector writes is unknown
    assert catalog_values.parse(product, None)[6:] == (None, None, None, None)
    bare = {"Identification": {"SKU": "A-1"}}  # no Stock, no Price
    assert catalog_values.parse(bare, None) == (None, "A-1", None, "", None) + (None,) * 5


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    shape=st.sampled_from(["float", "text", "int-when-whole", "padded"]),
)
def test_a_price_compares_exactly_in_ten_thousandths(cents: int, shape: str) -> None:
    """However Alephee writes a price, it becomes the integer the reader makes of it."""
    value = Decimal(cents).scaleb(-2)
    written: Any = {
        "float": float(value),
        "text": str(value),
        "int-when-whole": int(value) if value == value.to_integral_value() else str(value),
        "padded": f" {value:.4f} ",
    }[shape]
    product = {"Identification": {"SKU": "1"}, "Price": {"Price": written}}
    assert catalog_values.parse(product, None)[6] == cents * 100


# -- first contact ------------------------------------------------------------------------------


def test_a_first_file_equal_to_alephee_for_most_products_sends_only_the_differing(
    tmp_path: Path,
) -> None:
    n, batch = 600, 50
    with fast_sandbox() as sb:
        catalog = make_catalog(n)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        assert config.alephee.batch_size >= batch
        rows = alephee_rows(catalog)
        differing = {i: rows[i] for i in range(0, n, 9)}  # 67 products
        for i, (sku, qty, price) in differing.items():
            rows[i] = (sku, qty + 1, price) if i % 2 else (sku, qty, price + 1)
        drop(config, "stock-1.csv", export(rows))
        assert run(config) == 0
        sent = sent_skus(sb)
        assert sorted(sent) == sorted(sku for sku, _, _ in differing.values())
        assert len(posts(sb)) == math.ceil(len(differing) / config.alephee.batch_size)
        for sku, qty, price in rows:
            product = sb.product(sku)
            assert product["Stock"]["Quantity"] == qty
            assert round(product["Price"][0]["PriceWithTaxes"], 2) == round(price, 2)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    alephee=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([100.0, 100.5, 250.25])),
        min_size=6,
        max_size=6,
    ),
    export_values=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([100.0, 100.5, 250.25])),
        min_size=6,
        max_size=6,
    ),
    listed=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_after_a_first_once_alephee_holds_the_export_and_only_differences_were_sent(
    alephee: list[tuple[int, float]],
    export_values: list[tuple[int, float]],
    listed: list[bool],
) -> None:
    catalog = make_catalog(len(alephee))
    for product, (qty, price) in zip(catalog, alephee, strict=True):
        product["Stock"]["Quantity"] = qty
        product["Price"][0]["PriceWithTaxes"] = price
    rows = [
        (p["Identification"]["SKU"], qty, price)
        for p, (qty, price), keep in zip(catalog, export_values, listed, strict=True)
        if keep
    ]
    with fast_sandbox() as sb, tempfile.TemporaryDirectory() as folder:
        sb.load_catalog(catalog)
        config = setup(Path(folder), sb)
        drop(config, "stock-1.csv", export(rows))
        assert run(config) == 0
        differing = {
            sku for sku, qty, price in rows if (qty, price) != _held(_by_sku(catalog, sku))
        }
        assert sorted(sent_skus(sb)) == sorted(differing)
        for sku, qty, price in rows:
            assert _held(sb.product(sku)) == (qty, price)


def _by_sku(catalog: list[dict[str, Any]], sku: str) -> dict[str, Any]:
    return next(p for p in catalog if p["Identification"]["SKU"] == sku)


def _held(product: dict[str, Any]) -> tuple[int, float]:
    return product["Stock"]["Quantity"], round(product["Price"][0]["PriceWithTaxes"], 2)


def test_a_stale_catalog_never_seeds(tmp_path: Path) -> None:
    """Seeds come only from a download of the same transaction: values downloaded before, even
    an hour before, are never taken for what Alephee holds now."""
    with fast_sandbox() as sb:
        catalog = make_catalog(20)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        drop(config, "stock-0.csv", export(alephee_rows(catalog)[:1]))
        assert run(config) == 0  # the catalog downloaded: everything seeded
        assert posts(sb) == []
        with db(config) as conn:  # as if no product had an accepted state
            conn.execute("DELETE FROM accepted")
            assert conn.execute("SELECT COUNT(*) FROM catalog_values").fetchone()[0] == 20
        drop(config, "stock-1.csv", export(alephee_rows(catalog)))
        assert run(config) == 0  # the cached catalog is fresh (24 h) but not downloaded now
        assert sorted(sent_skus(sb)) == sorted(p["Identification"]["SKU"] for p in catalog)


def test_a_seed_never_covers_a_refused_or_unanswered_value(tmp_path: Path) -> None:
    """A product whose value Alephee refused, or whose value went out without an answer, is not
    seeded: the refusal is kept, and the unanswered value is sent again."""
    with fast_sandbox() as sb:
        catalog = make_catalog(10)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        drop(config, "stock-0.csv", export(alephee_rows(catalog)[:1]))
        assert run(config) == 0
        with db(config) as conn:
            conn.execute("DELETE FROM accepted")
            conn.execute(
                "INSERT INTO refused (sku, brand, grp, signature, message, at) VALUES "
                "('0000002', 'ACME', 'stock', '5', 'no', ?)",
                (SEED_AS_OF,),
            )
            conn.execute(
                "INSERT INTO queue (sku, brand, grp, quantity, due_at, slot, reason, as_of, "
                "enqueued_at, sent_at) VALUES ('0000003', 'ACME', 'stock', 7, ?, 'now', "
                "'stock change', ?, ?, ?)",
                (SEED_AS_OF, SEED_AS_OF, SEED_AS_OF, SEED_AS_OF),
            )
        from connector.runner import Options, once

        once(config, Options(progress=False, refresh_catalog=True, orders=False))
        with db(config) as conn:
            seeded = {
                (r["sku"], r["stock_as_of"])
                for r in conn.execute("SELECT sku, stock_as_of FROM accepted")
            }
        skus = {sku for sku, as_of in seeded if as_of is not None}  # stock seeded or accepted
        assert "0000002" not in skus  # refused: its stock not seeded (its price is)
        assert "0000001" in skus and "0000004" in skus
        assert sb.product("0000003")["Stock"]["Quantity"] == 7  # unanswered: sent again


def test_a_seed_is_older_than_any_export(tmp_path: Path) -> None:
    """The seeded as_of sorts before every real export: an export made before the catalog
    download (an old file arriving late) is still compared, not dropped as stale."""
    with fast_sandbox() as sb:
        catalog = make_catalog(5)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        rows = alephee_rows(catalog)
        rows[2] = (rows[2][0], rows[2][1] + 5, rows[2][2])
        drop(config, "stock-1.csv", export(rows), mtime=1_000_000_000)  # the year 2001
        assert run(config) == 0
        assert sent_skus(sb) == [rows[2][0]]
        assert sb.product(rows[2][0])["Stock"]["Quantity"] == rows[2][1]


def test_a_kill_after_the_seeded_download_loses_nothing(tmp_path: Path) -> None:
    """Killed after the download (catalog, values and seeds committed together) while the file
    is being processed, then after the first batch: the next runs send each differing product,
    and Alephee ends with the export's values."""
    with fast_sandbox() as sb:
        catalog = make_catalog(300)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        rows = alephee_rows(catalog)
        for i in range(0, 300, 2):  # 150 differ: two batches of 100
            sku, qty, price = rows[i]
            rows[i] = (sku, qty + 1, price)
        drop(config, "stock-1.csv", export(rows))
        for point in ("intake.after_claim", "sync.after_commit"):
            crashed = run_cli(config, "once", "--no-orders", crash_at=point)
            assert crashed.returncode in (-9, 137), crashed.stderr
        done = run_cli(config, "once", "--no-orders")
        assert done.returncode == 0, done.stderr
        assert set(sent_skus(sb)) == {rows[i][0] for i in range(0, 300, 2)}
        for sku, qty, _ in rows:
            assert sb.product(sku)["Stock"]["Quantity"] == qty


def test_a_product_without_a_sku_is_an_unexpected_shape() -> None:
    for product in ({"Identification": {"Id": 1}}, {"Stock": {}}, {"Identification": []}):
        try:
            catalog_values.parse(product, None)
        except ValueError as exc:
            assert "GET /v2/products" in str(exc)
        else:
            raise AssertionError(f"{product} was read")
