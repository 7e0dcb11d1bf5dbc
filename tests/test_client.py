"""The Alephee client against the sandbox over real sockets; waits through a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.alephee.client import AlephClient
from connector.alephee.models import IntegrateMark, ProductStock, ProductUpdate
from connector.errors import AlephUnavailable, AuthError
from connector.sandbox import Fault, Sandbox, SandboxOptions
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.client_support import FakeTime, retry, settings
from tests.conftest import ACCOUNT, CANARY_KEY


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def sandbox(fake: FakeTime) -> Iterator[Sandbox]:
    opts = SandboxOptions(
        api_key=CANARY_KEY, account_id=ACCOUNT, clock=fake.clock, rate_per_minute=1000, burst=1000
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(60))
        yield sb


def client_for(sb: Sandbox, fake: FakeTime, **extra: object) -> AlephClient:
    retry_extra = {k: extra.pop(k) for k in list(extra) if k in ("max_attempts", "budget_seconds")}
    return AlephClient(
        settings(sb.url, **extra), retry(**retry_extra), sleep=fake.sleep, clock=fake.clock, seed=1
    )


def stock(sku: str, qty: int) -> ProductUpdate:
    return ProductUpdate(SKU=sku, Stock=ProductStock(Quantity=qty))


def test_429_waits_retryafter_plus_jitter_then_succeeds(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="429", retry_after=7, endpoint="POST /v2/products"))
    with client_for(sandbox, fake) as client:
        result = client.post_products([stock("0000001", 5)])
    assert result["0000001"].ok
    assert len(fake.sleeps) == 1 and 7.0 <= fake.sleeps[0] <= 8.0
    assert sandbox.product("0000001")["Stock"]["Quantity"] == 5


def test_three_503_then_success_with_growing_backoff(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="503", count=3))
    with client_for(sandbox, fake) as client:
        assert client.post_products([stock("0000002", 9)])["0000002"].ok
    assert len(fake.sleeps) == 3
    for attempt, wait in enumerate(fake.sleeps, start=1):
        assert 2 ** (attempt - 1) / 2 <= wait <= 2 ** (attempt - 1)
    assert sandbox.updates("0000002") == 1


def test_connection_reset_is_retried(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="reset"))
    with client_for(sandbox, fake) as client:
        assert client.post_products([stock("0000003", 1)])["0000003"].ok
    assert len(fake.sleeps) == 1


def test_500_plain_text_body_is_retried(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="500"))
    with client_for(sandbox, fake) as client:
        assert len(client.accounts()) >= 1
    assert len(fake.sleeps) == 1


def test_413_splits_the_batch_and_lowers_the_cap(fake: FakeTime) -> None:
    opts = SandboxOptions(
        api_key=CANARY_KEY,
        account_id=ACCOUNT,
        clock=fake.clock,
        products_max_items=10,
        rate_per_minute=1000,
        burst=1000,
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(25))
        with client_for(sb, fake, batch_size=25) as client:
            items = [stock(f"{i:07d}", 40 + i) for i in range(1, 26)]
            results = client.post_products(items)
            assert all(r.ok for r in results.values()) and len(results) == 25
            assert client.products_cap <= 10
        statuses = [r.status for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert statuses.count(413) >= 1
        assert all(sb.product(f"{i:07d}")["Stock"]["Quantity"] == 40 + i for i in range(1, 26))
        assert fake.sleeps == []  # a 413 is not a wait


def test_partial_failure_is_mapped_by_sku(sandbox: Sandbox, fake: FakeTime) -> None:
    items = [stock("0000004", 3), stock("NOPE-1", 2), stock("0000005", 8)]
    with client_for(sandbox, fake) as client:
        results = client.post_products(items)
    assert results["0000004"].ok and results["0000005"].ok
    assert not results["NOPE-1"].ok
    assert "producto" in results["NOPE-1"].message.lower()


def test_all_failed_batch_is_rejected_per_item(sandbox: Sandbox, fake: FakeTime) -> None:
    with client_for(sandbox, fake) as client:
        results = client.post_products([stock("NOPE-1", 2), stock("NOPE-2", 2)])
    assert not results["NOPE-1"].ok and not results["NOPE-2"].ok
    assert not results["NOPE-1"].transient


def test_401_stops_at_once_without_retrying(sandbox: Sandbox, fake: FakeTime) -> None:
    with client_for(sandbox, fake, key="WRONG-KEY-123") as client, pytest.raises(AuthError) as err:
        client.accounts()
    assert fake.sleeps == []
    assert len(sandbox.requests) == 1
    assert "ALEPHEE_API_KEY" in str(err.value)


def test_retry_budget_exhausted_raises_alephunavailable(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="503", count=50))
    with client_for(sandbox, fake, max_attempts=50, budget_seconds=20) as client:
        with pytest.raises(AlephUnavailable) as err:
            client.post_products([stock("0000006", 1)])
    assert err.value.exit_code == 3
    assert sum(fake.sleeps) <= 20
    assert "next run" in str(err.value)


def test_max_attempts_is_respected(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="503", count=50))
    with client_for(sandbox, fake, max_attempts=3) as client, pytest.raises(AlephUnavailable):
        client.accounts()
    assert len(sandbox.requests) == 3 and len(fake.sleeps) == 2


def test_paces_itself_before_hitting_the_rate_limit(fake: FakeTime) -> None:
    opts = SandboxOptions(
        api_key=CANARY_KEY, account_id=ACCOUNT, clock=fake.clock, rate_per_minute=6, burst=6
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(5))
        with client_for(sb, fake) as client:
            for _ in range(15):
                client.accounts()
        statuses = [r.status for r in sb.requests]
    assert statuses.count(429) == 0, statuses
    assert len(statuses) == 15
    assert sum(fake.sleeps) > 60  # 15 calls at 6/min need more than a minute


def test_catalog_paging_uses_the_206_cap(fake: FakeTime) -> None:
    opts = SandboxOptions(
        profile="kind",  # the documented 206 (test_client_quirks: the live short pages)
        api_key=CANARY_KEY,
        account_id=ACCOUNT,
        clock=fake.clock,
        products_page_cap=1000,
        rate_per_minute=1000,
        burst=1000,
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(2500))
        with client_for(sb, fake, products_page_size=1000) as client:
            skus = [p.identification.sku for p in client.iter_catalog()]
        assert len(skus) == 2500 == len(set(skus))
        assert len([r for r in sb.requests if r.endpoint == "GET /v2/products"]) == 3


def test_integrate_results_matched_by_order_id(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.add_orders(make_orders(6))
    marks = [
        IntegrateMark(OrderId=5001 + i, OwnOrderId=f"ERP-{i}", ErpStatus="ok") for i in range(6)
    ]
    marks.append(IntegrateMark(OrderId=999_999, OwnOrderId="ghost", ErpStatus="ok"))
    with client_for(sandbox, fake) as client:
        results = client.integrate(marks)
    assert all(results[5001 + i].status == "200" for i in range(6))
    assert results[999_999].status != "200"
    assert sandbox.order(5003)["IntegratedOrderId"] == "ERP-2"


def test_integrate_413_splits_down_to_the_cap(fake: FakeTime) -> None:
    opts = SandboxOptions(
        api_key=CANARY_KEY,
        account_id=ACCOUNT,
        clock=fake.clock,
        integrate_max_items=1,
        rate_per_minute=1000,
        burst=1000,
    )
    with Sandbox(opts) as sb, client_for(sb, fake) as client:
        sb.add_orders(make_orders(3))
        marks = [IntegrateMark(OrderId=5001 + i, OwnOrderId="x", ErpStatus="s") for i in range(3)]
        assert set(client.integrate(marks)) == {5001, 5002, 5003}
        assert all(sb.order(5001 + i)["Integrated"] for i in range(3))


def test_products_413_splits_down_to_single_items(fake: FakeTime) -> None:
    opts = SandboxOptions(
        api_key=CANARY_KEY,
        account_id=ACCOUNT,
        clock=fake.clock,
        products_max_items=1,
        rate_per_minute=1000,
        burst=1000,
    )
    with Sandbox(opts) as sb, client_for(sb, fake) as client:
        sb.inject(Fault(kind="500", count=1))  # noise first: still one clean 413 path after
        sb.load_catalog(make_catalog(2))
        client.products_cap = 5
        results = client.post_products([stock("0000001", 1), stock("0000002", 2)])
        assert all(r.ok for r in results.values())


def test_the_key_is_never_in_errors_or_reprs(sandbox: Sandbox, fake: FakeTime) -> None:
    sandbox.inject(Fault(kind="reset", count=50))
    client = client_for(sandbox, fake, max_attempts=2)
    with pytest.raises(AlephUnavailable) as err:
        client.accounts()
    assert CANARY_KEY not in str(err.value) and CANARY_KEY not in repr(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert CANARY_KEY not in repr(client) and CANARY_KEY not in repr(client.settings)
    client.close()


def test_order_status_update_matched_by_order_id(sandbox: Sandbox, fake: FakeTime) -> None:
    from connector.alephee.models import StatusUpdate

    sandbox.add_orders(make_orders(2))
    updates = [
        StatusUpdate(OrderId=5001, Status=20, Tracking={"Number": "AR1", "Status": "en viaje"}),
        StatusUpdate(OrderId=5002, Status=90),  # 90 only for orders created through the API
    ]
    with client_for(sandbox, fake) as client:
        results = client.update_status(updates)
    assert results[5001].status == "200"
    assert results[5002].status != "200" and results[5002].message
    assert sandbox.order(5001)["Status"]["Key"] == 20


def test_the_vendor_samples_parse_through_the_models() -> None:
    import json
    from pathlib import Path

    from connector.alephee.models import CatalogProduct, OrderHead, Page

    samples = Path(__file__).parent / "data" / "samples"
    products = Page.model_validate(
        json.loads((samples / "swagger-products-response.json").read_text())
    )
    catalog = [CatalogProduct.model_validate(row) for row in products.results]
    assert catalog and catalog[0].identification.sku == "string"
    orders = Page.model_validate(json.loads((samples / "swagger-orders-response.json").read_text()))
    heads = [OrderHead.model_validate(row) for row in orders.results]
    assert heads[0].id == 0 and heads[0].is_complete_pack_order is True
    lowered = {k.lower(): v for k, v in orders.results[0].items()}  # keys in any casing
    assert OrderHead.model_validate(lowered).id == 0
