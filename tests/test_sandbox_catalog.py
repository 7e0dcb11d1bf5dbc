"""GET /v2/products (page cap, paging, filters) and concurrent POSTs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.test_sandbox_support import FakeClock, assert_rate_headers, auth, running

Served = tuple[Sandbox, httpx.Client]


@pytest.fixture
def served() -> Iterator[Served]:
    with running() as pair:
        pair[0].load_catalog(make_catalog(20))
        yield pair


def post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post("/v2/products", params=auth(), json=body)


def test_limit_above_the_page_cap_is_206_with_the_cap() -> None:
    with running(products_page_cap=5) as (sandbox, client):
        sandbox.load_catalog(make_catalog(8))
        response = client.get("/v2/products", params=auth(limit=50))
        assert response.status_code == 206
        assert_rate_headers(response)
        assert response.json()["Paging"] == {"Limit": 5, "Offset": 0, "Total": 8}
        assert len(response.json()["Results"]) == 5
        assert client.get("/v2/products", params=auth(limit=5)).status_code == 200
        assert client.get("/v2/products", params=auth(limit=0)).status_code == 400


def test_paging_through_2500_products() -> None:
    with running() as (sandbox, client):
        sandbox.load_catalog(make_catalog(2500))
        seen: list[str] = []
        offset = 0
        while True:
            page = client.get("/v2/products", params=auth(offset=offset, limit=1000)).json()
            seen += [p["Identification"]["SKU"] for p in page["Results"]]
            paging = page["Paging"]
            if paging["Offset"] + paging["Limit"] >= paging["Total"]:
                break
            offset += paging["Limit"]
        assert len(seen) == 2500 == len(set(seen))
        assert seen[0] == "0000001" and seen[-1] == "0002500"  # sorted by ID, zeros kept


def test_get_filters(served: Served) -> None:
    _sandbox, client = served

    def skus(**params: Any) -> list[str]:
        response = client.get("/v2/products", params=auth(**params))
        assert response.status_code == 200
        return [p["Identification"]["SKU"] for p in response.json()["Results"]]

    assert skus(sku="0000003") == ["0000003"]
    assert skus(Sku="3") == []  # exact match, leading zeros matter
    assert skus(ownCode="OC-00014") == ["0000014"]
    assert len(skus(brand="acme")) == 20 and skus(brand="OTRA") == []
    assert len(skus(types="1,2")) == 20 and skus(types="2") == []
    assert len(skus(catalogStatus="1")) == 20 and skus(catalogStatus="0,4") == []
    assert len(skus(dateUpdatedFrom="2000-01-01")) == 20
    assert skus(dateUpdatedFrom="2999-01-01 00:00") == []
    first = client.get("/v2/products", params=auth(limit=1)).json()["Results"][0]
    assert "Movement" not in first["Stock"]


def test_date_updated_from_sees_posted_products() -> None:

    clock = FakeClock()
    with running(clock=clock) as (sandbox, client):
        sandbox.load_catalog(make_catalog(3))
        clock.advance(3600)
        post(client, [{"SKU": "0000002", "Stock": {"Quantity": 1}}])
        response = client.get("/v2/products", params=auth(dateUpdatedFrom="2024-05-01 12:30"))
        assert [p["Identification"]["SKU"] for p in response.json()["Results"]] == ["0000002"]


def test_concurrent_movements_are_applied_atomically() -> None:
    with running() as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        post(client, [{"SKU": "0000001", "Stock": {"Quantity": 0}}])
        failures: list[int] = []

        def worker() -> None:
            with httpx.Client(base_url=sandbox.url, timeout=10) as own:
                for _ in range(10):
                    response = post(own, [{"SKU": "0000001", "Stock": {"Movement": 1}}])
                    if response.status_code != 200:
                        failures.append(response.status_code)

        threads = [threading.Thread(target=worker) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert failures == []
        assert sandbox.product("0000001")["Stock"]["Quantity"] == 60
        assert sandbox.updates("0000001") == 61


def test_pages_follow_the_id_index_across_loads_and_replacements() -> None:
    """Pages slice a sorted Id index: it must follow every load (later ones with lower Ids, or
    none given) and a replacement, or pages would skip or repeat products."""
    with running() as (sandbox, client):
        sandbox.load_catalog(make_catalog(3, start=10))  # Ids 100010..100012
        early = make_catalog(2, start=1)  # Ids 100001, 100002: before the loaded ones
        unnumbered = make_catalog(1, start=50)
        del unnumbered[0]["Identification"]["Id"]  # gets the next free Id: after all others
        sandbox.load_catalog(early + unnumbered)

        def page(offset: int, limit: int) -> list[str]:
            body = client.get("/v2/products", params=auth(offset=offset, limit=limit)).json()
            assert body["Paging"]["Total"] == body["Total"]
            return [p["Identification"]["SKU"] for p in body["Results"]]

        assert page(0, 4) + page(4, 4) == [
            "0000001",
            "0000002",
            "0000010",
            "0000011",
            "0000012",
            "0000050",
        ]
        assert page(0, 10) == page(0, 3) + page(3, 7)
        sandbox.load_catalog(make_catalog(2, start=7), replace=True)
        assert page(0, 10) == ["0000007", "0000008"]
