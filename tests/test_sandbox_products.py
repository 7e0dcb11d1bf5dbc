"""GET and POST /v2/products: business rules, ActionResult, caps, paging, filters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.test_sandbox_support import auth, running

Served = tuple[Sandbox, httpx.Client]


@pytest.fixture
def served() -> Iterator[Served]:
    with running() as pair:
        pair[0].load_catalog(make_catalog(20))
        yield pair


def post(client: httpx.Client, body: Any, **params: Any) -> httpx.Response:
    return client.post("/v2/products", params=auth(**params), json=body)


def item_errors(response: httpx.Response) -> dict[str, list[int]]:
    """KeyValue -> message codes of every listed (non-Ok) item."""
    return {i["KeyValue"]: [m["Code"] for m in i["Messages"]] for i in response.json()["Items"]}


def test_lowercase_go_style_body_updates_stock(served: Served) -> None:
    sandbox, client = served
    sandbox.load_catalog(make_catalog(1, start=1234))
    response = post(client, [{"sku": "0001234", "stock": {"quantity": 7}}])
    assert response.status_code == 200
    assert response.json() == {
        "Quantities": {"Ok": 1, "Error": 0, "Warning": 0, "Info": 0, "Total": 1},
        "Items": [],
    }
    assert sandbox.product("0001234")["Stock"]["Quantity"] == 7
    assert sandbox.product("0001234")["Stock"]["PublishQuantity"] == 7
    assert sandbox.updates("0001234") == 1
    assert sandbox.updates("1234") == 0


def test_mixed_case_keys_at_every_level(served: Served) -> None:
    sandbox, client = served
    body = [{"sKu": "0000003", "STOCK": {"QuAnTiTy": 5}, "price": {"PRICEwithTAXES": 1210}}]
    assert post(client, body).status_code == 200
    entry = sandbox.product("0000003")["Price"][0]
    assert entry["PriceWithTaxes"] == 1210 and entry["Price"] == pytest.approx(1000)


def test_partial_success_lists_only_failed_items_with_code_6(served: Served) -> None:
    sandbox, client = served
    body = [
        {
            "Brand": "ACME",
            "SKU": "0000001",
            "Stock": {"Quantity": 15},
            "Price": {"PriceWithTaxes": 6000.60},
        },
        {"SKU": "CA1463-DDDD", "Stock": {"Quantity": 1}},
    ]
    response = post(client, body)
    assert response.status_code == 200
    result = response.json()
    assert result["Quantities"] == {"Ok": 1, "Error": 1, "Warning": 0, "Info": 0, "Total": 2}
    assert result["Items"] == [
        {
            "ItemNumber": 0,  # position in Items, not in the request (as in the vendor's example)
            "ValidationLevel": {"Id": 0, "Name": "Error"},
            "KeyField": "SKU",
            "KeyValue": "CA1463-DDDD",
            "Messages": [
                {
                    "Level": {"Id": 0, "Name": "Error"},
                    "Code": 6,
                    "Message": "No tiene asignado ningún producto con el marca-código ingresado",
                    "ValidatedValue": "CA1463-DDDD",
                }
            ],
        }
    ]
    assert sandbox.product("0000001")["Stock"]["Quantity"] == 15
    assert sandbox.updates("0000001") == 1


def test_item_number_can_follow_the_request_index() -> None:
    with running(item_number="request") as (sandbox, client):
        sandbox.load_catalog(make_catalog(2))
        body = [
            {"SKU": "0000001", "Stock": {"Quantity": 1}},
            {"SKU": "nope", "Stock": {"Quantity": 1}},
        ]
        assert post(client, body).json()["Items"][0]["ItemNumber"] == 1


@pytest.mark.parametrize("status", [404, 412])
def test_all_failed_batch_uses_the_configured_status(status: int) -> None:
    with running(all_failed_status=status) as (sandbox, client):
        sandbox.load_catalog(make_catalog(2))
        response = post(
            client, [{"SKU": "x1", "Stock": {"Quantity": 1}}, {"SKU": "0000001", "Stock": {}}]
        )
        assert response.status_code == status
        assert response.json()["Quantities"]["Error"] == 2
        assert item_errors(response) == {"x1": [6], "0000001": [5]}
        assert sandbox.updates("0000001") == 0


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ({"Stock": {"Quantity": 1}}, 1),
        ({"SKU": "", "Stock": {"Quantity": 1}}, 1),
        ({"SKU": "0000002", "Stock": {}}, 5),
        ({"SKU": "0000002", "Price": {}}, 5),
        ({"SKU": "0000002", "Stock": {"Quantity": 1, "Movement": 2}}, 3),
        ({"SKU": "0000002", "Stock": {"Quantity": -1}}, 2),
        ({"SKU": "0000002", "Stock": {"Quantity": 1.5}}, 2),
        ({"SKU": "0000002", "Stock": {"Quantity": "7"}}, 2),
        ({"SKU": "0000002", "Stock": {"B2BQuantity": -3}}, 2),
        ({"SKU": "0000002", "Stock": "7"}, 2),
        ({"SKU": "0000002", "Price": {"Price": 0}}, 2),
        ({"SKU": "0000002", "Price": {"Price": -10}}, 2),
        ({"SKU": "0000002", "Price": {"Price": 10.12345}}, 2),
        ({"SKU": "0000002", "Price": {"Price": "10.5"}}, 2),
        ({"SKU": "0000002", "Price": {"Price": 10, "PriceWithTaxes": 12.1}}, 3),
        ({"SKU": "0000002", "Price": {"SuggestedRetailPrice": 10}}, 4),
        ({"SKU": "0000002", "Price": {"Cost": 5, "Price": 10, "SuggestedRetailPrice": 12}}, 4),
        ({"SKU": "0000002", "Price": {"Cost": 5, "SalesMargin": 10}}, 4),
        ({"SKU": "0000002", "Price": {"SalesMargin": 10}}, 8),  # seller accounts only
    ],
)
def test_each_rule_rejects_the_item_and_applies_nothing(
    served: Served, item: dict[str, Any], code: int
) -> None:
    sandbox, client = served
    before = sandbox.product("0000002")
    response = post(client, [item, {"SKU": "0000005", "Stock": {"Quantity": 3}}])
    assert response.status_code == 200  # the other item succeeded
    assert [i["Messages"][0]["Code"] for i in response.json()["Items"]] == [code]
    assert sandbox.product("0000002") == before
    assert sandbox.updates("0000002") == 0


@pytest.mark.parametrize(
    "price",
    [
        {"Cost": 5, "Price": 10},
        {"Cost": 5, "PriceWithTaxes": 12.1},
        {"Cost": 5, "SuggestedRetailPrice": 15},
        {"Cost": 5.1234},
        {"Price": 10, "SuggestedRetailPrice": 15},
        {"PriceWithTaxes": 12.1, "SuggestedRetailPrice": 15},
        {"Price": 7430},
        {"PriceWithTaxes": 1288.44},
        {"B2BDiscountRate": 5},
    ],
)
def test_every_allowed_price_combination_is_applied(served: Served, price: dict[str, Any]) -> None:
    sandbox, client = served
    assert post(client, [{"SKU": "0000004", "Price": price}]).status_code == 200
    entry = sandbox.product("0000004")["Price"][0]
    for name, value in price.items():
        assert entry[name] == pytest.approx(value)
    if "Price" in price:
        assert entry["PriceWithTaxes"] == pytest.approx(price["Price"] * 1.21, abs=1e-4)


def test_seller_account_may_send_sales_margin_but_not_price() -> None:
    with running(account_type="seller") as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        assert post(client, [{"SKU": "0000001", "Price": {"SalesMargin": 25.5}}]).status_code == 200
        bad = post(client, [{"SKU": "0000001", "Price": {"SalesMargin": 25.555}}])
        assert item_errors(bad) == {"0000001": [2]}
        bad = post(client, [{"SKU": "0000001", "Price": {"Price": 10}}])
        assert item_errors(bad) == {"0000001": [8]}


def test_movement_adds_and_never_goes_below_zero(served: Served) -> None:
    sandbox, client = served
    post(client, [{"SKU": "0000006", "Stock": {"Quantity": 5}}])
    assert post(client, [{"SKU": "0000006", "Stock": {"Movement": -2}}]).status_code == 200
    assert sandbox.product("0000006")["Stock"]["Quantity"] == 3
    refused = post(client, [{"SKU": "0000006", "Stock": {"Movement": -4}}])
    assert refused.status_code == 404 and item_errors(refused) == {"0000006": [2]}
    assert sandbox.product("0000006")["Stock"]["Quantity"] == 3


def test_movement_below_zero_can_clamp() -> None:
    with running(movement_below_zero="clamp") as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        post(client, [{"SKU": "0000001", "Stock": {"Quantity": 2}}])
        assert post(client, [{"SKU": "0000001", "Stock": {"Movement": -9}}]).status_code == 200
        assert sandbox.product("0000001")["Stock"]["Quantity"] == 0


def test_match_on_own_code_and_brand_ambiguity() -> None:
    with running() as (sandbox, client):
        sandbox.load_catalog(make_catalog(7))  # 0000007 has OwnCode OC-00007
        sandbox.load_catalog(make_catalog(1, start=50, brand="ACME"))
        other = make_catalog(1, start=50, brand="OTRA")
        other[0]["Identification"].update(Id=999_999, Brand={"Id": 2, "Name": "OTRA"})
        sandbox.load_catalog(other)
        listed = client.get("/v2/products", params=auth(sku="0000050")).json()["Results"]
        assert [p["Identification"]["Brand"]["Name"] for p in listed] == ["ACME", "OTRA"]
        assert post(client, [{"SKU": "OC-00007", "Stock": {"Quantity": 9}}]).status_code == 200
        assert sandbox.product("0000007")["Stock"]["Quantity"] == 9
        assert sandbox.updates("0000007") == 1  # counted under the catalog SKU
        ambiguous = post(client, [{"SKU": "0000050", "Stock": {"Quantity": 1}}])
        assert item_errors(ambiguous) == {"0000050": [7]}
        assert (
            post(
                client, [{"Brand": "otra", "SKU": "0000050", "Stock": {"Quantity": 4}}]
            ).status_code
            == 200
        )
        assert (
            post(client, [{"Brand": 1, "SKU": "0000050", "Stock": {"Quantity": 6}}]).status_code
            == 200
        )
        stocks = [
            p["Stock"]["Quantity"]
            for p in client.get("/v2/products", params=auth(sku="0000050")).json()["Results"]
        ]
        assert stocks == [6, 4]
        assert (
            post(
                client, [{"Brand": "NINGUNA", "SKU": "0000050", "Stock": {"Quantity": 4}}]
            ).status_code
            == 404
        )


def test_info_level_for_unchanged_items_when_switched_on() -> None:
    with running(info_on_unchanged=True) as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        post(client, [{"SKU": "0000001", "Stock": {"Quantity": 3}}])
        again = post(client, [{"SKU": "0000001", "Stock": {"Quantity": 3}}])
        assert again.status_code == 200
        assert again.json()["Quantities"]["Info"] == 1
        assert again.json()["Items"][0]["ValidationLevel"] == {"Id": 2, "Name": "Info"}


def test_price_list_rules() -> None:
    lists = [
        {"Id": 1, "Name": "General", "DiscountRate": 0},
        {"Id": 2, "Name": "Mayorista", "DiscountRate": 10},
    ]
    with running(price_lists=lists) as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        body = [{"SKU": "0000001", "Price": {"Price": 100}}]
        missing = post(client, body)
        assert missing.status_code == 400 and "priceListId" in missing.json()["Message"]
        assert post(client, body, priceListId=7).status_code == 400
        assert post(client, body, priceListId=2).status_code == 200
        prices = sandbox.product("0000001")["Price"]
        assert [p["PriceList"]["Id"] for p in prices] == [1, 2]
        only_two = client.get("/v2/products", params=auth(priceListId=2)).json()["Results"][0][
            "Price"
        ]
        assert [p["Price"] for p in only_two] == [100]
        assert sandbox.updates("0000001") == 1


@pytest.mark.parametrize("body", [b"[{not json", b'{"SKU": "0000001"}', b'"text"'])
def test_malformed_or_non_array_body_is_400(served: Served, body: bytes) -> None:
    _, client = served
    response = client.post("/v2/products", params=auth(), content=body)
    assert response.status_code == 400
    assert response.json()["Status"] == 400


def test_more_items_than_the_cap_is_413_and_nothing_applied() -> None:
    with running(products_max_items=3) as (sandbox, client):
        sandbox.load_catalog(make_catalog(4))
        body = [{"SKU": f"{i:07d}", "Stock": {"Quantity": 1}} for i in range(1, 5)]
        response = post(client, body)
        assert response.status_code == 413
        assert response.json()["Status"] == 413
        assert all(sandbox.updates(f"{i:07d}") == 0 for i in range(1, 5))
        assert post(client, body[:3]).status_code == 200
