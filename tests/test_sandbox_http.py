"""The sandbox as an HTTP server: routing, auth, headers, binding, logging, control API."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from connector.errors import ConfigError
from connector.sandbox import Fault, Sandbox, SandboxControl, SandboxOptions
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.test_sandbox_support import ACCOUNT, API_KEY, assert_rate_headers, auth, running


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, httpx.Client]]:
    with running(linked_account_ids=(2002,)) as pair:
        pair[0].load_catalog(make_catalog(3))
        yield pair


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"accountId": ACCOUNT},
        {"API_KEY": "wrong", "accountId": ACCOUNT},
        {"API_KEY": API_KEY},
        {"API_KEY": API_KEY, "accountId": 9999},
        {"API_KEY": API_KEY, "accountId": "abc"},
    ],
    ids=["nothing", "no-key", "wrong-key", "no-account", "unlinked-account", "bad-account"],
)
def test_auth_failures_are_401_json_with_rate_headers(
    served: tuple[Sandbox, httpx.Client], params: dict[str, str | int]
) -> None:
    _sandbox, client = served
    response = client.get("/v2/products", params=params)
    assert response.status_code == 401
    assert response.json()["Status"] == 401
    assert response.json()["Message"]
    assert_rate_headers(response)


def test_auth_names_are_case_insensitive_and_linked_accounts_work(
    served: tuple[Sandbox, httpx.Client],
) -> None:
    _, client = served
    cases: tuple[dict[str, str | int], ...] = (
        {"api_key": API_KEY, "accountid": ACCOUNT},
        {"Api_Key": API_KEY, "ACCOUNTID": 2002},
    )
    for params in cases:
        response = client.get("/v2/accounts", params=params)
        assert response.status_code == 200
        assert [a["Id"] for a in response.json()["Results"]] == [ACCOUNT, 2002]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v2/products", 200),
        ("GET", "/V2/Products/", 200),  # routes ignore case and a trailing slash
        ("GET", "/v2/accounts/1001/pricelists", 200),
        ("GET", "/v2/accounts/pricelists", 200),
        ("GET", "/v2/accounts/1001/marketplaces", 200),
        ("GET", "/v2/accounts/1001/stores", 200),
        ("GET", "/v2/accounts/4242/stores", 404),
        ("GET", "/v2/nothing-here", 404),
        ("DELETE", "/v2/products", 405),
        ("POST", "/v2/products", 400),  # no body
    ],
)
def test_routes_and_headers_on_every_response(
    served: tuple[Sandbox, httpx.Client], method: str, path: str, status: int
) -> None:
    _, client = served
    response = client.request(method, path, params=auth())
    assert response.status_code == status
    assert_rate_headers(response)
    if status >= 400:
        assert response.json()["Status"] == status


def test_account_endpoints_return_configured_lists(served: tuple[Sandbox, httpx.Client]) -> None:
    _, client = served
    lists = client.get("/v2/accounts/1001/pricelists", params=auth()).json()["Results"]
    assert lists == [{"Id": 1, "Name": "Lista general", "DiscountRate": 0}]
    markets = client.get("/v2/accounts/1001/marketplaces", params=auth()).json()["Results"]
    assert {"Id": 1, "Name": "Mercado Libre"} in markets
    stores = client.get("/v2/accounts/1001/stores", params=auth()).json()
    assert stores["Total"] == 1 and stores["Results"][0]["IsPrincipal"] is True


def test_unknown_query_parameters_are_ignored_and_bad_values_are_400(
    served: tuple[Sandbox, httpx.Client],
) -> None:
    _, client = served
    ok = client.get("/v2/products", params=auth(dateUpdateFrom="whatever", foo="bar"))
    assert ok.status_code == 200 and ok.json()["Total"] == 3
    bad = client.get("/v2/products", params=auth(limit="ten"))
    assert bad.status_code == 400 and "limit" in bad.json()["Message"]
    bad_date = client.get("/v2/products", params=auth(dateUpdatedFrom="01/05/2024"))
    assert bad_date.status_code == 400


def test_request_log_masks_the_key_and_logs_never_show_it(
    served: tuple[Sandbox, httpx.Client], caplog: pytest.LogCaptureFixture
) -> None:
    sandbox, client = served
    caplog.set_level(logging.DEBUG, logger="connector.sandbox")
    client.post("/v2/products", params=auth(), json=[{"SKU": "0000001", "Stock": {"Quantity": 1}}])
    client.get("/v2/products", params={"api_key": "another-secret-value", "accountId": ACCOUNT})
    records = sandbox.requests
    assert [r.status for r in records] == [200, 401]
    assert records[0].query == {"API_KEY": "***", "accountId": str(ACCOUNT)}
    assert records[0].endpoint == "POST /v2/products"
    assert records[0].body == [{"SKU": "0000001", "Stock": {"Quantity": 1}}]
    assert records[1].query["api_key"] == "***"
    sandbox_log = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("connector.sandbox")
    )
    assert "POST /v2/products -> 200" in sandbox_log
    assert "GET /v2/products -> 401" in sandbox_log
    assert API_KEY not in sandbox_log and "another-secret-value" not in sandbox_log
    assert API_KEY not in repr(sandbox) and API_KEY not in repr(sandbox.options)
    sandbox.reset_requests()
    assert sandbox.requests == []


def test_oversized_body_is_413_without_reading_it() -> None:
    with running(max_body_bytes=100) as (sandbox, client):
        sandbox.load_catalog(make_catalog(1))
        big = [{"SKU": "0000001", "Stock": {"Quantity": 1}}] * 20
        response = client.post("/v2/products", params=auth(), json=big)
        assert response.status_code == 413
        assert_rate_headers(response)
        assert sandbox.updates("0000001") == 0


def test_control_api_over_http_mirrors_the_python_api(served: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, client = served
    with SandboxControl(sandbox.url) as control:
        control.load_catalog(make_catalog(2, sku_prefix="R-"))
        control.add_orders(make_orders(2, start_id=8001))
        client.post(
            "/v2/products", params=auth(), json=[{"SKU": "R-0000001", "Stock": {"Quantity": 4}}]
        )
        assert control.product("R-0000001")["Stock"]["Quantity"] == 4
        assert control.updates("R-0000001") == 1
        control.cancel_order(8001, status=93)
        assert control.order(8001)["Status"]["Key"] == 93
        control.inject(Fault(kind="503", endpoint="GET /v2/orders"))
        assert client.get("/v2/orders", params=auth()).status_code == 503
        assert [r.endpoint for r in control.requests] == ["POST /v2/products", "GET /v2/orders"]
        control.reset()
        assert control.requests == []
        with pytest.raises(KeyError):
            control.product("nope")
        with pytest.raises(KeyError):
            control.order(123)
    bad = client.post("/_sandbox/faults", json={"kind": "explode"})
    assert bad.status_code == 400
    assert client.get("/_sandbox/nothing").status_code == 404


def test_pending_payment_approval_over_control_api(served: tuple[Sandbox, httpx.Client]) -> None:
    sandbox, client = served
    from connector.sandbox.fixtures import pending_payment_order

    with SandboxControl(sandbox.url) as control:
        control.add_orders([pending_payment_order(9001)])
        assert client.get("/v2/orders", params=auth()).json()["Total"] == 0
        control.approve_payment(9001)
        assert [o["Id"] for o in client.get("/v2/orders", params=auth()).json()["Results"]] == [
            9001
        ]


def test_busy_port_is_a_plain_config_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match="choose another port"):
            Sandbox(SandboxOptions(port=port)).start()


def test_stop_is_idempotent_and_url_needs_a_started_sandbox() -> None:
    sandbox = Sandbox(SandboxOptions(api_key=API_KEY))
    with pytest.raises(RuntimeError):
        _ = sandbox.url
    sandbox.start()
    url = sandbox.url
    assert url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=url, timeout=2) as pooled:
        assert pooled.get("/v2/accounts", params=auth()).status_code == 200
        sandbox.stop()
        sandbox.stop()
        with pytest.raises(httpx.TransportError):  # not even on the kept-alive connection
            pooled.get("/v2/accounts", params=auth())
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/v2/accounts", timeout=2)


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="window_seconds"):
        SandboxOptions(window_seconds=0)
    with pytest.raises(ConfigError, match="all_failed_status"):
        SandboxOptions(all_failed_status=200)
    with pytest.raises(ConfigError, match="fault kind"):
        Fault(kind="boom")
