"""The largest batches Alephee accepts: 1,000 products tried first, halved on 413, and the size
that worked kept in state/api-profile.json for the next runs (against the sandbox's own cap)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest

from connector.products.snapshot import SEED_AS_OF
from connector.sandbox.fixtures import make_catalog
from tests.test_sync import catalog_rows, drop, export, run, setup
from tests.workspace_support import fast_sandbox, run_cli

PRODUCTS = 1_200
SANDBOX_CAP = 100  # the sandbox answers 413 above this many items, applying nothing


def test_a_413_halves_the_batch_and_the_size_that_worked_is_kept(tmp_path: Path) -> None:
    with fast_sandbox(products_max_items=SANDBOX_CAP) as sb:
        sb.load_catalog(make_catalog(PRODUCTS))
        config = setup(tmp_path, sb)
        assert config.alephee.batch_size == 1_000  # the default: the largest tried first
        rows = catalog_rows(PRODUCTS)
        drop(config, "stock-1.csv", export(rows))
        assert run(config) == 0
        posts = [r for r in sb.requests if r.endpoint == "POST /v2/products"]
        refused = [len(r.body) for r in posts if r.status == 413]
        assert refused == [1_000, 500, 250, 125]  # halved until Alephee took it
        accepted = [len(r.body) for r in posts if r.status == 200]
        assert max(accepted) == 62 and sum(accepted) == PRODUCTS
        assert sb.product("0001200")["Stock"]["Quantity"] == rows[-1][1]
        profile = json.loads((config.folders.state / "api-profile.json").read_text("utf-8"))
        assert profile["products_batch_cap"] == 62

        sb.reset_requests()
        drop(config, "stock-2.csv", export([(s, q + 1, p) for s, q, p in rows]))
        assert run(config) == 0  # the next run starts from the kept size: no 413 at all
        posts = [r for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert {r.status for r in posts} == {200}
        assert len(posts) == math.ceil(PRODUCTS / 62)
        assert sb.product("0001200")["Stock"]["Quantity"] == rows[-1][1] + 1


@pytest.mark.slow
def test_a_sigkill_between_a_batch_answer_and_its_bulk_record_loses_nothing(
    tmp_path: Path,
) -> None:
    with fast_sandbox(products_max_items=1_000) as sb:
        sb.load_catalog(make_catalog(450))
        config = setup(tmp_path, sb)
        text = config.source.read_text("utf-8")
        config.source.write_text(text.replace("[alephee]\n", "[alephee]\nbatch_size = 100\n"))
        rows = catalog_rows(450)
        drop(config, "stock-1.csv", export(rows))
        killed = run_cli(config, "once", crash_at="sync.after_post@3")  # the 3rd answer
        assert killed.returncode in (-9, 137), killed.stderr[-2000:]
        with sqlite3.connect(config.db_path) as conn:
            accepted = conn.execute(  # acknowledged, not seeded from the catalog download
                "SELECT COUNT(*) FROM accepted WHERE stock_as_of > ? OR price_as_of > ?",
                (SEED_AS_OF, SEED_AS_OF),
            ).fetchone()[0]
            queued = conn.execute("SELECT COUNT(DISTINCT sku) FROM queue").fetchone()[0]
        assert (accepted, queued) == (200, 250)  # two batches recorded, the third not

        again = run_cli(config, "once")
        assert again.returncode == 0, again.stderr[-2000:]
        with sqlite3.connect(config.db_path) as conn:
            assert conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 0
            held = dict(conn.execute("SELECT sku, quantity FROM accepted").fetchall())
        assert held == {sku: qty for sku, qty, _ in rows}
        for sku, qty, price in rows:
            product = sb.product(sku)
            assert product["Stock"]["Quantity"] == qty
            assert product["Price"][0]["PriceWithTaxes"] == pytest.approx(price)
