"""Shared helpers for the outbox tests: realistic orders, mappings on disk, CSV read-back."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from connector.orders.mapping import OrderMapping, load_order_mapping

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(__file__).parent / "data" / "outbox" / "swagger-orders-response.json"
DEFAULT_MAPPING = ROOT / "mappings" / "orders.toml"
PACKAGED_MAPPING = ROOT / "connector" / "data" / "mappings" / "orders.toml"
BUENOS_AIRES = ZoneInfo("America/Argentina/Buenos_Aires")
BOM = b"\xef\xbb\xbf"
LONG_ID = "2000012345678901234"  # 19 digits: Excel would keep only 15

HOSTILE_NAMES = [
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tleading tab",
    'a;b "c"\nd',
    "Núñez São",
]
# What each hostile name must read back as: the documented neutralised form.
HOSTILE_EXPECTED = [
    '\'=HYPERLINK("http://x","y")',
    "'+cmd|' /C calc'!A0",
    "'@SUM(1+1)",
    "'-2+3",
    "leading tab",  # the tab goes; nothing dangerous is left at the start
    'a;b "c" d',
    "Núñez São",
]


def sample_order() -> dict[str, Any]:
    order: dict[str, Any] = json.loads(SAMPLE.read_text("utf-8"))["Results"][0]
    return order


def item(
    item_id: int,
    sku: str,
    *,
    type_key: int = 1,
    parent: int | None = None,
    quantity: int = 1,
    price: float = 100.0,
    cancelled: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "Id": item_id,
        "Type": {"Key": type_key, "Value": {1: "Simple", 2: "Kit", 3: "Componente"}[type_key]},
        "ParentItemId": parent,
        "Product": {"Id": item_id * 10, "Sku": sku, "Title": f"Producto {sku}", "EAN": ""},
        "Quantity": quantity,
        "UnitPrice": price,
        "IsCancelled": cancelled,
        **extra,
    }


def kit_items() -> list[dict[str, Any]]:
    """A simple item plus a kit (12) sold with its two components (13, 14)."""
    return [
        item(11, "0012345", quantity=2, price=1234.5),
        item(12, "KIT-MATE", type_key=2, price=3000.0),
        item(13, "MATE-01", type_key=3, parent=12, price=0.0, CalculatedComponentUnitPrice=1800),
        item(14, "BOMB-01", type_key=3, parent=12, price=0.0, CalculatedComponentUnitPrice=1200),
    ]


def realistic_order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "Id": 5001,
        "ExternalOrderId": LONG_ID,
        "PackId": None,
        "MarketPlace": {"Key": 1, "Value": "Mercado Libre", "Channel": "Mercado Libre"},
        "DateCreated": "2025-01-31T17:05:09.123Z",
        "LastUpdated": "2025-02-01T02:30:00Z",
        "Status": {"Key": 10, "Value": "Pendiente de envío"},
        "StatusType": {"Key": 1, "Value": "Pending"},
        "IsCancelled": False,
        "Buyer": {
            "Name": "Núñez São",
            "DocType": "DNI",
            "DocNumber": "20123456",
            "Email": "comprador@example.com",
            "BillingInfo": {"DocType": "CUIT", "DocNumber": "20-20123456-3"},
        },
        "Items": kit_items(),
        "Payments": [{"Total": 7469.0, "ShippingAmount": 0.0}],
        "Shipping": {
            "ReceiverCost": 0,
            "LogisticType": {"Key": 3, "Value": "me2"},
            "ReceiverAddress": {
                "StreetName": "Av. 9 de Julio",
                "StreetNumber": "1020",
                "City": "CABA",
                "State": "Buenos Aires",
                "ZipCode": "C1043",
            },
        },
    }
    order.update(copy.deepcopy(overrides))
    return order


def write_mapping(folder: Path, text: str, name: str = "orders.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text_mapping(folder: Path, text: str) -> OrderMapping:
    return load_order_mapping(write_mapping(folder, text))


def default_mapping() -> OrderMapping:
    return load_order_mapping(DEFAULT_MAPPING)


def read_csv(path: Path, delimiter: str = ";") -> list[list[str]]:
    """Parse an outbox CSV the way a strict reader would; the BOM must be there."""
    data = path.read_bytes()
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
