"""A send that runs in the night slot stops sending what may wait when the slot ends: the rest
waits for the next night, unmarked, and what is due now (stock) still goes in the same pass.
Real passes against the sandbox over HTTP; the run's clock is injected and moves past the
slot's end after the first POST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.config import Config, load_config
from connector.runner import Options, once, open_state
from tests.products_support import brand_catalog, brand_export, brand_workspace, drop, run_once
from tests.workspace_support import fast_sandbox

NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires
NIGHT_END = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # 06:00 the next day: the slot ends
SKUS = [f"{i:07d}" for i in range(3, 9)]  # six ACME products (0000001-2 are under two brands)
AS_OF = 2_000_000_000.0


def posts(sb: object) -> list[list[dict[str, object]]]:
    return [r.body for r in sb.requests if r.endpoint == "POST /v2/products" and r.status]  # type: ignore[attr-defined]


def with_batch(config: Config, size: int) -> Config:
    """The workspace's connector.toml with ``[alephee] batch_size`` set, loaded again."""
    text = config.source.read_text(encoding="utf-8")
    config.source.write_text(text.replace("account_id =", f"batch_size = {size}\naccount_id ="))
    return load_config(config.source)


def queued(config: object) -> list[tuple[str, str, object]]:
    conn = open_state(config)  # type: ignore[arg-type]
    try:
        rows = conn.execute("SELECT sku, grp, sent_at FROM queue ORDER BY sku, grp")
        return [(r["sku"], r["grp"], r["sent_at"]) for r in rows]
    finally:
        conn.close()


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before_end=st.integers(1, 3))
def test_at_the_end_of_the_night_slot_prices_wait_and_stock_still_goes(
    tmp_path_factory: pytest.TempPathFactory, before_end: int
) -> None:
    """``before_end`` batches go while it is night; then the clock is past 06:00."""
    folder = tmp_path_factory.mktemp("night-end")
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog(8))
        config = with_batch(brand_workspace(folder, sb), 1)
        day_one = [(sku, "ACME", 5, 1000.0) for sku in SKUS]
        drop(config, "stock-1.csv", brand_export(day_one), AS_OF)
        assert run_once(config, NOON)[0] == 0  # stock now; the prices wait for the night
        assert len(queued(config)) == len(SKUS)
        sb.reset_requests()

        def clock() -> datetime:  # night until ``before_end`` POSTs were answered
            done = len(posts(sb))
            return NIGHT_END + (timedelta(minutes=1) if done >= before_end else -timedelta(hours=1))

        night = [(sku, "ACME", 7, 1000.0) for sku in SKUS]  # a stock change for each too
        drop(config, "stock-2.csv", brand_export(night), AS_OF + 3600)
        code, _ = once(config, Options(progress=False, now=clock))
        assert code == 0
        sent = posts(sb)
        assert all(len(body) == 1 for body in sent)  # batch_size 1: one product per call
        at_night, by_day = sent[:before_end], sent[before_end:]
        assert all("Price" in body[0] and "Stock" in body[0] for body in at_night)
        assert all("Price" not in body[0] and "Stock" in body[0] for body in by_day)
        assert sorted(b[0]["SKU"] for b in sent) == SKUS  # every stock change went
        left = queued(config)
        assert [(sku, grp) for sku, grp, _ in left] == [(sku, "price") for sku in SKUS[before_end:]]
        assert all(sent_at is None for _, _, sent_at in left)  # never posted: not marked


def test_a_whole_night_send_is_not_cut(tmp_path: Path) -> None:
    """Far from the slot's end nothing stops: every change goes in the pass."""
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog(8))
        config = with_batch(brand_workspace(tmp_path, sb), 2)
        drop(config, "stock-1.csv", brand_export([(s, "ACME", 5, 1000.0) for s in SKUS]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        sb.reset_requests()
        assert run_once(config, NIGHT_END - timedelta(hours=3))[0] == 0
        assert len(posts(sb)) == 3 and queued(config) == []
