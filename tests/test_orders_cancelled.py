"""Cancelled items and orders: one line for what was booked, written once (issues 11, 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_orders
from tests.workspace_support import fast_sandbox, outbox_rows, run_cli, workspace


def run_cycles(config: Config) -> int:
    code, _ = once(config, Options(force_cycles=True, progress=False))
    return code


def order_with_items(count: int, start_id: int) -> dict[str, Any]:
    for k in range(50):
        (order,) = make_orders(1, start_id=start_id, seed=k + 1)
        if len(order["Items"]) >= count:
            return order
    raise AssertionError("no generated order has enough items")


def marks_of(sb: Sandbox, order_id: int) -> int:
    return sum(
        1
        for r in sb.requests
        if r.endpoint == "PUT /v2/orders/integrate"
        and any(item.get("OrderId") == order_id for item in r.body or [])
    )


def test_items_cancelled_before_the_order_arrived_are_never_late_cancellations(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        order = order_with_items(2, 9001)
        order["Items"][0]["IsCancelled"] = True  # gone before the connector ever saw it
        sb.add_orders([order])
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        skus = [row["SKU"] for row in outbox_rows(config, "orders")]
        assert skus == [item["Product"]["Sku"] for item in order["Items"][1:]]
        assert outbox_rows(config, "cancellations") == []
        assert run_cycles(config) == 0
        assert outbox_rows(config, "cancellations") == []  # not "again later" either
        sb.cancel_order(order["Id"])
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "cancellations")
        assert [(r["Pedido Alephee"], r["Cancelado"], r["SKU"]) for r in rows] == [
            (str(order["Id"]), "Pedido cancelado", "")
        ]


def test_an_order_whose_items_are_all_cancelled_is_written_and_marked_once(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        gone = order_with_items(2, 9101)
        for item in gone["Items"]:
            item["IsCancelled"] = True  # the order itself is not flagged cancelled
        others = make_orders(2, start_id=9201)
        sb.add_orders([gone, *others])
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "cancellations")
        assert {r["Pedido Alephee"] for r in rows} == {str(gone["Id"])}
        assert {r["Cancelado"] for r in rows} == {"Ítem cancelado"}
        assert {r["Pedido"] for r in outbox_rows(config, "orders")} == {
            str(o["Id"]) for o in others
        }
        assert sb.order(gone["Id"])["Integrated"] is True
        assert marks_of(sb, gone["Id"]) == 1
        normal_gets = [r for r in sb.requests if r.query.get("Integrated") == "false"]
        assert len(normal_gets) <= 2  # no 20-pass loop
        assert run_cycles(config) == 0
        assert len(outbox_rows(config, "cancellations")) == len(rows)
        assert marks_of(sb, gone["Id"]) == 1


def test_the_real_command_says_the_item_is_cancelled_and_drops_a_leading_tab(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        order = order_with_items(2, 9301)
        order["Buyer"]["Name"] = "\tJuana Pérez"
        sb.add_orders([order])
        config = workspace(tmp_path, sb)
        assert run_cli(config, "once", "--cycles-now").returncode == 0
        assert {row["Cliente"] for row in outbox_rows(config, "orders")} == {"Juana Pérez"}
        first = order["Items"][0]
        sb.cancel_order(order["Id"], item_ids=[first["Id"]])
        assert run_cli(config, "once", "--cycles-now").returncode == 0
        (row,) = outbox_rows(config, "cancellations")
        assert row["SKU"] == first["Product"]["Sku"]
        assert row["Cancelado"] == "Ítem cancelado"
        assert row["Estado"] != sb.order(order["Id"])["Status"]["Value"]
