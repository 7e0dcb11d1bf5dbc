"""The exact requests of three independent live clients (shared/notes/real-api-evidence.md),
replayed against the realistic sandbox: what worked against the live API must work here, and
what they read from the answers must be there."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.test_sandbox_support import ACCOUNT, API_KEY, options

DELPHI_SKU = "F000.KE0.P43-T4E"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    catalog = make_catalog(1300)
    catalog[-1]["Identification"]["SKU"] = DELPHI_SKU
    with Sandbox(options(profile="realistic")) as sb:
        sb.load_catalog(catalog)
        sb.add_orders(make_orders(130))
        with httpx.Client(base_url=sb.url, timeout=10) as client:
            yield client


# -- A: epoch8/tap-alephcrm (Singer tap, production 2023-2025) ---------------------------------


def test_tap_accounts_with_the_key_alone_then_path_id_streams(http: httpx.Client) -> None:
    accounts = http.get("/v2/accounts", params={"api_key": API_KEY})
    assert accounts.status_code == 200
    parent = accounts.json()["Results"][0]
    assert {"Id", "Name", "BusinessName"} <= set(parent)
    for stream in ("marketplaces", "stores"):
        child = http.get(f"/v2/accounts/{parent['Id']}/{stream}", params={"api_key": API_KEY})
        assert child.status_code == 200, stream
        assert all("Id" in row for row in child.json()["Results"])


def test_tap_orders_incremental_paging_and_date_state(http: httpx.Client) -> None:
    params = {
        "api_key": API_KEY,
        "accountId": ACCOUNT,
        "sort": "dateCreated",
        "dateCreatedFrom": "2024-05-01 12:00",
    }
    offset, seen = 0, []
    while True:  # the tap's paginator: fixed steps of 100, no limit sent
        body = http.get("/v2/orders", params={**params, "offset": offset}).json()
        seen += body["Results"]
        paging = body["Paging"]
        if not paging["Offset"] + paging["Limit"] < paging["Total"]:
            break
        offset += 100
    assert len(seen) == 130 == len({o["Id"] for o in seen})
    for order in seen:  # the tap's saved state, parsed on its second run (crashed on .000Z)
        datetime.strptime(order["DateCreated"], "%Y-%m-%dT%H:%M:%SZ")


def test_tap_products_pages_of_the_default_100(http: httpx.Client) -> None:
    offset, ids = 0, []
    while True:
        body = http.get(
            "/v2/products", params={"api_key": API_KEY, "accountId": ACCOUNT, "offset": offset}
        ).json()
        ids += [row["Identification"]["Id"] for row in body["Results"]]
        assert all(isinstance(row["Price"], list) for row in body["Results"])
        if offset + 100 >= body["Paging"]["Total"]:
            break
        offset += 100
    assert len(ids) == 1300 == len(set(ids))


# -- B: pedrobergaglio/go-platform-integration (Go, live 2023-2024) -----------------------------


def go_query(**extra: Any) -> dict[str, Any]:
    return {"API_KEY": API_KEY, "accountId": ACCOUNT, **extra}


def test_go_stock_push_lower_case_without_price_list(http: httpx.Client) -> None:
    body = [{"sku": "0001234", "stock": {"quantity": 7}}]
    pushed = http.post("/v2/products", params=go_query(), json=body)
    assert pushed.status_code == 200
    assert pushed.json()["Quantities"]["Ok"] == 1
    unknown = http.post(
        "/v2/products", params=go_query(), json=[{"sku": "9999999", "stock": {"quantity": 1}}]
    )
    assert unknown.status_code == 412  # its dedicated branch: "no changes processed"


def test_go_price_read_by_sku(http: httpx.Client) -> None:
    found = http.get("/v2/products", params=go_query(sku="0001234")).json()
    assert found["Total"] == 1
    price = found["Results"][0]["Price"][0]  # Go decodes Price as an array
    assert {"Cost", "FinalPriceWithShippingCost"} & set(price)
    assert str(found["Results"][0]["Identification"]["SKU"]) == "0001234"
    assert http.get("/v2/products", params=go_query(sku="0000000")).json()["Total"] == 0


# -- C: tbisistemas/AlephCRM (Delphi SDK, live test results 2022) --------------------------------


def delphi_query(**extra: Any) -> dict[str, Any]:
    return {"api_key": API_KEY, "accountId": ACCOUNT, **extra}


def test_delphi_accounts_and_filtered_products(http: httpx.Client) -> None:
    accounts = http.get("/v2/accounts", params=delphi_query()).json()
    assert accounts["Total"] >= 1 and accounts["Results"][0]["Id"] == ACCOUNT
    query = delphi_query(
        Sku=DELPHI_SKU,
        brand="",
        ownCode="",
        catalogStatus="",
        sort="",
        limit=100,
        offset=0,
        dateUpdateFrom="1899-12-30 00:00",  # misspelt by the SDK: an unknown name, ignored
    )
    found = http.get("/v2/products", params=query)
    assert found.status_code == 200
    assert [r["Identification"]["SKU"] for r in found.json()["Results"]] == [DELPHI_SKU]


def test_delphi_live_test_stock_zero_without_price_list(http: httpx.Client) -> None:
    body = [{"SKU": DELPHI_SKU, "Stock": {"Quantity": 0}}]
    answer = http.post("/v2/products", params=delphi_query(), json=body)
    assert answer.status_code == 200
    assert answer.json()["Quantities"]["Ok"] == 1  # the committed live result
