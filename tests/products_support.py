"""A workspace whose products mapping has a brand column, a catalog with one code under two
brands, and small helpers to drop exports and read what Alephee (the sandbox) received."""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.config import Config
from connector.runlog import RunSummary
from connector.runner import Options, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.workspace_support import workspace

BRAND_MAPPING = """
kind = "products"
name = "brands"
files = ["stock*.csv"]
encoding = "cp1252"
delimiter = ";"
decimal = ","
thousands = "."

[columns]
sku = "Codigo"
brand = "Marca"
quantity = "Stock"
price_with_taxes = "Precio"
"""
PLAIN_MAPPING = BRAND_MAPPING.replace('brand = "Marca"\n', "")
DUP = "0000001"  # under ACME and under BOSCH
Row = tuple[str, str, int, float]  # sku, brand, stock, price with taxes


def brand_catalog(n: int = 5) -> list[dict[str, Any]]:
    """``n`` ACME products, and BOSCH products with the codes 0000001 and 0000002 too."""
    bosch = []
    for product in make_catalog(2, brand="BOSCH", seed=2):
        product = copy.deepcopy(product)
        product["Identification"]["Id"] += 100_000
        product["Identification"]["Brand"] = {"Id": 2, "Name": "BOSCH"}
        bosch.append(product)
    return make_catalog(n, brand="ACME") + bosch


def brand_workspace(
    folder: Path, sb: Sandbox, extra: str = "", mapping: str = BRAND_MAPPING
) -> Config:
    config = workspace(folder, sb, extra="[orders]\nenabled = false\n" + extra)
    for path in config.folders.mappings.glob("*.toml"):
        if path.name != "orders.toml":
            path.unlink()
    (config.folders.mappings / "brands.toml").write_text(mapping, encoding="utf-8")
    return config


def money(value: float) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + f",{cents}"


def brand_export(rows: Sequence[Row]) -> bytes:
    lines = ["Codigo;Marca;Stock;Precio"]
    lines += [f"{sku};{brand};{qty};{money(price)}" for sku, brand, qty, price in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def drop(config: Config, name: str, content: bytes, mtime: float) -> Path:
    """An export in the inbox; ``mtime`` is its as-of time (never the wall clock)."""
    path = config.folders.inbox / name
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))
    return path


def run_once(config: Config, at: datetime, **extra: Any) -> tuple[int, RunSummary]:
    return once(config, Options(progress=False, now=lambda: at, **extra))


def sent_items(sb: Any) -> list[dict[str, Any]]:
    """Every item of every answered POST /v2/products, in order."""
    return [
        item
        for record in sb.requests
        if record.endpoint == "POST /v2/products" and record.status
        for item in record.body
    ]


def stock_of(sb: Any, sku: str, brand: str) -> int:
    return int(sb.product(sku, brand)["Stock"]["Quantity"])


def price_of(sb: Any, sku: str, brand: str) -> float:
    prices = sb.product(sku, brand)["Price"]
    return float(next(p for p in prices if p["PriceList"]["Id"] == 1)["PriceWithTaxes"])


def child_once(config_path: str, now_iso: str) -> int:
    """One ``once`` pass at an injected moment, in this process (run as a child that a crash
    point may SIGKILL): ``python -m tests.products_support once CONFIG NOW``."""
    from connector.config import load_config
    from connector.logs import setup_logging

    config = load_config(Path(config_path))
    setup_logging(config.log_dir)
    moment = datetime.fromisoformat(now_iso)
    code, _ = once(config, Options(progress=False, now=lambda: moment))
    return code


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["once"] or len(sys.argv) != 4:
        raise SystemExit("usage: python -m tests.products_support once CONFIG NOW")
    raise SystemExit(child_once(sys.argv[2], sys.argv[3]))
