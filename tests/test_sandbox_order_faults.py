"""The sandbox controls the order tests need, over real sockets and the control API."""

from __future__ import annotations

import httpx
import pytest

from connector.sandbox import Fault
from connector.sandbox.fixtures import make_orders
from connector.sandbox.remote import SandboxControl
from tests.test_sandbox_support import auth, running

INTEGRATE = "PUT /v2/orders/integrate"


def mark(client: httpx.Client, *order_ids: int) -> httpx.Response:
    body = [{"OrderId": oid, "OwnOrderId": f"ALE-{oid}", "Integrated": True} for oid in order_ids]
    return client.put("/v2/orders/integrate", params=auth(), json=body)


def test_a_whole_request_400_applies_nothing() -> None:
    with running() as (sb, client):
        sb.add_orders(make_orders(1))
        sb.inject(Fault(kind="400", endpoint=INTEGRATE))
        answer = mark(client, 5001)
        assert answer.status_code == 400
        assert answer.json()["Status"] == 400
        assert sb.order(5001)["Integrated"] is False
        assert mark(client, 5001).status_code == 200


def test_bad_shape_and_bad_gzip_answers() -> None:
    with running() as (sb, client):
        sb.add_orders(make_orders(1))
        sb.inject(Fault(kind="bad_shape", endpoint="GET /v2/orders"))
        shaped = client.get("/v2/orders", params=auth())
        assert shaped.status_code == 200 and not isinstance(shaped.json()["Results"], list)
        sb.inject(Fault(kind="bad_gzip", endpoint="GET /v2/orders"))
        with pytest.raises(httpx.DecodingError):
            client.get("/v2/orders", params=auth())


def test_a_retry_after_with_a_unit_is_sent_as_text() -> None:
    with running() as (sb, client):
        sb.inject(Fault(kind="429", retry_after="1.5s"))
        limited = client.get("/v2/orders", params=auth())
        assert limited.status_code == 429
        assert limited.headers["x-ratelimit-retryafter"] == "1.5s"


def test_forgotten_order_and_misaligned_echo_through_the_control_api() -> None:
    with running(misaligned_integrate_echo=True, shuffle_integrate_results=False) as (sb, client):
        sb.add_orders(make_orders(3))
        with SandboxControl(sb.url) as control:
            control.forget_order(5002, times=1)
        results = mark(client, 5001, 5002, 5003).json()["Results"]
        echoed = [r["OrderStatus"]["OrderId"] for r in results]
        assert [r["Message"] for r in results] == ["Ok", "Order not found", "Ok"]
        assert echoed == [5002, 5003, 5001]  # each echo beside another item's result
        assert sb.order(5002)["Integrated"] is False
        assert sb.order(5001)["Integrated"] and sb.order(5003)["Integrated"]
        again = mark(client, 5002).json()["Results"]
        assert again[0]["Message"] == "Ok"  # forgotten only once
