"""Builds realistic orders in the GET /v2/orders model: every nested section of the Swagger
sample, Spanish and Portuguese names with accents, ISO UTC dates with ``Z``.

Money adds up the way the docs describe: UnitPrice <= FullUnitPrice; the payment's
AmountNoDiscount is the items plus what the buyer paid for shipping, Amount is that minus coupons.
"""

from __future__ import annotations

import random
from typing import Any

from connector.sandbox import model
from connector.sandbox.model import iso_utc, key_value, status_fields
from connector.sandbox.order_parts import (
    address,
    buyer,
    claim,
    discount,
    invoice,
    person,
    stock_movement,
)

TITLES = ("Taladro percutor", "Llave ajustable", "Destornillador eléctrico", "Caja de herramientas")
MARKETPLACES = ((1, "Mercado Libre", "Mercado Libre"), (2, "Tienda Nube", "Tienda Nube"))


def order_item(
    item_id: int,
    sku: str,
    quantity: int,
    unit_price: float,
    *,
    type_key: int = model.ITEM_TYPE_PRODUCT,
    parent_id: int | None = None,
    title: str = "Producto",
    status: int = 10,
) -> dict[str, Any]:
    full_price = round(unit_price * 1.1, 2)  # the list price before the marketplace discount
    return {
        "Id": item_id,
        "Type": key_value(type_key, model.ITEM_TYPE_NAMES),
        "ParentItemId": parent_id,
        "Product": {
            "Id": item_id * 10,
            "Sku": sku,
            "Brand": "ACME",
            "SellerSku": sku,
            "EAN": f"779{item_id:010d}",
            "Attributes": {
                "NetWeight": {"Key": "kg", "Value": 1},
                "SalesTags": {"Text": "", "Items": [], "Delimiter": ","},
            },
            "Title": title,
            "IntegrationCode": f"IC-{sku}",
            "Category": {"Key": "MLA1234", "Value": "Herramientas"},
        },
        "ProductListing": {
            "Reference": f"REF-{item_id}",
            "Id": item_id,
            "ExternalId": f"MLA{item_id:09d}",
            "Title": title,
            "ListingType": {"Key": 1, "Value": "gold_special", "Description": "Clásica"},
            "PermanentLink": f"https://articulo.example/MLA{item_id:09d}",
        },
        "Quantity": quantity,
        "QuantitiesDetails": {
            "Requested": {"Key": "unidades", "Value": quantity},
            "Picked": {"Key": "unidades", "Value": 0},
            "StockMovements": [stock_movement(quantity)],
        },
        "UnitPrice": unit_price,
        "FullUnitPrice": full_price,
        "UnitPriceCost": round(unit_price * 0.6, 2),
        "CalculatedComponentUnitPrice": 0,
        "CalculatedComponentFullUnitPrice": 0,
        "SaleFee": round(unit_price * quantity * 0.13, 2),
        "Notes": "",
        **status_fields(status),
        "IsCancelled": False,
    }


def payment(
    rng: random.Random, items_total: float, shipping: float, when: float, *, coupon: float = 0.0
) -> dict[str, Any]:
    """The buyer pays items + shipping - coupon; AmountNoDiscount is before the coupon."""
    full = round(items_total + shipping, 2)
    total = round(full - coupon, 2)
    installments = rng.choice((1, 3, 6))
    return {
        "ExternalPaymentId": str(rng.randint(10**9, 10**10)),
        "Amount": total,
        "AmountNoDiscount": full,
        "ShippingAmount": shipping,
        "ShippingAmountNoDiscount": shipping,
        "TransactionAmount": total,
        "Total": total,
        "SubTotal": round(items_total, 2),
        "Installments": installments,
        "InstallmentAmount": round(total / installments, 2),
        "Notes": "",
        "CurrencySymbol": "$",
        "Method": {"Key": 1, "Value": "Tarjeta de crédito"},
        "Status": key_value(model.PAYMENT_APPROVED, model.PAYMENT_STATUS_NAMES),
        "Condition": {"Key": 1, "Value": "Contado" if installments == 1 else "Cuotas"},
        "Discounts": [discount(coupon)] if coupon else [],
        "Taxes": {"Amount": round(total * 0.21 / 1.21, 2), "CurrencySymbol": "$"},
        "AuthorizationCode": f"AUT{rng.randint(100000, 999999)}",
        "DateCreated": iso_utc(when),
        "DateApproved": iso_utc(when + 60),
        "LastUpdate": iso_utc(when + 60),
    }


def shipping(
    rng: random.Random, receiver: str, phone: str, when: float, *, own: bool
) -> dict[str, Any]:
    method = model.SHIPPING_METHOD_OWN if own else model.SHIPPING_METHOD_MARKETPLACE
    cost = 0.0 if not own else float(rng.choice((0, 1500, 2300)))
    return {
        "ExternalShippingId": rng.randint(10**10, 10**11),
        "Cost": cost,
        "ReceiverCost": cost,
        "SenderCost": 0,
        "Method": key_value(method, model.SHIPPING_METHOD_NAMES),
        "Status": {"Key": 1, "Value": "Pendiente"},
        "LogisticType": {"Key": 4, "Value": "custom"} if own else {"Key": 3, "Value": "me2"},
        "CourierInfo": {
            "BusinessName": "Correo Sandbox S.A.",
            "DocType": "CUIT",
            "DocNumber": "30-71234567-8",
            "LegalNumber": "",
            "OwnCode": "CORREO",
            "Address": address(rng, ""),
        },
        "ShippingLabels": {"SubStatus": "", "ShippingLabelUrlPdf": "", "ShippingLabelUrlZip": ""},
        "Pickup": {
            "Id": 0,
            "Name": "",
            "BusinessName": "",
            "ExternalPickupId": 0,
            "IntegrationCode": "",
            "SellerAccountId": 0,
        },
        "ReceiverAddress": address(rng, phone),
        "Receiver": {"Name": receiver, "Phone": phone},
        "EstimatedDeliveryDate": iso_utc(when + 3 * 86400),
        "DateCreated": iso_utc(when),
        "LastUpdated": iso_utc(when),
        "PackageInfo": {
            "Quantity": 1,
            "UnitType": 1,
            "Dimensions": {"Height": 10, "Width": 20, "Depth": 30, "MeasureType": 1},
            "Weight": {"Gross": 1.5, "Liquid": 1.2, "MeasureType": 1},
        },
    }


def build_order(
    order_id: int,
    rng: random.Random,
    items: list[dict[str, Any]],
    *,
    created: float,
    account_id: int = 1001,
    status: int = 10,
) -> dict[str, Any]:
    """An order around ``items``; buyer, payment, shipping and the rest are generated."""
    name = person(rng)
    market_id, market_name, channel = MARKETPLACES[order_id % len(MARKETPLACES)]
    own_shipping = market_id != 1 or order_id % 2 == 0
    ship = shipping(
        rng, person(rng), f"+54 11 5{rng.randint(100, 999)}-0000", created, own=own_shipping
    )
    items_total = sum(
        i["UnitPrice"] * i["Quantity"]
        for i in items
        if i["Type"]["Key"] != model.ITEM_TYPE_COMPONENT
    )
    coupon = 500.0 if order_id % 3 == 2 and items_total > 1000 else 0.0
    return {
        "Id": order_id,
        "ExternalOrderId": str(2_000_000_000 + order_id),
        "PackId": None,
        "SourcePackId": None,
        "SellerAccount": {
            "Id": account_id,
            "OwnCode": f"ACC-{account_id}",
            "Name": "Cuenta Sandbox",
            "BusinessName": "Sandbox S.A.",
        },
        "Items": items,
        "Payments": [payment(rng, items_total, ship["ReceiverCost"], created, coupon=coupon)],
        "Adjustments": [],
        "Shipping": ship,
        "Buyer": buyer(rng, name, 90000 + order_id),
        "Billing": {
            "SaleFee": round(items_total * 0.13, 2),
            "Invoice": {"DanfePdfUrl": "", "XmlUrl": ""},
        },
        "ActiveClaims": [claim(order_id, created)] if order_id % 7 == 6 else [],
        "Documents": [invoice(order_id, created)] if status == 20 else [],
        "ExternalJson": {},
        "Integrated": False,
        "IntegratedOrderId": None,
        "ErpStatus": None,
        "Notes": "",
        **status_fields(status),
        "MarketPlace": {"Key": market_id, "Value": market_name, "Channel": channel},
        "DateCreated": iso_utc(created),
        "LastUpdated": iso_utc(created + 120),
        "DateClosed": None,
        "IsCancelled": False,
        "Invoice": {"DanfePdfUrl": "", "XmlUrl": ""},
    }
