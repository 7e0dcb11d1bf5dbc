"""Model-based test of the order side (issue 11): random sequences of new orders, whole and
partial cancellations, kills at the orders crash points, integrate faults and an ERP that moves
outbox files away. After each quiet run: every order is in the outbox exactly once (an orders
file, or the cancellations file when it arrived cancelled) and marked in Alephee; every
cancellation line is written once; an item cancelled before its order arrived never gets one.

CI runs a few short sequences (``MODEL_EXAMPLES``, about 30 s); for a longer soak set
``CONNECTOR_MODEL_EXAMPLES=200`` (see docs/how-it-works.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox import Fault, Sandbox
from connector.sandbox.fixtures import make_orders
from tests.workspace_support import fast_sandbox, read_csv_rows, run_cli, workspace

MODEL_EXAMPLES = int(os.environ.get("CONNECTOR_MODEL_EXAMPLES", "4"))
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CRASH_POINTS = (
    "orders.after_stage",
    "orders.after_commit",
    "orders.after_write",
    "orders.after_integrate",
)
FAULTS = (
    Fault(kind="503", endpoint="PUT /v2/orders/integrate"),
    Fault(kind="400", endpoint="PUT /v2/orders/integrate"),
    Fault(kind="reset_after_apply", endpoint="PUT /v2/orders/integrate"),
    Fault(kind="reset", endpoint="GET /v2/orders"),
    Fault(kind="bad_shape", endpoint="GET /v2/orders"),
)
ITEM_COLUMN = '\n[[cancellations.columns]]\nname = "Item"\npath = "Item.Id"\n'


class OrdersModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="orders-model-"))
        self.sb: Sandbox = fast_sandbox(clock=NOW.timestamp)
        self.config: Config = workspace(self.root / "ws", self.sb)
        mapping = self.config.folders.mappings / "orders.toml"
        mapping.write_text(mapping.read_text("utf-8") + ITEM_COLUMN, "utf-8")
        self.erp = self.root / "erp"
        self.erp.mkdir()
        self.next_id = 6001
        self.orders: dict[int, dict[str, Any]] = {}
        self.unbooked: set[int] = set()  # items cancelled before their order arrived

    def teardown(self) -> None:
        self.sb.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- what happens in the world -------------------------------------------------------

    @rule(
        count=st.integers(1, 3),
        arrival=st.sampled_from(["plain", "item_cancelled", "all_items", "cancelled"]),
    )
    def new_orders(self, count: int, arrival: str) -> None:
        orders = make_orders(count, start_id=self.next_id, seed=self.next_id)
        self.next_id += count
        for order in orders:
            items = order["Items"]
            if arrival == "item_cancelled" and len(items) > 1:
                items[0]["IsCancelled"] = True
                self.unbooked.add(items[0]["Id"])
            elif arrival == "all_items":
                for item in items:
                    item["IsCancelled"] = True  # the order itself not flagged
            elif arrival == "cancelled":
                order["IsCancelled"] = True
                order["StatusType"] = {"Key": 99, "Value": "Cancelado"}
            self.orders[order["Id"]] = order
        self.sb.add_orders(orders)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data(), whole=st.booleans())
    def cancel(self, data: st.DataObject, whole: bool) -> None:
        oid = data.draw(st.sampled_from(sorted(self.orders)))
        live = [i["Id"] for i in self.sb.order(oid)["Items"] if not i.get("IsCancelled")]
        if not live:
            return
        self.sb.cancel_order(oid, item_ids=None if whole else [data.draw(st.sampled_from(live))])

    @rule(fault=st.sampled_from(FAULTS))
    def fault(self, fault: Fault) -> None:
        self.sb.inject(fault)

    @precondition(lambda self: bool(self.orders))
    @rule(data=st.data())
    def alephee_forgets(self, data: st.DataObject) -> None:
        self.sb.forget_order(data.draw(st.sampled_from(sorted(self.orders))), times=1)

    @rule()
    def erp_moves_files(self) -> None:
        for path in self.config.folders.outbox.glob("*.csv"):
            shutil.move(str(path), str(self.erp / path.name))

    @rule(point=st.sampled_from(CRASH_POINTS))
    def killed_run(self, point: str) -> None:
        done = run_cli(self.config, "once", "--cycles-now", crash_at=point)
        assert done.returncode in (-9, 137, 0, 3, 5), done.stderr

    @rule()
    def run(self) -> None:
        code, _ = once(self.config, self.options())
        assert code in (0, 3, 5)

    # -- the promise, after a quiet run ------------------------------------------------------

    @rule()
    def quiet_run_keeps_every_promise(self) -> None:
        self.sb.clear_faults()
        for _ in range(3):  # a forgotten order is checked again on the next cycle
            code, _ = once(self.config, self.options())
            assert code == 0
        cancellations = self.rows("cancellations")
        files_per_order = Counter(
            oid for oid, files in self.files_per_order().items() for _ in files
        )
        cancelled_orders = {row["Pedido Alephee"] for row in cancellations}
        for oid in self.orders:
            assert files_per_order[str(oid)] <= 1, f"order {oid} is in two orders files"
            in_outbox = files_per_order[str(oid)] == 1 or str(oid) in cancelled_orders
            assert in_outbox, f"order {oid} never reached the outbox"
            alephee = self.sb.order(oid)
            assert alephee["Integrated"] is True, f"order {oid} is not marked"
            assert alephee["IntegratedOrderId"] == f"ALE-{oid}"
        lines = Counter((row["Pedido Alephee"], row["Item"]) for row in cancellations)
        assert all(n == 1 for n in lines.values()), f"a cancellation written twice: {lines}"
        assert not {int(r["Item"]) for r in cancellations if r["Item"]} & self.unbooked

    @invariant()
    def no_order_in_two_orders_files(self) -> None:
        for oid, files in self.files_per_order().items():
            assert len(files) <= 1, f"order {oid} is in {files}"

    # -- helpers -----------------------------------------------------------------------------

    def options(self) -> Options:
        return Options(force_cycles=True, progress=False, now=lambda: NOW)

    def files(self, prefix: str) -> list[Path]:
        found = [
            *self.config.folders.outbox.glob(f"{prefix}-*.csv"),
            *self.erp.glob(f"{prefix}-*.csv"),
        ]
        return sorted(found, key=lambda p: p.name)

    def rows(self, prefix: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for path in self.files(prefix):
            header, *body = read_csv_rows(path)
            rows.extend(dict(zip(header, line, strict=True)) for line in body)
        return rows

    def files_per_order(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for path in self.files("orders"):
            header, *body = read_csv_rows(path)
            column = header.index("Pedido")
            for line in body:
                found.setdefault(line[column], set()).add(path.name)
        return found


OrdersModel.TestCase.settings = settings(
    max_examples=MODEL_EXAMPLES,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_orders_model = OrdersModel.TestCase
