"""The generated fixtures, and the vendor's Swagger samples served back by the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.fixtures import (
    HOSTILE_STRINGS,
    ITEM_TYPE_COMPONENT,
    ITEM_TYPE_KIT,
    ITEM_TYPE_PRODUCT,
    cancelled_order,
    cart_orders,
    kit_order,
    make_catalog,
    make_orders,
    pending_payment_order,
)
from tests.test_sandbox_support import auth, running

# Copies of ../shared/samples (the vendor-shaped payloads), kept with the tests so they always run.
SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
ORDERS_SAMPLE = SAMPLES / "swagger-orders-response.json"
PRODUCTS_SAMPLE = SAMPLES / "swagger-products-response.json"
needs_samples = pytest.mark.skipif(
    not ORDERS_SAMPLE.exists(), reason="tests/data/samples is missing"
)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every nested key path of a JSON value (list items collapsed to ``[]``)."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.add(prefix + key)
            paths |= key_paths(inner, f"{prefix}{key}.")
    elif isinstance(value, list):
        for inner in value:
            paths |= key_paths(inner, f"{prefix}[].")
    return paths


@needs_samples
def test_samples_load_and_are_served_back() -> None:
    order = json.loads(ORDERS_SAMPLE.read_text(encoding="utf-8"))["Results"][0]
    product = json.loads(PRODUCTS_SAMPLE.read_text(encoding="utf-8"))["Results"][0]
    with running() as (sandbox, client):
        sandbox.add_orders([order])
        sandbox.load_catalog([product])
        served_orders = client.get("/v2/orders", params=auth(Integrated="true")).json()["Results"]
        assert served_orders == [order]
        served = client.get("/v2/products", params=auth(sku="string")).json()["Results"]
        assert len(served) == 1
        expected = json.loads(json.dumps(product))
        expected["Identification"]["Id"] = served[0]["Identification"]["Id"]  # Id 0 -> assigned
        del expected["Stock"]["Movement"]  # GET never returns Movement
        for component in expected["KitComponents"]:
            del component["Stock"]["Movement"]
        assert served[0] == expected
        update = [{"SKU": "string", "Stock": {"Quantity": 3}, "Price": {"Price": 10}}]
        assert client.post("/v2/products", params=auth(), json=update).status_code == 200


@needs_samples
def test_generated_orders_have_every_section_of_the_sample() -> None:
    sample = json.loads(ORDERS_SAMPLE.read_text(encoding="utf-8"))["Results"][0]
    orders = [*make_orders(10), kit_order(), cancelled_order(), pending_payment_order()]
    orders += cart_orders()
    generated = set().union(*(key_paths(order) for order in orders))
    optional = ("Adjustments.",)  # B2B-portal orders only: the fixtures are marketplace orders
    wanted = {p for p in key_paths(sample) if not any(o in p for o in optional)}
    assert wanted - generated == set()


@needs_samples
def test_generated_catalog_has_every_section_of_the_sample() -> None:
    sample = json.loads(PRODUCTS_SAMPLE.read_text(encoding="utf-8"))["Results"][0]
    generated = key_paths(make_catalog(2)[0]) | key_paths(make_catalog(2)[1])
    optional = ("Kits.", "KitComponents.", "Publications.", "Stock.Movement", "MeasurableQuantity.")
    wanted = {p for p in key_paths(sample) if not any(o in p for o in optional)}
    assert wanted - generated == set()


def test_catalog_skus_are_text_with_leading_zeros_and_some_own_codes() -> None:
    catalog = make_catalog(14, sku_prefix="P-", start=1)
    skus = [p["Identification"]["SKU"] for p in catalog]
    assert skus[0] == "P-0000001" and all(isinstance(s, str) for s in skus)
    assert [p["Identification"]["OwnCode"] for p in catalog if p["Identification"]["OwnCode"]] == [
        "OC-00007",
        "OC-00014",
    ]
    assert make_catalog(3, seed=4) == make_catalog(3, seed=4)
    assert make_catalog(3, seed=4) != make_catalog(3, seed=5)


def test_orders_are_realistic_and_deterministic() -> None:
    orders = make_orders(6, seed=2)
    assert orders == make_orders(6, seed=2)
    assert [o["Id"] for o in orders] == [5001, 5002, 5003, 5004, 5005, 5006]
    names = " ".join(o["Buyer"]["Name"] for o in make_orders(30))
    assert any(ch in names for ch in "áéíóúñçãê")
    for order in orders:
        assert order["DateCreated"].endswith("Z") and order["LastUpdated"].endswith("Z")
        assert order["Integrated"] is False
        for item in order["Items"]:
            assert item["UnitPrice"] <= item["FullUnitPrice"]
            assert item["Type"]["Key"] == ITEM_TYPE_PRODUCT
        items_total = sum(i["UnitPrice"] * i["Quantity"] for i in order["Items"])
        payment = order["Payments"][0]
        discounts = sum(d["Amount"] for d in payment["Discounts"])
        assert payment["AmountNoDiscount"] == pytest.approx(items_total + payment["ShippingAmount"])
        assert payment["Amount"] == pytest.approx(payment["AmountNoDiscount"] - discounts)


def test_hostile_orders_carry_every_dangerous_string() -> None:
    orders = make_orders(4, hostile=True)
    text = json.dumps(orders, ensure_ascii=False)
    for dangerous in HOSTILE_STRINGS:
        assert json.dumps(dangerous, ensure_ascii=False) in text
    assert orders[1]["Buyer"]["Name"] not in HOSTILE_STRINGS
    assert orders[0]["Buyer"]["Name"] in HOSTILE_STRINGS
    assert orders[0]["Shipping"]["Receiver"]["Name"] in HOSTILE_STRINGS
    assert orders[0]["Notes"] in HOSTILE_STRINGS


def test_kit_order_shape() -> None:
    order = kit_order(7001, kit_sku="KIT-9", component_skus=("0000001", "0000002", "0000003"))
    kit, *components = order["Items"]
    assert (
        kit["Type"] == {"Key": ITEM_TYPE_KIT, "Value": "Kit"} and kit["Product"]["Sku"] == "KIT-9"
    )
    assert [c["Type"]["Key"] for c in components] == [ITEM_TYPE_COMPONENT] * 3
    assert {c["ParentItemId"] for c in components} == {kit["Id"]}
    assert kit["ParentItemId"] is None
    assert sum(c["CalculatedComponentUnitPrice"] for c in components) == pytest.approx(
        30000, abs=0.05
    )


def test_special_orders_through_the_sandbox() -> None:
    with running() as (sandbox, client):
        sandbox.add_orders([cancelled_order(7201), pending_payment_order(7301), kit_order(7001)])
        assert sandbox.order(7201)["StatusType"] == {"Key": 99, "Value": "Cancelada"}
        served = client.get("/v2/orders", params=auth()).json()["Results"]
        assert [o["Id"] for o in served] == [7001, 7201]
        accents = client.get("/v2/orders", params=auth(idFrom=7001, idTo=7001))
        assert accents.headers["content-type"] == "application/json; charset=utf-8"
        assert accents.json()["Results"][0]["Buyer"]["Name"] == served[0]["Buyer"]["Name"]
