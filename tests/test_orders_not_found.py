"""'Order not found' on the integrated mark: re-checked, bounded, reported (issue 11)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from connector.config import Config
from connector.operator.status import collect
from connector.orders.ledger import NOT_FOUND_RECHECKS
from connector.runner import Options, once
from connector.sandbox.fixtures import make_orders
from tests.workspace_support import fast_sandbox, outbox_rows, run_cli, workspace


def run_cycles(config: Config) -> int:
    code, _ = once(config, Options(force_cycles=True, progress=False))
    return code


def states(config: Config) -> dict[int, str]:
    conn = sqlite3.connect(config.db_path)
    try:
        return {int(r[0]): str(r[1]) for r in conn.execute("SELECT order_id, state FROM orders")}
    finally:
        conn.close()


def test_an_order_alephee_forgets_for_a_while_is_rechecked_and_marked(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(6)
        sb.add_orders(orders)
        lost = orders[3]["Id"]
        sb.forget_order(lost, times=2)
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        assert states(config)[lost] == "written"
        unresolved = collect(config)["orders"]["unresolved"]
        assert [(u["order_id"], u["state"], u["checks"]) for u in unresolved] == [
            (lost, "written", 1)
        ]
        assert all(state == "marked" for oid, state in states(config).items() if oid != lost)
        assert run_cycles(config) == 0
        assert run_cycles(config) == 0
        assert states(config)[lost] == "marked"
        assert sb.order(lost)["Integrated"] is True
        assert collect(config)["orders"]["unresolved"] == []
        per_order = Counter(row["Pedido"] for row in outbox_rows(config, "orders"))
        assert per_order == Counter({str(o["Id"]): len(o["Items"]) for o in orders})


def test_an_order_never_found_gives_up_is_reported_and_its_cancellation_still_written(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(3)
        sb.add_orders(orders)
        lost = orders[0]["Id"]
        sb.forget_order(lost, times=100)
        config = workspace(tmp_path, sb)
        for _ in range(NOT_FOUND_RECHECKS):
            assert run_cycles(config) == 0
        assert states(config)[lost] == "not_found"
        marks_before = len([r for r in sb.requests if r.endpoint == "PUT /v2/orders/integrate"])
        assert run_cycles(config) == 0  # no longer tried
        integrate = [r for r in sb.requests if r.endpoint == "PUT /v2/orders/integrate"]
        assert len(integrate) == marks_before
        text = " ".join(run_cli(config, "status").stdout.split())
        expected = f"order {lost} (ALE-{lost}) not found by Alephee {NOT_FOUND_RECHECKS}x"
        assert f"{expected}: check it in Alephee" in text
        sb.cancel_order(lost)
        assert run_cycles(config) == 0
        cancelled = outbox_rows(config, "cancellations")
        assert [row["Pedido Alephee"] for row in cancelled] == [str(lost)]


def test_a_misaligned_echo_never_marks_the_wrong_order(tmp_path: Path) -> None:
    with fast_sandbox(misaligned_integrate_echo=True) as sb:
        orders = make_orders(8)
        sb.add_orders(orders)
        lost = orders[5]["Id"]
        sb.forget_order(lost, times=1)
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        for order in orders:  # never marked in the ledger unless Alephee has it integrated
            integrated = sb.order(order["Id"])["Integrated"]
            assert states(config)[order["Id"]] == ("marked" if integrated else "written")
        # The mixed answer is settled order by order (the client asks again one at a time),
        # so the order Alephee forgot once is marked by its own call.
        assert run_cycles(config) == 0
        assert all(state == "marked" for state in states(config).values())
