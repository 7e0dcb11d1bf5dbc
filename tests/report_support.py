"""Helpers for the report tests: a site after a real run against the sandbox that leaves
something of everything (a failed file with a hostile name, a rejected row, products Alephee
refused, orders, one from a buyer whose nickname is markup), synthetic facts, a plain site."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector.config import Config, load_config
from connector.report import gather, write_report
from connector.report.facts import Day, Facts, FailedFile, Order, Refusal, Run
from connector.runner import Options, once, open_state
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.conftest import write_config
from tests.operator_support import catalog_rows, drop, export, setup
from tests.workspace_support import fast_sandbox

NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
HOSTILE_FILE = "stock-<img src=x onerror=alert(1)>&amp;.csv"
HOSTILE_HEADER = "<script>alert('file')</script>"
HOSTILE_BUYER = "<script>alert('buyer')</script>"
# Alephee refuses every price: the sandbox allows no PriceWithTaxes-only change here.
ONLY_NET_PRICES = frozenset({frozenset({"Price"})})


def site_config(locale: str, extra: str = "") -> str:
    return (
        f"\n[schedule]\nprice_changes = \"now\"\n[outbox]\nlocale = \"{locale}\"\n{extra}"
    )


def busy_site(folder: Path, *, locale: str = "es-AR", extra: str = "") -> Config:
    """One ``once`` at NOON; returns the config (the sandbox is stopped afterwards)."""
    with fast_sandbox(price_combinations=ONLY_NET_PRICES) as sb:
        sb.load_catalog(make_catalog(20))
        orders = make_orders(3)
        orders[1]["Buyer"]["Nickname"] = HOSTILE_BUYER
        sb.add_orders(orders)
        config = setup(folder, sb, site_config(locale, extra))
        mapping = config.folders.mappings / "orders.toml"
        text = mapping.read_text(encoding="utf-8")
        mapping.write_text(
            text.replace('own_order_id = "ALE-{Id}"', 'own_order_id = "{Id}-{Buyer.Nickname}"'),
            encoding="utf-8",
        )
        # 20 catalog rows (prices refused by Alephee) plus one SKU Alephee does not know
        drop(config, "stock-1.csv", export([*catalog_rows(20), ("9990001", "1", "5,00")]))
        # the file's own header text comes back in the reason of the failure
        bad = export(catalog_rows(2)).replace(b"Stock", HOSTILE_HEADER.encode("cp1252"))
        drop(config, HOSTILE_FILE, bad)
        code, _ = once(config, Options(progress=False, now=lambda: NOON))
        assert code == 1
    return config


def page_of(config: Config, now: datetime = NOON) -> tuple[str, Facts]:
    conn = open_state(config)
    try:
        facts = gather(conn, config, now)
        path = write_report(conn, config, now, facts)
    finally:
        conn.close()
    return path.read_text(encoding="utf-8"), facts


CONFIG = Config.model_validate({"alephee": {"api_key": "unused-key", "account_id": 1}})


def synthetic(text: str) -> Facts:
    """Facts where every field a file, a buyer or Alephee can fill holds ``text``."""
    run = Run(
        mode="once",
        started_at=NOON,
        finished_at=NOON,
        exit_code=3,
        counts={"files": 1, "sent": 2, "seconds": 1.5},
        message=text,
    )
    return Facts(
        now=NOON,
        config=CONFIG,
        runs=[run],
        days=_days(),
        failed_files=[FailedFile(text, NOON, text, text, True)],
        file_counts={"failed": 1},
        refusals=[Refusal(text, text, text, NOON)],
        refused_total=1,
        queue={"due": 0, "deferred": 1, "next_deferred_at": None, "by_group": {}},
        upcoming=[(NOON, 0, 1)],
        old_deferred=(1, NOON - timedelta(days=3)),
        orders={"marked": 1},
        recent_orders=[Order(1, text, text, NOON, text)],
        last_contact=None,
    )


def _days() -> list[Day]:
    days = [Day((NOON - timedelta(days=n)).date()) for n in range(30)]
    days[0].add(Run("once", NOON, NOON, 0, {"sent": 3, "rejected": 1}, ""))
    return days


def plain_site(tmp_path: Path) -> Config:
    folder = tmp_path / "plain"
    folder.mkdir(exist_ok=True)
    write_config(folder, "http://127.0.0.1:9")
    return load_config(folder / "connector.toml")
