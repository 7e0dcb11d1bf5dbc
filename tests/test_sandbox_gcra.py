"""GCRA rate limiting: the limiter alone with a fake clock, then over HTTP."""

from __future__ import annotations

import time

import pytest

from connector.sandbox.fixtures import make_catalog
from connector.sandbox.gcra import RateLimiter
from tests.test_sandbox_support import (
    ACCOUNT,
    API_KEY,
    FakeClock,
    assert_rate_headers,
    auth,
    running,
)


def limiter(clock: FakeClock, rate: int = 30, burst: int = 30, **kw: object) -> RateLimiter:
    return RateLimiter(rate_per_window=rate, burst=burst, window_seconds=60, clock=clock, **kw)  # type: ignore[arg-type]


def test_burst_then_limited_with_redis_cell_numbers() -> None:
    clock = FakeClock()
    gcra = limiter(clock)
    first = gcra.check("k", "GET /v2/products")
    assert (first.allowed, first.limit, first.remaining, first.reset, first.retry_after) == (
        True,
        30,
        29,
        2,
        -1,
    )
    for _ in range(29):
        last = gcra.check("k", "GET /v2/products")
    assert last.allowed and last.remaining == 0 and last.reset == 60
    refused = gcra.check("k", "GET /v2/products")
    assert not refused.allowed
    assert (refused.remaining, refused.retry_after, refused.reset) == (0, 2, 60)
    clock.advance(1.5)  # not yet: one emission interval is 2 s; values are truncated
    again = gcra.check("k", "GET /v2/products")
    assert not again.allowed and again.retry_after == 0 and again.reset == 58
    clock.advance(0.5)
    assert gcra.check("k", "GET /v2/products").allowed


def test_refusal_changes_no_state() -> None:
    clock = FakeClock()
    gcra = limiter(clock, rate=2, burst=1)
    assert gcra.check("k", "E").allowed
    for _ in range(5):
        assert not gcra.check("k", "E").allowed  # hammering does not push recovery further
    clock.advance(30)
    assert gcra.check("k", "E").allowed


def test_full_recovery_after_the_window() -> None:
    clock = FakeClock()
    gcra = limiter(clock, rate=4, burst=4)
    for _ in range(4):
        gcra.check("k", "E")
    clock.advance(60)
    fresh = gcra.check("k", "E")
    assert fresh.allowed and fresh.remaining == 3


def test_buckets_are_per_key_and_endpoint_and_overrides_apply() -> None:
    clock = FakeClock()
    gcra = limiter(clock, rate=1, burst=1, overrides={"POST /v2/products": (10, 3)})
    assert gcra.check("k", "GET /v2/orders").allowed
    assert not gcra.check("k", "GET /v2/orders").allowed
    assert gcra.check("other-key", "GET /v2/orders").allowed
    assert gcra.check("k", "GET /v2/products").allowed
    posts = [gcra.check("k", "post /v2/products") for _ in range(4)]
    assert [d.allowed for d in posts] == [True, True, True, False]
    assert posts[0].limit == 3


def test_second_grace_forgives_sub_second_earliness() -> None:
    clock = FakeClock()
    gcra = limiter(clock, rate=60, burst=1, second_grace=True)  # one call per second
    assert gcra.check("k", "E").allowed
    clock.advance(0.2)
    assert gcra.check("k", "E").allowed  # 0.8 s early: redis-cell lets it through


def test_http_burst_then_429_with_headers_and_nothing_applied() -> None:
    clock = FakeClock()
    with running(rate_per_minute=6, burst=3, clock=clock) as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        for expected_remaining in (2, 1, 0):
            ok = client.get("/v2/products", params=auth())
            assert ok.status_code == 200
            assert ok.headers["x-ratelimit-remaining"] == str(expected_remaining)
            assert ok.headers["x-ratelimit-retryafter"] == "-1"
        limited = client.get("/v2/products", params=auth())
        assert limited.status_code == 429
        assert limited.json() == {"Status": 429, "Message": "Too many requests"}
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-retryafter"]) > 0
        assert limited.headers["x-ratelimit-limit"] == "3"
        # Per endpoint: POST has its own bucket, so it is served...
        body = [{"SKU": "0000001", "Stock": {"Quantity": 11}}]
        for _ in range(3):
            assert client.post("/v2/products", params=auth(), json=body).status_code == 200
        assert sandbox.updates("0000001") == 3
        # ...until its bucket is empty too: the 429 applies nothing.
        refused = client.post(
            "/v2/products", params=auth(), json=[{"SKU": "0000001", "Stock": {"Quantity": 99}}]
        )
        assert refused.status_code == 429
        assert_rate_headers(refused)
        assert sandbox.updates("0000001") == 3
        assert sandbox.product("0000001")["Stock"]["Quantity"] == 11
        clock.advance(10)  # one emission interval at 6 per minute
        assert client.get("/v2/products", params=auth()).status_code == 200


def test_http_recovery_after_the_scaled_window_in_real_time() -> None:
    with running(rate_per_minute=3, burst=3, window_seconds=0.6) as (_, client):
        statuses = [client.get("/v2/accounts", params=auth()).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        time.sleep(0.65)
        assert [client.get("/v2/accounts", params=auth()).status_code for _ in range(3)] == [
            200
        ] * 3


def test_http_allowance_is_shared_by_accounts_of_one_key() -> None:
    clock = FakeClock()
    with running(rate_per_minute=2, burst=2, clock=clock, linked_account_ids=(2002,)) as (
        _,
        client,
    ):
        assert client.get("/v2/accounts", params=auth()).status_code == 200
        other: dict[str, str | int] = {"API_KEY": API_KEY, "accountId": 2002}
        assert client.get("/v2/accounts", params=other).status_code == 200
        assert (
            client.get(
                "/v2/accounts", params={"api_key": API_KEY, "accountId": ACCOUNT}
            ).status_code
            == 429
        )


@pytest.mark.parametrize("endpoint", ["GET /v2/orders", "PUT /v2/orders/integrate"])
def test_http_per_endpoint_override(endpoint: str) -> None:
    clock = FakeClock()
    with running(rate_limits={endpoint: (1, 1)}, clock=clock) as (_, client):
        method, path = endpoint.split(" ")
        first = client.request(method, path, params=auth(), json=[] if method == "PUT" else None)
        second = client.request(method, path, params=auth(), json=[] if method == "PUT" else None)
        assert (first.status_code, second.status_code) == (200, 429)
        assert second.headers["x-ratelimit-retryafter"] == "60"
        assert client.get("/v2/accounts", params=auth()).status_code == 200
