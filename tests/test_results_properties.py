"""Invariants of result handling, over generated answers: nothing is acknowledged by silence,
paging never skips or repeats a product, and the pacer never exceeds the share it is given."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.alephee.client import AlephClient
from connector.alephee.models import ActionResult, ProductStock, ProductUpdate
from connector.alephee.ratelimit import Pacer
from connector.alephee.results import match_products
from connector.sandbox import Sandbox, SandboxOptions
from connector.sandbox.fixtures import make_catalog
from connector.sandbox.quirks import Quirks
from tests.client_support import FakeTime, retry
from tests.client_support import settings as client_settings
from tests.conftest import ACCOUNT, CANARY_KEY


@st.composite
def answers(draw: st.DrawFn) -> tuple[list[ProductUpdate], dict[str, Any], set[str]]:
    """A batch, an honest count of its outcomes, and a list that may leave failed items out,
    list refused items without ``ValidationLevel`` (``keyValue``), or list applied items for
    an Info with or without a level; and the SKUs that truly failed."""
    n = draw(st.integers(1, 12))
    skus = [f"S{i:03d}" for i in range(n)]
    failed = set(draw(st.sets(st.sampled_from(skus))))
    items, infos = [], 0
    for sku in skus:
        if sku in failed and draw(st.booleans()):  # a failed item may be left out of the list
            key = draw(st.sampled_from(["KeyValue", "keyValue"]))
            entry: dict[str, Any] = {key: sku, "Messages": [{"Message": "no"}]}
            if draw(st.booleans()):
                entry["ValidationLevel"] = {"Id": 0, "Name": "Error"}
            items.append(entry)
        elif sku not in failed and draw(st.integers(0, 3)) == 0:  # applied, with an Info
            infos += 1
            entry = {"KeyValue": sku, "Messages": [{"Message": "Sin cambios."}]}
            if draw(st.booleans()):
                entry["ValidationLevel"] = {"Id": 2, "Name": "Info"}
            items.append(entry)
    body: dict[str, Any] = {"Items": draw(st.permutations(items))}
    if draw(st.integers(0, 9)) > 0:  # an answer without counts acknowledges nothing silently
        body["Quantities"] = {
            "Ok": n - len(failed) - infos,
            "Info": infos,
            "Error": len(failed),
            "Total": n,
        }
    batch = [ProductUpdate(SKU=s, Stock=ProductStock(Quantity=1)) for s in skus]
    return batch, body, failed


@settings(max_examples=300, deadline=None)
@given(answers())
def test_no_failed_item_is_ever_accepted(case: tuple[list[ProductUpdate], Any, set[str]]) -> None:
    batch, body, failed = case
    results = match_products(batch, ActionResult.model_validate(body))
    assert set(results) == {item.sku for item in batch}
    for sku in failed:
        assert not results[sku].ok  # refused, or unclear and kept queued
    for sku, outcome in results.items():
        if not outcome.ok and not outcome.transient:
            assert sku in failed  # a refusal is only ever recorded for a failed item


@settings(max_examples=8, deadline=None)
@given(
    total=st.integers(0, 450),
    cap=st.integers(1, 150),
    asked=st.sampled_from([50, 100, 1000]),
)
def test_paging_gets_every_product_exactly_once(total: int, cap: int, asked: int) -> None:
    fake = FakeTime()
    quirks = Quirks.profile("realistic").with_switches({"page_cap": cap})
    opts = SandboxOptions(
        api_key=CANARY_KEY, account_id=ACCOUNT, quirks=quirks, rate_per_minute=10**5, burst=10**5
    )
    with Sandbox(opts) as sb:
        sb.load_catalog(make_catalog(total))
        client = AlephClient(
            client_settings(sb.url, products_page_size=asked),
            retry(),
            sleep=fake.sleep,
            clock=fake.clock,
        )
        with client:
            skus = [p.identification.sku for p in client.iter_catalog()]
    assert sorted(skus) == [f"{i:07d}" for i in range(1, total + 1)]


@settings(max_examples=50, deadline=None)
@given(limit=st.integers(2, 60), share=st.sampled_from([0.25, 0.5, 0.75]), calls=st.integers(1, 80))
def test_the_pacer_keeps_to_its_share_of_the_limit(limit: int, share: float, calls: int) -> None:
    fake = FakeTime()
    pacer = Pacer(low_remaining=0, fallback_per_minute=limit, sleep=fake.sleep, clock=fake.clock)
    pacer.share = share
    stamps = []
    for _ in range(calls):
        pacer.before("POST /v2/products")
        stamps.append(fake.now)
        pacer.after(
            "POST /v2/products",
            {"x-ratelimit-limit": str(limit), "x-ratelimit-remaining": str(limit)},
        )
    allowed = max(1, int(limit * share))  # the headers alone would allow every call here
    for i, at in enumerate(stamps):
        in_window = [s for s in stamps[: i + 1] if at - s < 60]
        assert len(in_window) <= allowed
