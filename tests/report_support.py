"""A site after a real run against the sandbox that leaves something of everything for the
report: a failed file with a hostile name, a rejected row, products Alephee refused, orders
(one from a buyer whose nickname is markup), deferred prices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox.fixtures import make_catalog, make_orders
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
