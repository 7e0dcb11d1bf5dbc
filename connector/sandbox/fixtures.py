"""Generated catalogs and orders for tests and ``connector demo``. Deterministic per seed.

Item types (the vendor's numbers are not public, see ``model``): a normal item has Type
``{"Key": ITEM_TYPE_PRODUCT (1), "Value": "Product"}``, a kit ``{"Key": ITEM_TYPE_KIT (2),
"Value": "Kit"}`` and each of its components ``{"Key": ITEM_TYPE_COMPONENT (3), "Value":
"Component"}`` with ``ParentItemId`` = the kit item's Id.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from connector.sandbox import model
from connector.sandbox.model import ITEM_TYPE_COMPONENT, ITEM_TYPE_KIT, ITEM_TYPE_PRODUCT
from connector.sandbox.order_fixtures import TITLES, build_order, order_item

__all__ = [
    "HOSTILE_STRINGS",
    "ITEM_TYPE_COMPONENT",
    "ITEM_TYPE_KIT",
    "ITEM_TYPE_PRODUCT",
    "cancelled_order",
    "cart_orders",
    "kit_order",
    "make_catalog",
    "make_orders",
    "pending_payment_order",
]

HOSTILE_STRINGS = (
    '=HYPERLINK("http://x","y")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
    "\tleading tab",
    'semi;colon "quote"\nnewline',
)
BASE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
PRODUCT_NAMES = ("Taladro", "Amoladora", "Sierra circular", "Lijadora", "Atornillador", "Pinza")
PRICE_LIST = {"Id": 1, "Name": "Lista general", "DiscountRate": 0}


def make_catalog(
    n: int, *, seed: int = 1, sku_prefix: str = "", start: int = 1, brand: str = "ACME"
) -> list[dict[str, Any]]:
    """``n`` ProductCatalog dicts. SKUs are text with leading zeros (``0000001``); every
    seventh product also has an OwnCode (``OC-00007``). CatalogStatus alternates between the
    documented ``{Id, Name}`` and the sample's ``{Key, Value}`` so readers handle both."""
    rng = random.Random(seed)
    return [_product(i, rng, sku_prefix, brand) for i in range(start, start + n)]


def _product(i: int, rng: random.Random, prefix: str, brand: str) -> dict[str, Any]:
    price = round(rng.uniform(500, 90000), 2)
    quantity = rng.randint(0, 200)
    return {
        "Identification": {
            "Id": 100_000 + i,
            "SKU": f"{prefix}{i:07d}",
            "OwnCode": f"OC-{i:05d}" if i % 7 == 0 else "",
            "Brand": {"Id": 1, "Name": brand},
            "Name": f"{rng.choice(PRODUCT_NAMES)} {brand} modelo {i}",
            # The doc page writes {Id, Name}, the Swagger sample {Key, Value}: ship both forms.
            "CatalogStatus": _catalog_status(i),
            "ProductType": {"Id": 1, "Name": "Normal"},
        },
        "Stock": {
            "Quantity": quantity,
            "B2BQuantity": 0,
            "PublishQuantity": quantity,
            "MinPublicationQuantity": 0,
            "MaxPublicationQuantity": 0,
            "MeasurableQuantity": None,
            "Alert": {"RedQty": 2, "YellowQty": 5},
        },
        "Price": [
            {
                "Price": round(price / 1.21, 4),
                "PriceWithTaxes": price,
                "SuggestedRetailPrice": round(price * 1.15, 2),
                "SuggestedRetailPriceAutoCalculated": False,
                "PriceAutoCalculated": False,
                "FinalPriceWithShippingCost": price,
                "B2BDiscountRate": 0,
                "SalesMargin": 0,
                "PriceList": dict(PRICE_LIST),
                "Cost": round(price * 0.55, 2),
            }
        ],
        "Kits": [],
        "KitComponents": [],
        "Publications": [],
    }


def _catalog_status(i: int) -> dict[str, Any]:
    return {"Key": 1, "Value": "Aprobado"} if i % 2 == 0 else {"Id": 1, "Name": "Aprobado"}


def make_orders(
    n: int,
    *,
    seed: int = 1,
    start_id: int = 5001,
    hostile: bool = False,
    skus: Sequence[str] | None = None,
    base_time: float = BASE_TIME,
) -> list[dict[str, Any]]:
    """``n`` not-integrated orders, ten minutes apart from ``base_time``. Items reference
    ``skus`` (default: those of ``make_catalog(50)``). With ``hostile``, every other order
    carries all of HOSTILE_STRINGS in its buyer, receiver and notes fields."""
    codes = list(skus) if skus else [f"{i:07d}" for i in range(1, 51)]
    orders = []
    for k in range(n):
        order_id = start_id + k
        rng = random.Random(seed * 1_000_003 + order_id)
        items = [
            order_item(
                order_id * 100 + line,
                rng.choice(codes),
                rng.randint(1, 3),
                round(rng.uniform(1000, 50000), 2),
                title=rng.choice(TITLES),
            )
            for line in range(1, rng.randint(1, 3) + 1)
        ]
        order = build_order(
            order_id, rng, items, created=base_time + 600 * k, status=20 if k % 5 == 4 else 10
        )
        if hostile and k % 2 == 0:
            _make_hostile(order, k)
        orders.append(order)
    return orders


def _make_hostile(order: dict[str, Any], k: int) -> None:
    fields = (
        (order["Buyer"], "Name"),
        (order["Buyer"], "Nickname"),
        (order["Shipping"]["Receiver"], "Name"),
        (order, "Notes"),
        (order["Buyer"]["Address"], "Notes"),
        (order["Shipping"]["ReceiverAddress"], "Notes"),
    )
    for index, (holder, name) in enumerate(fields):
        holder[name] = HOSTILE_STRINGS[(index + k) % len(HOSTILE_STRINGS)]


def kit_order(
    order_id: int = 7001,
    *,
    kit_sku: str = "KIT-0001",
    component_skus: Sequence[str] = ("0000001", "0000002"),
    seed: int = 1,
) -> dict[str, Any]:
    """An order with one KIT item followed by its COMPONENT items (book one level, never both)."""
    rng = random.Random(seed * 7 + order_id)
    kit_id = order_id * 100 + 1
    kit = order_item(
        kit_id, kit_sku, 1, 30000.0, type_key=ITEM_TYPE_KIT, title="Kit de herramientas"
    )
    items = [kit]
    for line, sku in enumerate(component_skus, start=2):
        component = order_item(
            order_id * 100 + line,
            sku,
            1,
            0.0,
            type_key=ITEM_TYPE_COMPONENT,
            parent_id=kit_id,
            title="Componente del kit",
        )
        share = round(30000.0 / len(component_skus), 2)  # prorated: components have no price
        component["CalculatedComponentUnitPrice"] = share
        component["CalculatedComponentFullUnitPrice"] = share
        items.append(component)
    return build_order(order_id, rng, items, created=BASE_TIME)


def cart_orders(
    pack_id: str = "2000001234", *, n: int = 2, complete: bool = False, start_id: int = 7101
) -> list[dict[str, Any]]:
    """Mercado Libre cart orders: one order per line, sharing PackId, buyer, payment and
    shipping. ``complete=False`` means siblings are still missing (wait and re-read)."""
    orders = make_orders(n, seed=3, start_id=start_id)
    first = orders[0]
    for order in orders:
        order.update(
            PackId=pack_id,
            SourcePackId=pack_id,
            IsCompletePackOrder=complete,
            MarketPlace={"Key": 1, "Value": "Mercado Libre", "Channel": "Mercado Libre"},
        )
        for shared in ("Buyer", "Payments", "Shipping"):
            order[shared] = copy.deepcopy(first[shared])
    return orders


def cancelled_order(order_id: int = 7201, *, status: int = 90) -> dict[str, Any]:
    """An order that arrives already cancelled (Status 90, StatusType 99, IsCancelled)."""
    order = make_orders(1, seed=5, start_id=order_id)[0]
    order.update(model.status_fields(status), IsCancelled=True)
    for item in order["Items"]:
        item.update(model.status_fields(status), IsCancelled=True)
    return order


def pending_payment_order(order_id: int = 7301) -> dict[str, Any]:
    """An order whose payment is not approved yet: hidden from GET orders until
    ``Sandbox.approve_payment`` (or includePendingPayments=true)."""
    order = make_orders(1, seed=6, start_id=order_id)[0]
    for payment in order["Payments"]:
        payment["DateApproved"] = None
        payment["Status"] = model.key_value(model.PAYMENT_PENDING, model.PAYMENT_STATUS_NAMES)
    return order
