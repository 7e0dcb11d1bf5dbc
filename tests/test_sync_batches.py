"""The largest batches Alephee accepts: 1,000 products tried first, halved on 413, and the size
that worked kept in state/api-profile.json for the next runs (against the sandbox's own cap)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from connector.sandbox.fixtures import make_catalog
from tests.test_sync import catalog_rows, drop, export, run, setup
from tests.workspace_support import fast_sandbox

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
