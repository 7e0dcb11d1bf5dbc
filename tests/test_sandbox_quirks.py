"""The realistic profile: each live-API quirk on by default, off in ``kind``, switchable."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connector.errors import ConfigError
from connector.sandbox import Sandbox, SandboxControl
from connector.sandbox.fixtures import make_catalog, make_orders
from connector.sandbox.quirks import Quirks
from tests.test_sandbox_support import ACCOUNT, API_KEY, FakeClock, auth, options


def started(profile: str = "realistic", **extra: Any) -> tuple[Sandbox, httpx.Client]:
    sb = Sandbox(options(profile=profile, **extra)).start()
    return sb, httpx.Client(base_url=sb.url, timeout=10)


def numeric_catalog(n: int, *, plain: int = 0) -> list[dict[str, Any]]:
    """Products whose SKUs are digits without a leading zero (JSON numbers live), and
    ``plain`` more with the fixtures' zero-padded SKUs."""
    products = make_catalog(n + plain)
    for i, product in enumerate(products[:n]):
        product["Identification"]["SKU"] = str(7_000_001 + i)
    return products


@pytest.mark.parametrize("profile", ["realistic", "kind"])
def test_short_pages_echo_the_limit_asked(profile: str) -> None:
    sb, http = started(profile)
    with sb, http:
        sb.load_catalog(make_catalog(250))
        response = http.get("/v2/products", params=auth(limit=1000, offset=0))
        body = response.json()
    if profile == "realistic":
        assert response.status_code == 200
        assert len(body["Results"]) == 100 and body["Paging"]["Limit"] == 1000
    else:  # documented: up to the cap (1000), all of them here
        assert response.status_code == 200
        assert len(body["Results"]) == 250
    assert body["Paging"]["Total"] == 250


def test_refusal_without_validation_level_and_412() -> None:
    sb, http = started()
    with sb, http:
        sb.load_catalog(make_catalog(3))
        mixed = [{"SKU": "0000001", "Stock": {"Quantity": 4}}, {"SKU": "NOPE", "Stock": {}}]
        body = http.post("/v2/products", params=auth(), json=mixed).json()
        none_applied = http.post(
            "/v2/products", params=auth(), json=[{"SKU": "NOPE", "Stock": {"Quantity": 1}}]
        )
    item = body["Items"][0]
    assert "ValidationLevel" not in item and item["keyValue"] == "NOPE"
    assert item["ItemNumber"] == 1 and all("Level" not in m for m in item["Messages"])
    assert body["Quantities"]["Error"] == 1 and body["Quantities"]["Ok"] == 1
    assert none_applied.status_code == 412


def test_bare_412_body_names_no_item() -> None:
    sb, http = started(quirks=Quirks.profile("realistic").with_switches({"bare_412": "on"}))
    with sb, http:
        sb.load_catalog(make_catalog(1))
        response = http.post(
            "/v2/products", params=auth(), json=[{"SKU": "NOPE", "Stock": {"Quantity": 1}}]
        )
    assert response.status_code == 412 and set(response.json()) == {"Status", "Message"}


def test_a_429_starts_a_streak_of_a_whole_window() -> None:
    clock = FakeClock()
    sb, http = started(rate_per_minute=2, burst=2, window_seconds=60, clock=clock)
    with sb, http:
        codes = [http.get("/v2/accounts", params=auth()).status_code for _ in range(3)]
        clock.advance(40)  # the GCRA alone would allow a call again after 30 s
        during = http.get("/v2/accounts", params=auth())
        clock.advance(21)
        after = http.get("/v2/accounts", params=auth())
    assert codes == [200, 200, 429]
    assert during.status_code == 429
    assert int(during.headers["x-ratelimit-retryafter"]) < 60  # the headers understate it
    assert after.status_code == 200


def test_a_kind_sandbox_allows_again_after_the_emission_interval() -> None:
    clock = FakeClock()
    sb, http = started("kind", rate_per_minute=2, burst=2, window_seconds=60, clock=clock)
    with sb, http:
        codes = [http.get("/v2/accounts", params=auth()).status_code for _ in range(3)]
        clock.advance(31)
        again = http.get("/v2/accounts", params=auth()).status_code
    assert codes == [200, 200, 429] and again == 200


def test_dates_without_fraction_and_skus_as_numbers() -> None:
    sb, http = started()
    with sb, http:
        sb.load_catalog(numeric_catalog(2, plain=1))
        sb.add_orders(make_orders(2))
        products = http.get("/v2/products", params=auth()).json()["Results"]
        orders = http.get("/v2/orders", params=auth(Integrated="false")).json()["Results"]
    skus = [p["Identification"]["SKU"] for p in products]
    assert 7_000_001 in skus and "0000003" in skus  # a leading zero cannot be a number
    created = [o["DateCreated"] for o in orders]
    assert created and all(".000" not in d and d.endswith("Z") for d in created)


def test_integrate_echoes_are_misaligned() -> None:
    sb, http = started(shuffle_integrate_results=False)
    with sb, http:
        sb.add_orders(make_orders(2))
        ids = [int(o["Id"]) for o in make_orders(2)]
        marks = [{"OrderId": oid, "OwnOrderId": f"E{oid}", "Integrated": True} for oid in ids]
        marks.append({"OrderId": 999_999, "OwnOrderId": "ghost", "Integrated": True})
        results = http.put("/v2/orders/integrate", params=auth(), json=marks).json()["Results"]
    not_found = next(r for r in results if r["Status"] != "200")
    assert not_found["OrderStatus"]["OrderId"] != 999_999  # the echo names another order


def test_account_id_optional_on_account_endpoints_only() -> None:
    sb, http = started()
    with sb, http:
        accounts = http.get("/v2/accounts", params={"api_key": API_KEY})
        stores = http.get(f"/v2/accounts/{ACCOUNT}/stores", params={"api_key": API_KEY})
        products = http.get("/v2/products", params={"api_key": API_KEY})
    assert accounts.status_code == 200 and accounts.json()["Results"][0]["Id"] == ACCOUNT
    assert stores.status_code == 200
    assert products.status_code == 401


def test_quirks_switch_through_the_control_api() -> None:
    sb, http = started()
    with sb, http:
        sb.load_catalog(make_catalog(150))
        off = http.post("/_sandbox/quirks", json={"short_pages": False}).json()
        page = http.get("/v2/products", params=auth(limit=1000))
        kind = http.post("/_sandbox/quirks", json={"profile": "kind"}).json()
        bad = http.post("/_sandbox/quirks", json={"no_such_quirk": True})
        shown = http.get("/_sandbox/quirks").json()
    assert off["short_pages"] is False and off["streak_429"] is True
    assert len(page.json()["Results"]) == 150
    assert not any(v is True for v in kind.values()) and shown == kind
    assert bad.status_code == 400 and "no_such_quirk" in bad.json()["Message"]


def test_unknown_quirk_or_profile_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox profile"):
        options(profile="cruel")
    with pytest.raises(ConfigError, match="say on or off"):
        Quirks().with_switches({"plain_dates": "maybe"})


def test_quirks_switch_from_python_and_the_remote_control() -> None:
    sb, http = started()
    with sb, http, SandboxControl(sb.url) as control:
        sb.set_quirks(plain_dates=False)
        assert sb.options.quirks.plain_dates is False and sb.options.quirks.streak_429
        shown = control.set_quirks(profile="kind", numeric_skus=True)
    assert shown["numeric_skus"] is True and shown["short_pages"] is False
