"""``connector reconcile`` against the sandbox: it finds values changed in Alephee by hand and
values that never arrived, reports them in outbox/, sets the accepted state to what Alephee
holds, queues what the last export asks, and the next ``once`` repairs Alephee. A real SIGKILL
at each of its crash points loses nothing."""

from __future__ import annotations

import copy
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from connector.config import Config
from connector.operator.reconcile import run_reconcile, summary_lines
from connector.products import reconcile
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.test_seed import Row, alephee_rows, sent_skus
from tests.test_sync import drop, export, posts, run, setup
from tests.workspace_support import fast_sandbox, outbox_rows, run_cli

HAND, LOST, UNANSWERED, SEEDED = "0000002", "0000003", "0000011", "0000021"


def synced(tmp_path: Path, sb: Sandbox) -> tuple[Config, list[Row], list[dict[str, Any]]]:
    """A first sync (products 1-5 differed and were sent), then Alephee drifts: a hand change
    of a sent value (HAND), a sent value lost (LOST), a value queued and sent without an answer
    that Alephee does not hold (UNANSWERED), and a hand change of a seeded value (SEEDED)."""
    catalog = make_catalog(30)
    sb.load_catalog(catalog)
    config = setup(tmp_path, sb)
    rows = alephee_rows(catalog)
    for i in range(5):
        sku, qty, price = rows[i]
        rows[i] = (sku, qty + 10, price)
    drop(config, "stock-1.csv", export(rows))
    assert run(config) == 0
    assert len(sent_skus(sb)) == 5
    sb.reset_requests()
    hand = _with_stock(catalog[1], 999)
    lost = _with_stock(catalog[2], catalog[2]["Stock"]["Quantity"])  # the value before the sync
    seeded = _with_stock(catalog[20], 555)
    sb.load_catalog([hand, lost, seeded])
    with _db(config) as conn:
        conn.execute(
            "INSERT INTO queue (sku, brand, grp, quantity, due_at, slot, reason, as_of, "
            "enqueued_at, sent_at) SELECT sku, brand, 'stock', 77, '2000-01-01T00:00:00.000000Z',"
            " 'now', 'stock change', stock_as_of, updated_at, updated_at FROM accepted "
            "WHERE sku = ?",
            (UNANSWERED,),
        )
    return config, rows, catalog


def _with_stock(product: dict[str, Any], quantity: int) -> dict[str, Any]:
    changed = copy.deepcopy(product)
    changed["Stock"]["Quantity"] = quantity
    return changed


def _db(config: Config) -> sqlite3.Connection:
    conn = sqlite3.connect(config.db_path)
    conn.row_factory = sqlite3.Row
    return conn


def _state(config: Config) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with _db(config) as conn:
        accepted = conn.execute("SELECT * FROM accepted ORDER BY sku, brand").fetchall()
        queue = conn.execute("SELECT * FROM queue ORDER BY sku, brand, grp").fetchall()
    return [tuple(r) for r in accepted], [tuple(r) for r in queue]


def _stock(sb: Sandbox, sku: str) -> int:
    return int(sb.product(sku)["Stock"]["Quantity"])


def test_reconcile_reports_hand_changes_and_lost_values_and_the_next_once_repairs_them(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        config, rows, _ = synced(tmp_path, sb)
        wanted = {sku: qty for sku, qty, _ in rows}
        outcome = run_reconcile(config)
        assert outcome.code == 0
        assert posts(sb) == []  # reconcile only reads Alephee
        report = {r["sku"]: r for r in outbox_rows(config, "reconcile")}
        assert set(report) == {HAND, LOST, UNANSWERED, SEEDED}
        assert all(r["field"] == "quantity" for r in report.values())
        assert report[HAND]["in Alephee"] == "999"
        assert report[HAND]["last export asks"] == str(wanted[HAND])
        assert report[HAND]["reconcile did"] == reconcile.QUEUED
        assert report[LOST]["reconcile did"] == reconcile.QUEUED
        assert report[UNANSWERED]["last export asks"] == "77"
        assert report[UNANSWERED]["reconcile did"] == reconcile.ALREADY_QUEUED
        assert report[SEEDED]["in Alephee"] == "555"
        assert report[SEEDED]["last export asks"] == ""
        assert report[SEEDED]["reconcile did"] == reconcile.NO_EXPORT
        with _db(config) as conn:  # the accepted state is what Alephee holds
            accepted = dict(conn.execute("SELECT sku, quantity FROM accepted").fetchall())
        assert accepted[HAND] == 999 and accepted[SEEDED] == 555
        assert any(
            "Drift: 4 values of 4 products" in line
            for line in summary_lines(outcome, dry_run=False)
        )

        assert run(config) == 0
        assert sorted(sent_skus(sb)) == sorted([HAND, LOST, UNANSWERED])
        assert _stock(sb, HAND) == wanted[HAND] and _stock(sb, LOST) == wanted[LOST]
        assert _stock(sb, UNANSWERED) == 77
        assert _stock(sb, SEEDED) == 555  # no export asked: the next one that differs goes
        again = run_reconcile(config)
        assert again.code == 0 and again.report.drift == []


def test_a_dry_run_reconcile_changes_nothing(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config, _, _ = synced(tmp_path, sb)
        before = _state(config)
        done = run_cli(config, "reconcile", "--dry-run")
        assert done.returncode == 0, done.stderr
        assert "Drift: 4 values of 4 products" in done.stdout and "would be" in done.stdout
        assert _state(config) == before
        assert outbox_rows(config, "reconcile") == []
        assert posts(sb) == []


@pytest.mark.parametrize("point", ["reconcile.after_refresh", "reconcile.after_report"])
def test_a_kill_inside_reconcile_loses_nothing(tmp_path: Path, point: str) -> None:
    with fast_sandbox() as sb:
        config, rows, _ = synced(tmp_path, sb)
        wanted = {sku: qty for sku, qty, _ in rows}
        before = _state(config)
        crashed = run_cli(config, "reconcile", crash_at=point)
        assert crashed.returncode in (-9, 137), crashed.stderr
        reports = len(list(config.folders.outbox.glob("reconcile-*.csv")))
        assert reports == (1 if point == "reconcile.after_report" else 0)
        assert _state(config)[1] == before[1]  # nothing queued yet
        done = run_cli(config, "reconcile")
        assert done.returncode == 0, done.stderr
        assert len(list(config.folders.outbox.glob("reconcile-*.csv"))) == reports + 1
        assert {r["sku"] for r in outbox_rows(config, "reconcile")} == {
            HAND,
            LOST,
            UNANSWERED,
            SEEDED,
        }
        assert run(config) == 0
        assert _stock(sb, HAND) == wanted[HAND] and _stock(sb, LOST) == wanted[LOST]
        assert _stock(sb, UNANSWERED) == 77


def test_reconcile_without_drift_writes_no_report(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        catalog = make_catalog(10)
        sb.load_catalog(catalog)
        config = setup(tmp_path, sb)
        drop(config, "stock-1.csv", export(alephee_rows(catalog)))
        assert run(config) == 0
        done = run_cli(config, "reconcile")
        assert done.returncode == 0, done.stderr
        assert "No drift" in done.stdout
        assert outbox_rows(config, "reconcile") == []
