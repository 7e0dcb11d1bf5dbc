"""The client copes with each live-API quirk of the realistic sandbox (each test fails on the
code before the quirk was handled: see the comment that names what it used to do)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from connector.alephee.client import AlephClient
from connector.alephee.models import IntegrateMark, ProductStock, ProductUpdate
from connector.alephee.profile import open_client
from connector.config import load_config
from connector.errors import AlephUnavailable, NothingApplied
from connector.outbox.typed import to_moment
from connector.sandbox import Sandbox, SandboxOptions
from connector.sandbox.fixtures import make_catalog, make_orders
from connector.sandbox.quirks import Quirks
from tests.client_support import FakeTime, retry, settings
from tests.conftest import ACCOUNT, CANARY_KEY, write_config
from tests.test_sandbox_quirks import numeric_catalog


def sandbox(fake: FakeTime, **extra: Any) -> Sandbox:
    values: dict[str, Any] = {"rate_per_minute": 10_000, "burst": 10_000}
    values.update(extra)
    return Sandbox(
        SandboxOptions(api_key=CANARY_KEY, account_id=ACCOUNT, clock=fake.clock, **values)
    ).start()


def client_for(sb: Sandbox, fake: FakeTime, **retry_extra: Any) -> AlephClient:
    return AlephClient(
        settings(sb.url, products_page_size=1000),
        retry(**retry_extra),
        sleep=fake.sleep,
        clock=fake.clock,
        seed=3,
    )


def stock(sku: str, qty: int) -> ProductUpdate:
    return ProductUpdate(SKU=sku, Stock=ProductStock(Quantity=qty))


def test_short_pages_are_followed_to_the_total(caplog: pytest.LogCaptureFixture) -> None:
    # Before: the offset advanced by the echoed Paging.Limit (1000): 100 of 2,350 products.
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.load_catalog(make_catalog(2350))
        with client_for(sb, fake) as client:
            skus = [p.identification.sku for p in client.iter_catalog()]
        calls = [r for r in sb.requests if r.endpoint == "GET /v2/products"]
    assert len(skus) == 2350 == len(set(skus))
    assert len(calls) == 24 and all(r.query["limit"] == "1000" for r in calls)
    caps = [r for r in caplog.records if "real page cap is 100" in r.getMessage()]
    assert len(caps) == 1  # said once, not per page


def test_a_catalog_smaller_than_the_cap_takes_one_call() -> None:
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.load_catalog(make_catalog(60))
        with client_for(sb, fake) as client:
            assert len(list(client.iter_catalog())) == 60
        assert len([r for r in sb.requests if r.endpoint == "GET /v2/products"]) == 1


def test_refusals_without_validation_level_are_refusals() -> None:
    # Before: an item without ValidationLevel counted as level 99, Ok: refused but "accepted".
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.load_catalog(make_catalog(5))
        with client_for(sb, fake) as client:
            results = client.post_products([stock("0000001", 3), stock("NOPE-1", 1)])
    assert results["0000001"].ok
    assert not results["NOPE-1"].ok and not results["NOPE-1"].transient
    assert "producto" in results["NOPE-1"].message.lower()


def test_counts_that_name_no_failed_item_leave_everything_unclear() -> None:
    # Before: a 200 counting an error it did not name recorded every item as accepted.
    fake = FakeTime()
    quirks = Quirks.profile("realistic").with_switches({"unnamed_errors": True})
    with sandbox(fake, quirks=quirks) as sb:
        sb.load_catalog(make_catalog(5))
        with client_for(sb, fake) as client:
            results = client.post_products([stock("0000001", 3), stock("NOPE-1", 1)])
    assert all(not r.ok and r.transient for r in results.values())


def test_412_nothing_applied_with_and_without_items() -> None:
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.load_catalog(make_catalog(2))
        with client_for(sb, fake) as client:
            listed = client.post_products([stock("NOPE-1", 1), stock("NOPE-2", 1)])
            sb.options.quirks = sb.options.quirks.with_switches({"bare_412": True})
            with pytest.raises(NothingApplied) as bare:
                client.post_products([stock("NOPE-3", 1)])
        statuses = [r.status for r in sb.requests if r.endpoint == "POST /v2/products"]
    assert statuses == [412, 412]
    assert all(not r.ok and not r.transient for r in listed.values())
    assert bare.value.status == 412  # the caller decides: request-level or this item


def test_a_429_streak_is_waited_out_not_hammered() -> None:
    # Before: about retryafter (1 s) + jitter per attempt, 6 attempts: out in ~10 s, exit 3.
    fake = FakeTime()
    with sandbox(fake, rate_per_minute=30, burst=30, window_seconds=60) as sb:
        other = httpx.Client(base_url=sb.url)  # another integration drains the same key
        with other:
            codes = [
                other.get("/v2/accounts", params={"API_KEY": CANARY_KEY}).status_code
                for _ in range(31)
            ]
        assert codes[-1] == 429  # the streak has started
        sb.reset_requests()
        with client_for(sb, fake, max_attempts=6) as client:
            for _ in range(4):
                client.accounts()
        statuses = [r.status for r in sb.requests]
    assert statuses.count(200) == 4
    assert statuses.count(429) <= 3, statuses
    assert max(fake.sleeps) >= 60 and sum(fake.sleeps) < 200


def test_a_streak_longer_than_the_budget_stops_with_exit_3() -> None:
    fake = FakeTime()
    with sandbox(fake, rate_per_minute=1, burst=1, window_seconds=600) as sb:
        with client_for(sb, fake, budget_seconds=150) as client:
            client.accounts()
            with pytest.raises(AlephUnavailable) as stop:
                client.accounts()
        tries = len(sb.requests)
    assert stop.value.exit_code == 3
    assert sum(fake.sleeps) <= 150 and tries <= 5


def test_skus_as_json_numbers_keep_their_digits() -> None:
    # Before: pydantic refused an int where the SKU is a str: the catalog refresh crashed.
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.load_catalog(numeric_catalog(3, plain=1))
        with client_for(sb, fake) as client:
            skus = sorted(p.identification.sku for p in client.iter_catalog())
            results = client.post_products([stock("7000001", 2), stock("7999999", 1)])
    assert skus == ["0000004", "7000001", "7000002", "7000003"]
    assert results["7000001"].ok and not results["7999999"].ok


def test_misaligned_integrate_echoes_never_misattribute() -> None:
    # Before: matched by the echo, the ghost's "Order not found" landed on a real order.
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.add_orders(make_orders(4))
        ids = [int(o["Id"]) for o in make_orders(4)]
        marks = [IntegrateMark(OrderId=oid, OwnOrderId=f"E-{oid}") for oid in ids]
        marks.append(IntegrateMark(OrderId=999_999, OwnOrderId="ghost"))
        with client_for(sb, fake) as client:
            results = client.integrate(marks)
    assert all(results[oid].status == "200" for oid in ids)
    assert results[999_999].status != "200"


def test_all_ok_integrate_needs_one_call() -> None:
    fake = FakeTime()
    with sandbox(fake) as sb:
        sb.add_orders(make_orders(4))
        ids = [int(o["Id"]) for o in make_orders(4)]
        with client_for(sb, fake) as client:
            results = client.integrate([IntegrateMark(OrderId=i, OwnOrderId="x") for i in ids])
        calls = len(sb.requests)
    assert calls == 1 and all(results[i].status == "200" for i in ids)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T10:20:30Z",
        "2026-12-01T10:20:30.5Z",
        "2026-12-01T10:20:30.687Z",
        "2026-12-01T07:20:30-03:00",
        "2026-12-01T10:20:30.1234567+00:00",
    ],
)
def test_dates_with_or_without_fraction_or_offset(text: str) -> None:
    moment = to_moment(text, ZoneInfo("America/Argentina/Buenos_Aires"))
    assert moment is not None
    assert moment.astimezone(UTC).replace(microsecond=0) == datetime(
        2026, 12, 1, 10, 20, 30, tzinfo=UTC
    )


def test_run_leaves_part_of_the_key_to_other_integrations(tmp_path: Path) -> None:
    """``run`` opens its client with ``shared_key``: at most ``run_rate_share`` of the key's
    limit per endpoint in any minute (the property is tested in test_results_properties)."""
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9"))
    (config.folders.state).mkdir(parents=True, exist_ok=True)
    with open_client(config) as once_client, open_client(config, shared_key=True) as shared:
        assert once_client.pacer.share == 1.0
        assert shared.pacer.share == config.retry.run_rate_share == 0.5
        assert shared.products_page_size == 100  # nothing measured yet
    (config.folders.state / "api-profile.json").write_text('{"products_page_cap": 1000}')
    with open_client(config) as measured:
        assert measured.products_page_size == 1000


def test_an_info_without_level_is_read_from_the_counts() -> None:
    fake = FakeTime()
    with sandbox(fake, info_on_unchanged=True) as sb:
        sb.load_catalog(make_catalog(3))
        with client_for(sb, fake) as client:
            client.post_products([stock("0000001", 3)])
            infos = client.post_products([stock("0000001", 3), stock("0000002", 5)])
            mixed = client.post_products([stock("0000001", 3), stock("NOPE", 1)])
            alone = client.post_products([stock("NOPE", 1)])
    assert infos["0000001"].ok and infos["0000002"].ok  # an Info is applied
    # one Error and one Info, neither with a level: the counts cannot say which is which
    assert all(r.transient for r in mixed.values())
    assert not alone["NOPE"].ok and not alone["NOPE"].transient  # alone, it is clear
