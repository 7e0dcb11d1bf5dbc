"""A model-based test of the stock-and-price path: hypothesis draws sequences of exports, clock
moves, Alephee faults and SIGKILLs; real ``once`` passes run against the sandbox over HTTP
(in this process with an injected clock, or as a child process killed at a named crash point).

The model is the latest export's intent per product (brand + SKU). Invariants:

- no POST /v2/products ever carried a value other than the intent of that moment (nothing
  superseded is ever sent; every export is processed before anything is sent in a pass);
- after a quiet pass (no fault, no kill): the queue holds only the intent; Alephee (the
  sandbox's stored products, read through its control API) holds the intent of every product
  whose change is due, the rest waits in the queue; at night nothing waits.

``CONNECTOR_MODEL_EXAMPLES`` sets the number of examples (default 6, about 40 s; see
docs/how-it-works.md for a longer run).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from connector.config import Config
from connector.runner import Options, once, open_state
from connector.sandbox import Fault, SandboxControl
from connector.slots import in_night
from tests.products_support import (
    DUP,
    Row,
    brand_catalog,
    brand_export,
    brand_workspace,
    drop,
)
from tests.workspace_support import ROOT, fast_sandbox

PRODUCTS = [(DUP, "ACME"), (DUP, "BOSCH")]  # one code, two brands: two products
STOCKS = st.sampled_from([0, 5, 9])  # few values: reverts to earlier ones are frequent
PRICES = st.sampled_from([100.0, 120.5])
# Where a pass happens: now, the next day slot (12:00), the next night slot (01:00), or two
# days on (a night slot passed while the connector did not run).
WHEN = st.sampled_from(["now", "day", "night", "two days on"])
START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires
AS_OF = 2_000_000_000.0
CRASH_POINTS = [
    "intake.after_claim",
    "intake.after_handler",
    "intake.after_done",
    "sync.after_post",
    "sync.after_commit",
]
FAULTS = ["500", "503", "429", "reset", "reset_after_apply"]
EXAMPLES = int(os.environ.get("CONNECTOR_MODEL_EXAMPLES", "4"))
STEPS = 25
Key = tuple[str, str]


def no_sleep(_: float) -> None:
    """Retry and pacing waits cost no time here (the clock is the model's)."""


class ProductsModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="connector-model-"))
        self.sb = fast_sandbox()
        self.control = SandboxControl(self.sb.url)
        self.control.load_catalog(brand_catalog(3))
        self.config: Config | None = None
        self.now = START
        self.as_of = AS_OF
        self.exports: list[list[Row]] = []
        self.intent: dict[Key, tuple[int, float]] = {}
        self.checked = 0  # requests of the sandbox log already checked

    def teardown(self) -> None:
        self.control.close()
        self.sb.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(stock_night=st.booleans())
    def workspace(self, stock_night: bool) -> None:
        extra = '[schedule]\nstock_changes = "night"\n' if stock_night else ""
        self.config = brand_workspace(self.folder, self.sb, extra)  # type: ignore[arg-type]

    # -- exports ---------------------------------------------------------------------------

    @rule(
        rows=st.dictionaries(
            st.integers(0, len(PRODUCTS) - 1), st.tuples(STOCKS, PRICES), min_size=1
        )
    )
    def export(self, rows: dict[int, tuple[int, float]]) -> None:
        """A new export: some products (the others are left alone), any values."""
        self._drop([(*PRODUCTS[i], stock, price) for i, (stock, price) in sorted(rows.items())])

    @precondition(lambda self: self.intent)
    @rule(data=st.data(), price=PRICES)
    def price_only(self, data: st.DataObject, price: float) -> None:
        key = data.draw(st.sampled_from(sorted(self.intent)))
        self._drop([(*key, self.intent[key][0], price)])

    @precondition(lambda self: self.exports)
    @rule(data=st.data())
    def revert(self, data: st.DataObject) -> None:
        """An earlier export again, byte for byte (a revert to earlier values)."""
        self._drop(data.draw(st.sampled_from(self.exports)))

    def _drop(self, rows: list[Row]) -> None:
        assert self.config is not None
        self.as_of += 60
        drop(self.config, f"stock-{len(self.exports):04d}.csv", brand_export(rows), self.as_of)
        self.exports.append(rows)
        for sku, brand, stock, price in rows:
            self.intent[(sku, brand)] = (stock, price)

    # -- the clock -------------------------------------------------------------------------

    @rule(hours=st.sampled_from([1, 5, 9, 30, 50]))
    def later(self, hours: int) -> None:
        """Across day and night slots; 30 and 50 h skip a night (the connector did not run)."""
        self.now += timedelta(hours=hours)

    def _move(self, when: str) -> None:
        assert self.config is not None
        zone = self.config.schedule.zone
        local = self.now.astimezone(zone)
        if when == "two days on":
            self.now += timedelta(hours=49)
        elif when != "now":
            hour = 12 if when == "day" else 1
            target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
            if target <= local:
                target += timedelta(days=1)
            self.now = target.astimezone(UTC)

    # -- passes ----------------------------------------------------------------------------

    @rule(when=WHEN)
    def quiet_pass(self, when: str) -> None:
        self._move(when)
        code = self._once()
        assert code == 0, f"a quiet pass ended with exit {code}"
        self._check_requests()
        self._check_settled()

    @rule(kind=st.sampled_from(FAULTS), count=st.integers(1, 8), when=WHEN)
    def pass_with_faults(self, kind: str, count: int, when: str) -> None:
        self._move(when)
        self.control.inject(Fault(kind, count=count, endpoint="POST /v2/products"))
        code = self._once()
        assert code in (0, 3), f"exit {code} with {count} x {kind}"  # 3: Alephee unavailable
        self.control.reset()  # faults left over do not leak into the next pass
        self.checked = 0
        self._check_requests()

    @rule(point=st.sampled_from(CRASH_POINTS), nth=st.integers(1, 3), when=WHEN)
    def killed_pass(self, point: str, nth: int, when: str) -> None:
        """A real process SIGKILLed at a named crash point (or finishing if never reached)."""
        assert self.config is not None
        self._move(when)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
        env.update(CONNECTOR_CRASH_AT=f"{point}@{nth}", PYTHONPATH=str(ROOT))
        command = ["once", str(self.config.source), self.now.isoformat()]
        child = subprocess.run(
            [sys.executable, "-m", "tests.products_support", *command],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=str(self.folder),
        )
        assert child.returncode in (0, -signal.SIGKILL, 137), child.stderr[-2000:]
        self._check_requests()

    def _once(self) -> int:
        assert self.config is not None
        moment = self.now
        code, _ = once(self.config, Options(progress=False, now=lambda: moment, sleep=no_sleep))
        return code

    # -- invariants ------------------------------------------------------------------------

    def _check_requests(self) -> None:
        """Every item any POST carried is the intent (every export is ingested before a send)."""
        records = self.control.requests
        for record in records[self.checked :]:
            if record.endpoint != "POST /v2/products" or not isinstance(record.body, list):
                continue
            for item in record.body:
                stock, price = self.intent[(item["SKU"], item["Brand"])]
                if "Stock" in item:
                    assert item["Stock"] == {"Quantity": stock}, (item, "superseded stock")
                if "Price" in item:
                    assert item["Price"] == {"PriceWithTaxes": price}, (item, "superseded price")
        self.checked = len(records)

    def _check_settled(self) -> None:
        assert self.config is not None
        queue = self._queue()
        for (sku, brand, group), value in queue.items():
            assert value == self._wanted(sku, brand, group), (sku, brand, group, "superseded")
        night = in_night(self.now, self.config.schedule)
        for (sku, brand), (stock, price) in self.intent.items():
            product = self.control.product(sku, brand)
            held = {
                "stock": product["Stock"]["Quantity"],
                "price": next(p["PriceWithTaxes"] for p in product["Price"] if _list_1(p)),
            }
            for group, wanted in (("stock", stock), ("price", price)):
                if held[group] != wanted:  # not there yet: it must wait in the queue
                    assert not night, (sku, brand, group, "due at night but not sent")
                    assert queue.get((sku, brand, group)) == wanted, (sku, brand, group)
        if night:
            assert queue == {}

    def _wanted(self, sku: str, brand: str, group: str) -> float:
        stock, price = self.intent[(sku, brand)]
        return stock if group == "stock" else price

    def _queue(self) -> dict[tuple[str, str, str], float]:
        assert self.config is not None
        conn = open_state(self.config)
        try:
            rows = conn.execute("SELECT sku, brand, grp, quantity, price_with_taxes_e4 FROM queue")
            return {
                (r["sku"], r["brand"], r["grp"]): (
                    r["quantity"] if r["grp"] == "stock" else r["price_with_taxes_e4"] / 10_000
                )
                for r in rows
            }
        finally:
            conn.close()

    @invariant()
    def clock_is_the_models(self) -> None:
        assert self.now >= START


def _list_1(price: dict[str, Any]) -> bool:
    return bool(price["PriceList"]["Id"] == 1)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_products_path_keeps_the_latest_intent_under_any_sequence() -> None:
    run_state_machine_as_test(
        ProductsModel,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        ),
    )
