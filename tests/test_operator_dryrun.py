"""``once --dry-run``: no POST/PUT, no file moved, state untouched, and the numbers a real run
then sends."""

from __future__ import annotations

import csv
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.alephee.client import AlephClient
from connector.config import Config
from connector.dryrun.recorder import RecordingClient
from connector.operator.status import collect
from connector.runner import Options, dry_run, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.operator_support import catalog_rows, drop, export, money, run_connector, setup
from tests.workspace_support import fast_sandbox

NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires: prices wait
NIGHT = NOON + timedelta(hours=13)  # 01:00 local, inside the night slot


def writes(sb: Sandbox) -> list[str]:
    return [r.endpoint for r in sb.requests if r.method in ("POST", "PUT", "DELETE")]


def posted(sb: Sandbox) -> list[dict[str, object]]:
    return [
        item
        for r in sb.requests
        if r.endpoint == "POST /v2/products" and r.status == 200
        for item in r.body
    ]


def inbox_and_archive(config: Config) -> tuple[list[str], list[Path]]:
    inbox = sorted(p.name for p in config.folders.inbox.iterdir())
    return inbox, [p for p in config.folders.archive.rglob("*") if p.is_file()]


def plan_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=";"))


def test_dry_run_touches_nothing_and_matches_what_the_real_run_sends(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(60))
        sb.add_orders(make_orders(4))
        config = setup(tmp_path, sb)
        rows = [*catalog_rows(50), ("9990001", "4", "1.200,00"), ("0000055", "-3", "10,00")]
        drop(config, "stock-1.csv", export(rows))
        drop(config, "stock-bad.csv", export(catalog_rows(2)).replace(b"Stock", b"Existencias"))
        before = inbox_and_archive(config)
        options = Options(progress=False, now=lambda: NOON)
        code, summary = dry_run(config, options)

        assert code == 1  # the real run would report rejected rows too
        assert writes(sb) == []  # only GETs: the catalog and the orders
        assert inbox_and_archive(config) == before
        queue = collect(config, now=NOON)["queue"]
        assert queue["due"] == queue["deferred"] == 0  # the state database is untouched
        plan = options.plan
        assert plan.sending is not None
        assert plan.sending.products_now == 50 and plan.sending.now == {"stock": 50, "price": 0}
        assert plan.sending.later == {"stock": 0, "price": 50}
        lines = "\n".join(plan.lines)
        assert (
            "stock-1.csv: 52 rows: 50 stock changes, 50 price changes deferred to 00:00, " in lines
        )
        assert "1 not in catalog, 1 rejected rows" in lines
        assert "Would send now: 50 products in 1 call(s)" in lines
        assert "Orders: would write 4 new orders" in lines
        assert "stock-bad.csv: would go to failed/: column 'Stock' not found" in lines
        assert summary.files_failed == 1
        assert plan.report is not None and plan.report.parent == config.folders.outbox
        listed = plan_rows(plan.report)
        assert len(listed) == 100
        first = next(r for r in listed if r["sku"] == "0000001" and r["change"] == "stock")
        assert first["quantity"] == "11" and first["goes"] == "now" and first["line"] == "3"
        price = next(r for r in listed if r["sku"] == "0000002" and r["change"] == "price")
        assert price["price_with_taxes"] == "1002,5" and price["goes"] == "00:00"
        assert not list(config.folders.outbox.glob("rejects-*")), "a dry run writes no report"
        assert not list(config.folders.outbox.glob("orders-*"))

        sb.reset_requests()
        code2, real = once(config, Options(progress=False, now=lambda: NOON))
        sent = posted(sb)
        assert code2 == 1
        assert len(sent) == plan.sending.products_now
        assert sum(1 for item in sent if "Stock" in item) == plan.sending.now["stock"]
        assert real.deferred == plan.sending.later["price"] == summary.deferred
        assert real.orders_written == summary.orders_written == 4
        assert (real.rows, real.rejected) == (summary.rows, summary.rejected)
        assert (real.files, real.files_failed) == (summary.files, summary.files_failed) == (2, 1)


def test_files_of_one_dry_run_see_each_other_as_in_a_real_pass(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(40))
        config = setup(tmp_path, sb, extra="[orders]\nenabled = false\n")
        drop(config, "stock-1.csv", export(catalog_rows(40)), mtime=1_900_000_000)
        first = NIGHT - timedelta(minutes=30)  # inside the night slot: prices go at once too
        assert once(config, Options(progress=False, now=lambda: first))[0] == 0
        assert len(posted(sb)) == 40
        stock2 = export(
            [(s, str(int(q) + 1) if int(s) <= 20 else q, p) for s, q, p in catalog_rows(40)]
        )
        drop(config, "stock-2.csv", stock2, mtime=1_900_000_100)
        drop(config, "stock-2-again.csv", stock2, mtime=1_900_000_150)  # same content
        later = [
            (s, q, money(2000 + int(s))) if 30 < int(s) <= 35 else (s, q, p)
            for s, q, p in catalog_rows(40)
        ]
        later = [(s, str(int(q) + 1) if int(s) <= 20 else q, p) for s, q, p in later]
        drop(config, "stock-3.csv", export(later, title="Otra"), mtime=1_900_000_200)
        old = [(s, "0", p) for s, _, p in catalog_rows(40)]  # older than every accepted value
        drop(config, "stock-0.csv", export(old, title="Vieja"), mtime=1_800_000_000)
        sb.reset_requests()
        options = Options(progress=False, now=lambda: NIGHT)
        dry_run(config, options)
        assert writes(sb) == []
        lines = "\n".join(options.plan.lines)
        assert "stock-2-again.csv: same content as a file already processed" in lines
        assert re.search(
            r"stock-0\.csv: 40 rows: nothing to send.*80 values older than what Alephee",
            lines,
        )
        assert options.plan.sending is not None
        assert options.plan.sending.products_now == 25
        assert options.plan.sending.now == {"stock": 20, "price": 5}

        code, summary = once(config, Options(progress=False, now=lambda: NIGHT))
        sent = posted(sb)
        assert code == 0 and summary.duplicates == 1
        assert len(sent) == 25
        assert sum(1 for item in sent if "Price" in item) == 5


def test_dry_run_from_the_command_line(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(30))
        config = setup(tmp_path / "site", sb, extra="[orders]\nenabled = false\n")
        drop(config, "stock-20261123.csv", export([*catalog_rows(30), ("9990001", "1", "9,00")]))
        done = run_connector(config, "once", "--dry-run")
        assert done.returncode == 1, (done.stdout + done.stderr)[-2000:]
        out = done.stdout
        assert out.startswith("Dry run: nothing is sent to Alephee")
        assert "stock-20261123.csv: 31 rows: 30 stock changes" in out
        found = re.search(r"Would send now: (\d+) products", out)
        assert found, out
        assert writes(sb) == []
        assert [p.name for p in config.folders.inbox.iterdir()] == ["stock-20261123.csv"]
        assert len(list(config.folders.outbox.glob("dry-run-*.csv"))) == 1
        last = out.strip().splitlines()[-1]  # every count of a dry run says "would"
        assert last.startswith("Dry run, nothing was sent, written or moved: files 1 (would fail")
        assert "would queue" in last and "would send" in last and "sent 0" not in last

        sb.reset_requests()
        real = run_connector(config, "once")
        assert real.returncode == 1, (real.stdout + real.stderr)[-2000:]
        assert len(posted(sb)) == int(found[1])  # prices go now only inside the night slot
        assert list(config.folders.inbox.iterdir()) == []


# -- the dry run is the real pass, rehearsed ----------------------------------------------------


def state_dump(config: Config) -> list[str]:
    conn = sqlite3.connect(config.db_path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_the_rehearsal_records_every_effect_and_changes_no_state(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(10))
        sb.add_orders(make_orders(2))
        config = setup(tmp_path, sb)
        assert once(config, Options(progress=False, now=lambda: NOON))[0] == 0  # state exists
        drop(config, "stock-2.csv", export([*catalog_rows(10, bump=3), ("0000004", "-1", "1,00")]))
        sb.add_orders(make_orders(3, start_id=900))
        before, files = state_dump(config), inbox_and_archive(config)
        sb.reset_requests()
        options = Options(progress=False, now=lambda: NOON + timedelta(hours=1), force_cycles=True)
        code, _ = dry_run(config, options)

        assert code == 1 and writes(sb) == []
        assert state_dump(config) == before and inbox_and_archive(config) == files
        plan = options.plan
        assert any(e.startswith("move ") and "stock-2.csv" in e for e in plan.effects)
        assert any(e.startswith("write ") and "rejects-" in e for e in plan.effects)
        assert any(e.startswith("write ") and "orders-" in e for e in plan.effects)
        endpoints = [w.endpoint for w in plan.writes]
        assert "POST /v2/products" in endpoints and "PUT /v2/orders/integrate" in endpoints
        marked = [i["OrderId"] for w in plan.writes if "integrate" in w.endpoint for i in w.items]
        assert sorted(marked) == [900, 901, 902]
        rehearsed = [r.getMessage() for r in caplog.records if "stock-2.csv" in r.getMessage()]
        assert rehearsed and all(m.startswith("dry run: ") for m in rehearsed)


def test_every_write_of_the_client_has_a_recorder() -> None:
    reads = {
        *("accounts", "price_lists", "iter_catalog", "iter_catalog_rows", "orders_page"),
        "get_json",
        *("count", "new_run", "close", "prepare"),
    }
    public = {n for n, v in vars(AlephClient).items() if callable(v) and not n.startswith("_")}
    recorded = {n for n in vars(RecordingClient) if not n.startswith("_")}
    assert public - reads - recorded == set(), "a new Alephee write needs a dry-run recorder"


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    changes=st.lists(
        st.tuples(st.integers(1, 12), st.integers(-2, 60), st.sampled_from([0.0, 0.5, 99.9])),
        max_size=14,
    ),
    hour=st.integers(0, 23),
)
def test_a_dry_run_predicts_exactly_what_the_real_run_sends(
    tmp_path_factory: pytest.TempPathFactory, changes: list[tuple[int, int, float]], hour: int
) -> None:
    moment = datetime(2026, 11, 23, hour, 7, tzinfo=UTC)
    rows = {f"{i:07d}": (10 + i, 1000 + i * 1.25) for i in range(1, 13)}

    def exported(values: dict[str, tuple[int, float]]) -> bytes:
        return export([(s, str(q), money(p)) for s, (q, p) in values.items()])

    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(12))
        config = setup(tmp_path_factory.mktemp("site"), sb, extra="[orders]\nenabled = false\n")
        drop(config, "stock-1.csv", exported(rows), mtime=1_900_000_000)
        assert once(config, Options(progress=False, now=lambda: moment))[0] == 0
        for part, when in ((changes[::2], 1_900_000_100), (changes[1::2], 1_900_000_200)):
            for n, stock, bump in part:  # two later exports, each changing a few products
                sku = f"{n:07d}"
                rows[sku] = (stock, rows[sku][1] + bump)
            drop(config, f"stock-{when}.csv", exported(rows), mtime=when)
        sb.reset_requests()
        later = moment + timedelta(minutes=5)
        options = Options(progress=False, now=lambda: later)
        dry_code, dry = dry_run(config, options)
        predicted = [
            i for w in options.plan.writes if w.endpoint == "POST /v2/products" for i in w.items
        ]
        assert writes(sb) == []
        real_code, real = once(config, Options(progress=False, now=lambda: later))
        assert posted(sb) == predicted
        assert (dry_code, dry.rejected, dry.queued) == (real_code, real.rejected, real.queued)
