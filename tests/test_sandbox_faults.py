"""Fault injection: every kind, over real sockets."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from connector.sandbox import Fault, Sandbox
from connector.sandbox.fixtures import make_catalog
from tests.test_sandbox_support import assert_rate_headers, auth, running

Served = tuple[Sandbox, httpx.Client]
STOCK_7 = [{"SKU": "0000001", "Stock": {"Quantity": 7}}]


@pytest.fixture
def served() -> Iterator[Served]:
    with running(rate_per_minute=60, burst=10) as pair:
        pair[0].load_catalog(make_catalog(2))
        yield pair


def post_stock(client: httpx.Client, **kw: float) -> httpx.Response:
    return client.post("/v2/products", params=auth(), json=STOCK_7, **kw)  # type: ignore[arg-type]


def test_500_is_plain_text_and_applies_nothing(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="500"))
    response = post_stock(client)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Error interno del servidor."
    assert_rate_headers(response)
    assert sandbox.updates("0000001") == 0
    assert post_stock(client).status_code == 200  # consumed: the next call is normal


def test_503_counts_down_and_only_hits_its_endpoint(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="503", count=2, endpoint="POST /v2/products"))
    assert client.get("/v2/products", params=auth()).status_code == 200
    assert [post_stock(client).status_code for _ in range(3)] == [503, 503, 200]
    assert sandbox.updates("0000001") == 1
    assert [r.fault for r in sandbox.requests] == [None, "503", "503", None]


def test_faults_are_consumed_in_order(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="503"))
    sandbox.inject(Fault(kind="500"))
    statuses = [client.get("/v2/accounts", params=auth()).status_code for _ in range(3)]
    assert statuses == [503, 500, 200]


def test_injected_429_has_retry_after_and_keeps_limiter_state(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="429", retry_after=65))
    limited = post_stock(client)
    assert limited.status_code == 429
    assert limited.json() == {"Status": 429, "Message": "Too many requests"}
    assert limited.headers["x-ratelimit-retryafter"] == "65"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert sandbox.updates("0000001") == 0
    after = post_stock(client)
    assert after.headers["x-ratelimit-remaining"] == "9"  # the injected 429 used no allowance


def test_reset_drops_the_connection_before_applying(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="reset"))
    with pytest.raises(httpx.TransportError) as raised:
        post_stock(client)
    # A ReadError ("connection reset by peer"), not a clean close (RemoteProtocolError).
    assert isinstance(raised.value, httpx.ReadError)
    assert sandbox.updates("0000001") == 0
    assert sandbox.requests[-1].status == 0 and sandbox.requests[-1].fault == "reset"
    assert post_stock(client).status_code == 200  # the client reconnects


def test_reset_after_apply_applies_but_never_answers(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="reset_after_apply", endpoint="POST /v2/products"))
    with pytest.raises(httpx.TransportError):
        post_stock(client)
    assert sandbox.updates("0000001") == 1
    assert sandbox.product("0000001")["Stock"]["Quantity"] == 7
    record = sandbox.requests[-1]
    assert (record.status, record.fault) == (200, "reset_after_apply")


def test_delay_then_serves_normally(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="delay", delay_seconds=0.3))
    started = time.monotonic()
    response = post_stock(client)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200
    assert sandbox.updates("0000001") == 1


def test_timeout_holds_the_socket_and_applies_nothing(served: Served) -> None:
    sandbox, client = served
    sandbox.inject(Fault(kind="timeout", delay_seconds=1.0))
    with pytest.raises(httpx.ReadTimeout):
        post_stock(client, timeout=0.3)
    assert sandbox.updates("0000001") == 0
    assert post_stock(client).status_code == 200


def test_stop_releases_held_requests_quickly() -> None:
    with running() as (sandbox, client):
        sandbox.inject(Fault(kind="timeout", delay_seconds=30))
        errors: list[Exception] = []

        def call() -> None:
            try:
                client.get("/v2/accounts", params=auth(), timeout=10)
            except httpx.TransportError as problem:
                errors.append(problem)

        caller = threading.Thread(target=call)
        caller.start()
        deadline = time.monotonic() + 5
        while not sandbox.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        sandbox.stop()
        caller.join(timeout=5)
        assert time.monotonic() - started < 3
        assert not caller.is_alive() and len(errors) == 1
