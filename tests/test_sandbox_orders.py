"""GET /v2/orders filters, PUT /v2/orders/integrate, PUT /v2/orders and the order events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connector.sandbox import Sandbox
from connector.sandbox.fixtures import (
    cancelled_order,
    cart_orders,
    kit_order,
    make_orders,
    pending_payment_order,
)
from connector.sandbox.model import SHIPPING_METHOD_MARKETPLACE, SHIPPING_METHOD_OWN, parse_iso
from tests.test_sandbox_support import FakeClock, auth, running

Served = tuple[Sandbox, httpx.Client]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def served(clock: FakeClock) -> Iterator[Served]:
    with running(clock=clock) as pair:
        pair[0].add_orders(make_orders(5, start_id=5001))
        yield pair


def ids(client: httpx.Client, **params: Any) -> list[int]:
    response = client.get("/v2/orders", params=auth(**params))
    assert response.status_code == 200, response.text
    return [order["Id"] for order in response.json()["Results"]]


def integrate(client: httpx.Client, body: Any) -> httpx.Response:
    return client.put("/v2/orders/integrate", params=auth(), json=body)


def test_integrated_defaults_to_false(served: Served) -> None:
    _sandbox, client = served
    mark = [{"OrderId": 5002, "OwnOrderId": "ERP-2", "Integrated": True, "ErpStatus": "ok"}]
    assert integrate(client, mark).status_code == 200
    assert ids(client) == [5001, 5003, 5004, 5005]
    assert ids(client, integrated="FALSE") == [5001, 5003, 5004, 5005]
    assert ids(client, Integrated="true") == [5002]
    assert ids(client, erpStatus="ok") == []  # Integrated=false still applies
    assert ids(client, erpStatus="ok", Integrated="true") == [5002]


def test_integrated_omitted_can_mean_no_filter() -> None:
    with running(integrated_default_false=False) as (sandbox, client):
        orders = make_orders(2)
        orders[0]["Integrated"] = True
        sandbox.add_orders(orders)
        assert ids(client) == [5001, 5002]


def test_status_type_groups_and_late_cancellation_cycle(served: Served, clock: FakeClock) -> None:
    sandbox, client = served
    sandbox.add_orders([cancelled_order(6001)])
    assert ids(client, statusType=99) == [6001]
    assert ids(client, statusType=1) == [5001, 5002, 5003, 5004, 5005]  # 10 and 20 are Pending
    assert ids(client, statusType=2) == []
    assert client.get("/v2/orders", params=auth(statusType=5)).status_code == 400
    clock.advance(86_400 * 30)
    before = sandbox.order(5003)["LastUpdated"]
    sandbox.cancel_order(5003)
    after = sandbox.order(5003)
    assert parse_iso(after["LastUpdated"]) > parse_iso(before)  # type: ignore[operator]
    assert (
        after["Status"]["Key"] == 90 and after["StatusType"]["Key"] == 99 and after["IsCancelled"]
    )
    assert all(item["IsCancelled"] for item in after["Items"])
    # statusDateFrom compares LastUpdated (>=): only the late cancellation is new.
    since = "2024-05-30 00:00"
    assert ids(client, statusType=99, statusDateFrom=since) == [5003]
    assert ids(client, statusType=99, statusdatefrom="2024-05-30") == [5003]


def test_cancel_order_partial_items_and_kit_components() -> None:
    with running() as (sandbox, _client):
        order = kit_order(7001, component_skus=("0000001", "0000002"))
        extra = dict(order["Items"][1], Id=700199, ParentItemId=None)
        extra["Type"] = {"Key": 1, "Value": "Product"}
        order["Items"].append(extra)
        sandbox.add_orders([order])
        kit_id = order["Items"][0]["Id"]
        sandbox.cancel_order(7001, item_ids=[kit_id])
        stored = sandbox.order(7001)
        assert [i["IsCancelled"] for i in stored["Items"]] == [True, True, True, False]
        assert stored["Status"]["Key"] == 10 and not stored["IsCancelled"]
        sandbox.cancel_order(7001, status=93, item_ids=[700199])
        assert sandbox.order(7001)["Status"]["Key"] == 93
        with pytest.raises(ValueError, match="not a cancellation"):
            sandbox.cancel_order(7001, status=20)
        with pytest.raises(KeyError):
            sandbox.cancel_order(4242)


def test_pending_payment_hidden_until_approved(served: Served, clock: FakeClock) -> None:
    sandbox, client = served
    sandbox.add_orders([pending_payment_order(7301)])
    assert 7301 not in ids(client)
    assert 7301 in ids(client, includePendingPayments="TRUE")
    clock.advance(60)
    sandbox.approve_payment(7301)
    assert 7301 in ids(client)
    approved = sandbox.order(7301)["Payments"][0]
    assert approved["DateApproved"] and approved["Status"]["Value"] == "Aprobado"


def test_pending_payments_need_the_privilege() -> None:
    with running(pending_payments_privilege=False) as (_, client):
        response = client.get("/v2/orders", params=auth(includePendingPayments="true"))
        assert response.status_code == 403


def test_id_external_date_and_marketplace_filters(served: Served) -> None:
    _, client = served
    assert ids(client, idFrom=5002, idTo=5004) == [5002, 5003, 5004]
    assert ids(client, externalOrderIdFrom="2000005004") == [5004, 5005]
    assert ids(client, externalOrderIdTo="2000005001") == [5001]
    assert ids(client, dateCreatedFrom="2024-05-01 12:30") == [5004, 5005]  # 10 min apart
    assert ids(client, saleDateFrom="2024-05-01 12:40") == [5005]
    assert ids(client, marketplaceId=1) == [5002, 5004]
    assert ids(client, sort="dateCreated", limit=2, offset=1) == [5002, 5003]


def test_orders_page_cap_is_206(served: Served) -> None:
    sandbox, client = served
    sandbox.add_orders(make_orders(120, start_id=10_001))
    response = client.get("/v2/orders", params=auth(limit=500))
    assert response.status_code == 206
    assert response.json()["Paging"] == {"Limit": 100, "Offset": 0, "Total": 125}
    assert len(response.json()["Results"]) == 100


def test_integrate_results_have_string_statuses_and_are_shuffled(served: Served) -> None:
    sandbox, client = served
    body = [
        {"OrderId": 5001, "OwnOrderId": "ERP-1", "Integrated": True, "ErpStatus": "complete"},
        {"OrderId": 4242, "OwnOrderId": "ERP-X", "Integrated": True, "ErpStatus": "complete"},
        {"OrderId": 5002, "OwnOrderId": "ERP-2", "Integrated": False, "ErpStatus": "pending"},
        {"orderid": 5003, "ownorderid": "ERP-3", "integrated": True, "erpstatus": "complete"},
    ]
    before = sandbox.order(5001)["LastUpdated"]
    response = integrate(client, body)
    assert response.status_code == 200
    result = response.json()
    assert result["Total"] == 4
    echoed = [r["OrderStatus"] for r in result["Results"]]
    assert sorted(map(str, echoed)) == sorted(map(str, body))
    assert echoed != body  # not request order: clients must match by OrderId
    by_id = {
        (r["OrderStatus"].get("OrderId") or r["OrderStatus"]["orderid"]): r
        for r in result["Results"]
    }
    assert by_id[4242]["Status"] == "400" and by_id[4242]["Message"] == "Order not found"
    assert {by_id[i]["Status"] for i in (5001, 5002, 5003)} == {"200"}
    stored = sandbox.order(5001)
    assert (stored["Integrated"], stored["IntegratedOrderId"], stored["ErpStatus"]) == (
        True,
        "ERP-1",
        "complete",
    )
    assert parse_iso(stored["LastUpdated"]) > parse_iso(before)  # type: ignore[operator]
    assert sandbox.order(5002)["Integrated"] is False
    assert sandbox.order(5003)["IntegratedOrderId"] == "ERP-3"


def test_integrate_item_errors_and_caps() -> None:
    with running(integrate_max_items=2) as (sandbox, client):
        sandbox.add_orders(make_orders(3))
        too_many = [
            {"OrderId": i, "OwnOrderId": str(i), "Integrated": True} for i in (5001, 5002, 5003)
        ]
        assert integrate(client, too_many).status_code == 413
        assert all(not sandbox.order(i)["Integrated"] for i in (5001, 5002, 5003))
        odd = integrate(
            client,
            [{"OrderId": "5001", "Integrated": True}, {"OrderId": 5001, "Integrated": "yes"}],
        )
        assert [r["Status"] for r in odd.json()["Results"]] == ["400", "400"]
        assert integrate(client, {"OrderId": 5001}).status_code == 400


def test_put_status_rules() -> None:
    with running() as (sandbox, client):
        orders = make_orders(3)
        orders[0]["Shipping"]["Method"] = {"Key": SHIPPING_METHOD_OWN, "Value": "Envío propio"}
        orders[1]["Shipping"]["Method"] = {"Key": SHIPPING_METHOD_MARKETPLACE, "Value": "ME"}
        orders[2]["Shipping"]["Method"] = {"Key": SHIPPING_METHOD_OWN, "Value": "Envío propio"}
        sandbox.add_orders(orders[:2])
        sandbox.add_orders(orders[2:], created_via_post=True)
        body = [
            {"OrderId": 5001, "Status": 20, "Tracking": {"Number": "AR1", "Status": "en tránsito"}},
            {"OrderId": 5002, "Status": 20},
            {"OrderId": 5001, "Status": 90},
            {"OrderId": 5003, "Status": 90},
            {"OrderId": 5001, "Status": 30},
            {"OrderId": 9999, "Status": 20},
        ]
        response = client.put("/v2/orders", params=auth(), json=body)
        assert response.status_code == 200
        results = response.json()["Results"]
        assert [r["Status"] for r in results] == [200, 412, 400, 200, 400, 404]
        assert [r["OrderStatus"] for r in results] == body
        assert sandbox.order(5001)["Status"] == {"Key": 20, "Value": "Enviada"}
        assert sandbox.order(5002)["Status"]["Key"] == 10
        assert sandbox.order(5003)["IsCancelled"] is True


def test_put_status_transitions_when_enforced() -> None:
    with running(enforce_transitions=True) as (sandbox, client):
        sandbox.add_orders(make_orders(1))
        sandbox.add_orders([], created_via_post=True)
        order = sandbox.order(5001)
        order["Shipping"]["Method"]["Key"] = SHIPPING_METHOD_OWN
        sandbox.add_orders([order])
        statuses = []
        for status in (80, 20, 80, 20):
            result = client.put(
                "/v2/orders", params=auth(), json=[{"OrderId": 5001, "Status": status}]
            )
            statuses.append(result.json()["Results"][0]["Status"])
        assert statuses == [412, 200, 200, 412]


def test_cart_orders_share_pack_and_sections() -> None:
    orders = cart_orders("PACK-1", n=3, complete=False)
    assert {o["PackId"] for o in orders} == {"PACK-1"}
    assert all(o["IsCompletePackOrder"] is False for o in orders)
    assert orders[0]["Buyer"] == orders[2]["Buyer"] and orders[0]["Buyer"] is not orders[2]["Buyer"]
    with running() as (sandbox, client):
        sandbox.add_orders(orders)
        served = client.get("/v2/orders", params=auth()).json()["Results"]
        assert [o["IsCompletePackOrder"] for o in served] == [False, False, False]
