"""The queue holds the latest export's intent, at the right time: superseded changes are never
sent, a missed night slot waits for the next night (or the configured limit), and every count
is in changes. Real runs against the sandbox over HTTP, with an injected clock."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from connector.operator.status import collect, render
from connector.runner import Options, dry_run, open_state
from connector.sandbox import Fault
from tests.products_support import (
    brand_catalog,
    brand_export,
    brand_workspace,
    drop,
    price_of,
    run_once,
    sent_items,
    stock_of,
)
from tests.workspace_support import ROOT, fast_sandbox

NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires
NIGHT = NOON + timedelta(hours=13)  # 01:00 the next day, in the night slot (00:00-06:00)
AS_OF = 2_000_000_000.0
SKU = "0000003"


def queue_rows(config: object) -> list[tuple[object, ...]]:
    conn = open_state(config)  # type: ignore[arg-type]
    try:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT sku, brand, grp, quantity, price_with_taxes_e4 FROM queue ORDER BY sku"
            )
        ]
    finally:
        conn.close()


def test_a_price_that_goes_back_before_the_night_is_never_sent(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb)
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NIGHT - timedelta(days=1))[0] == 0  # at night: all goes
        assert price_of(sb, SKU, "ACME") == 1000.0
        sb.reset_requests()

        drop(config, "stock-2.csv", brand_export([(SKU, "ACME", 5, 1100.0)]), AS_OF + 60)
        code, summary = run_once(config, NOON)
        assert code == 0 and summary.deferred == 1 and sent_items(sb) == []
        assert queue_rows(config) == [(SKU, "ACME", "price", None, 11_000_000)]

        # Byte for byte the content of stock-1.csv: not a duplicate, since stock-2.csv came between.
        drop(config, "stock-3.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF + 120)
        code, summary = run_once(config, NOON + timedelta(hours=1))
        assert code == 0 and summary.duplicates == 0
        assert summary.superseded == 1 and summary.queued == 0
        assert queue_rows(config) == []
        assert run_once(config, NIGHT)[0] == 0
        assert sent_items(sb) == []  # 1100 never went out
        assert price_of(sb, SKU, "ACME") == 1000.0


def test_a_newer_price_replaces_the_deferred_one(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb)
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NIGHT - timedelta(days=1))[0] == 0
        sb.reset_requests()
        for n, price in enumerate((1100.0, 1200.0), start=2):
            drop(config, f"stock-{n}.csv", brand_export([(SKU, "ACME", 5, price)]), AS_OF + n)
            assert run_once(config, NOON)[0] == 0
        assert queue_rows(config) == [(SKU, "ACME", "price", None, 12_000_000)]
        assert run_once(config, NIGHT)[0] == 0
        prices = [item["Price"]["PriceWithTaxes"] for item in sent_items(sb)]
        assert prices == [1200.0]


def test_stock_that_goes_back_while_alephee_is_down_sends_the_latest(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, '[schedule]\nprice_changes = "now"\n')
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        sb.reset_requests()

        sb.inject(Fault("503", count=1000, endpoint="POST /v2/products"))
        drop(config, "stock-2.csv", brand_export([(SKU, "ACME", 6, 1000.0)]), AS_OF + 60)
        code, _ = run_once(config, NOON)
        assert code == 3  # Alephee unavailable: the change stays queued
        assert queue_rows(config) == [(SKU, "ACME", "stock", 6, None)]

        drop(config, "stock-3.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF + 120)
        sb.clear_faults()
        sb.reset_requests()
        assert run_once(config, NOON + timedelta(minutes=5))[0] == 0
        # 6 may have reached Alephee unanswered, so the accepted 5 goes again: never 6.
        assert [item["Stock"] for item in sent_items(sb)] == [{"Quantity": 5}]
        assert stock_of(sb, SKU, "ACME") == 5
        assert queue_rows(config) == []


def test_a_missed_night_waits_for_the_next_night_not_the_next_day(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb)
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0  # stock now, price for tonight
        sb.reset_requests()
        next_day = NOON + timedelta(days=1)  # the night passed without a run
        assert run_once(config, next_day)[0] == 0
        assert sent_items(sb) == []
        report = collect(config, now=next_day)
        shown = io.StringIO()
        render(report, config, Console(file=shown, width=200, color_system=None))
        assert "1 deferred changes missed their night slot" in shown.getvalue()
        queue = report["queue"]
        assert (queue["due"], queue["deferred"], queue["missed_night"]) == (0, 1, 1)
        assert queue["max_wait_hours"] == 48
        assert queue["next_deferred_at"].startswith("2026-11-25T03:00")  # the next night
        options = Options(progress=False, now=lambda: next_day)
        dry_run(config, options)
        assert "Would send now: nothing" in options.plan.lines
        assert run_once(config, NIGHT + timedelta(days=1))[0] == 0
        assert [item["Price"] for item in sent_items(sb)] == [{"PriceWithTaxes": 1000.0}]


def test_a_change_that_waited_past_the_limit_goes_by_day(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, "[schedule]\ndeferred_max_wait_hours = 20\n")
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        sb.reset_requests()
        assert run_once(config, NOON + timedelta(hours=19))[0] == 0  # 07:00: too early
        assert sent_items(sb) == []
        assert run_once(config, NOON + timedelta(hours=21))[0] == 0  # waited 21 h > 20
        assert [item["Price"] for item in sent_items(sb)] == [{"PriceWithTaxes": 1000.0}]


def test_a_stock_drop_to_zero_goes_at_once_even_after_a_missed_night(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, '[schedule]\nstock_changes = "night"\n')
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        assert sent_items(sb) == []  # everything waits for the night
        next_day = NOON + timedelta(days=1)
        drop(config, "stock-2.csv", brand_export([(SKU, "ACME", 0, 1000.0)]), AS_OF + 60)
        assert run_once(config, next_day)[0] == 0
        assert sent_items(sb) == [{"SKU": SKU, "Brand": "ACME", "Stock": {"Quantity": 0}}]
        assert stock_of(sb, SKU, "ACME") == 0


def test_every_count_is_in_changes(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, '[schedule]\nprice_changes = "now"\n')
        rows = [(f"000000{i}", "ACME", i, 10.0 * i) for i in range(3, 6)]
        drop(config, "stock-1.csv", brand_export(rows), AS_OF)
        code, summary = run_once(config, NOON)
        assert code == 0
        assert len(sent_items(sb)) == 3  # 3 products, each with its stock and its prices
        assert (summary.queued, summary.sent, summary.accepted) == (6, 6, 6)
        assert "changes queued 6 (deferred 0, superseded 0), changes sent 6 (accepted 6" in (
            summary.line()
        )
        report = collect(config, now=NOON)
        assert report["accepted"]["accepted"] == 6
        assert report["runs"][0]["summary"]["sent"] == 6


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_going_back_after_a_kill_between_the_post_and_its_record(tmp_path: Path) -> None:
    """Alephee applied 6 but the process died before recording it: going back to 5 must send 5
    (a drop of the queued 6 would leave Alephee at 6)."""
    with fast_sandbox() as sb:
        sb.load_catalog(brand_catalog())
        config = brand_workspace(tmp_path, sb, '[schedule]\nprice_changes = "now"\n')
        drop(config, "stock-1.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF)
        assert run_once(config, NOON)[0] == 0
        drop(config, "stock-2.csv", brand_export([(SKU, "ACME", 6, 1000.0)]), AS_OF + 60)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
        env.update(CONNECTOR_CRASH_AT="sync.after_post", PYTHONPATH=str(ROOT))
        command = ["once", str(config.source), NOON.isoformat()]
        child = subprocess.run(
            [sys.executable, "-m", "tests.products_support", *command],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
        assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
        assert stock_of(sb, SKU, "ACME") == 6  # applied, never recorded
        drop(config, "stock-3.csv", brand_export([(SKU, "ACME", 5, 1000.0)]), AS_OF + 120)
        sb.reset_requests()
        assert run_once(config, NOON)[0] == 0
        assert [item["Stock"] for item in sent_items(sb)] == [{"Quantity": 5}]
        assert stock_of(sb, SKU, "ACME") == 5
        assert queue_rows(config) == []
