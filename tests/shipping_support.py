"""A workspace with orders already written (so the ledger knows their OwnOrderId), and status
files and invoices the way an ERP writes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_orders
from tests.workspace_support import workspace

SHIPPING_METHOD_MARKETPLACE = 2


def written_orders(
    folder: Path, sb: Sandbox, n: int, extra: str = ""
) -> tuple[Config, list[dict[str, Any]]]:
    """``n`` orders in the sandbox, written to the outbox and marked by a real pass; every
    seventh (the 4th, 11th, ...) has its shipping handled by the marketplace."""
    orders = make_orders(n)
    for order in orders[3::7]:
        order["Shipping"]["Method"] = {
            "Key": SHIPPING_METHOD_MARKETPLACE,
            "Value": "Mercado Envíos",
        }
    sb.add_orders(orders)
    config = workspace(folder, sb, extra=extra)
    code, _ = once(config, Options(force_cycles=True, progress=False))
    assert code == 0
    return config, orders


def run_once(config: Config, **extra: Any) -> tuple[int, Any]:
    return once(config, Options(progress=False, **extra))


def marketplace_shipped(order: dict[str, Any]) -> bool:
    return bool(order["Shipping"]["Method"]["Key"] == SHIPPING_METHOD_MARKETPLACE)


def status_csv(rows: list[tuple[str, str, str]]) -> bytes:
    """Pedido;Estado;Guia in cp1252, as the example mapping reads it."""
    lines = ["Pedido;Estado;Guia", *(";".join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def drop(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(content)
    tmp.replace(path)
    return path


def pdf(text: str) -> bytes:
    """A small but well-formed PDF (header, one object, the end marker)."""
    body = f"1 0 obj << /Title ({text}) >> endobj\n"
    return f"%PDF-1.4\n{body}trailer << /Root 1 0 R >>\n%%EOF\n".encode("latin-1")


def status_puts(sb: Sandbox) -> list[list[dict[str, Any]]]:
    return [r.body for r in sb.requests if r.endpoint == "PUT /v2/orders" and r.status == 200]
