"""Orders into the outbox, exactly once, against the sandbox (issue: orders to the ERP)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connector.runner import Options, once
from connector.sandbox import Fault
from connector.sandbox.fixtures import cancelled_order, cart_orders, kit_order, make_orders
from tests.workspace_support import fast_sandbox, outbox_rows, read_csv_rows, workspace

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def run_cycles(config, **extra: object) -> int:  # type: ignore[no-untyped-def]
    code, _ = once(config, Options(force_cycles=True, progress=False, **extra))  # type: ignore[arg-type]
    return code


def test_250_hostile_orders_written_once_and_marked(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(250, hostile=True)
        sb.add_orders(orders)
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "orders")
        per_order = Counter(row["Pedido"] for row in rows)
        assert len(per_order) == 250
        expected_lines = {str(o["Id"]): len(o["Items"]) for o in orders}
        assert dict(per_order) == expected_lines
        for order in orders:
            state = sb.order(order["Id"])
            assert state["Integrated"] is True
            assert state["IntegratedOrderId"] == f"ALE-{order['Id']}"
        for path in config.folders.outbox.glob("orders-*.csv"):
            for line in read_csv_rows(path):
                for cell in line:
                    if cell.startswith(FORMULA_START):
                        float(cell.replace(",", "."))  # only numbers may start with "-"
        names = {row["Cliente"] for row in rows}
        assert any("ñ" in n or "á" in n or "é" in n or "ã" in n for n in names)
        hostile = [row for row in rows if row["Cliente"].startswith("'")]
        assert hostile, "hostile buyer names must be neutralised with a leading apostrophe"
        assert any(row["Cliente"] == '\'=HYPERLINK("http://x","y")' for row in rows)
        # a second cycle finds nothing new and writes nothing
        assert run_cycles(config) == 0
        assert len(list(config.folders.outbox.glob("orders-*.csv"))) == 1


def test_carts_wait_kits_book_once_and_cancelled_go_aside(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        incomplete = cart_orders(start_id=8001, complete=False)
        sb.add_orders([kit_order(), cancelled_order(), *incomplete])
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        orders = outbox_rows(config, "orders")
        cancellations = outbox_rows(config, "cancellations")
        assert {row["Pedido"] for row in orders} == {str(kit_order()["Id"])}
        assert len(orders) == 1  # the kit item only (kits = "kit")
        assert {row["Pedido Alephee"] for row in cancellations} == {str(cancelled_order()["Id"])}
        for cart in incomplete:
            assert sb.order(cart["Id"])["Integrated"] is False


def test_cancel_5_written_orders_then_late_cycle_writes_exactly_those(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(20))
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        chosen = [5003, 5007, 5011, 5012, 5019]
        for oid in chosen:
            sb.cancel_order(oid)
        assert run_cycles(config) == 0
        cancelled = outbox_rows(config, "cancellations")
        assert sorted({int(row["Pedido Alephee"]) for row in cancelled}) == chosen
        assert all(row["Pedido ERP"] == f"ALE-{row['Pedido Alephee']}" for row in cancelled)
        files = list(config.folders.outbox.glob("cancellations-*.csv"))
        assert run_cycles(config) == 0
        assert list(config.folders.outbox.glob("cancellations-*.csv")) == files


def test_integrate_503_twice_then_success_writes_nothing_twice(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(30))
        sb.inject(Fault(kind="503", count=2, endpoint="PUT /v2/orders/integrate"))
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "orders")
        assert len({row["Pedido"] for row in rows}) == 30
        assert all(sb.order(5001 + i)["Integrated"] for i in range(30))
        assert run_cycles(config) == 0
        assert outbox_rows(config, "orders") == rows


@pytest.mark.slow
@pytest.mark.parametrize("point", ["orders.after_write", "orders.after_integrate"])
def test_sigkill_between_steps_never_duplicates(tmp_path: Path, point: str) -> None:
    from tests.workspace_support import run_cli

    with fast_sandbox() as sb:
        sb.add_orders(make_orders(40))
        config = workspace(tmp_path, sb)
        crashed = run_cli(config, "once", "--cycles-now", crash_at=point)
        assert crashed.returncode in (-9, 137), crashed.stderr[-2000:]
        again = run_cli(config, "once", "--cycles-now")
        assert again.returncode == 0, again.stderr[-2000:]
        rows = outbox_rows(config, "orders")
        per_order = Counter(row["Pedido"] for row in rows)
        assert len(per_order) == 40
        assert all(count == len(sb.order(int(oid))["Items"]) for oid, count in per_order.items())
        assert all(sb.order(5001 + i)["Integrated"] for i in range(40))


def test_cycles_run_no_more_often_than_configured(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    with fast_sandbox() as sb:
        sb.add_orders(make_orders(3))
        config = workspace(tmp_path, sb)
        start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

        def order_gets() -> int:
            return len([r for r in sb.requests if r.endpoint == "GET /v2/orders"])

        def once_at(minutes: float) -> None:
            code, _ = once(
                config, Options(progress=False, now=lambda: start + timedelta(minutes=minutes))
            )
            assert code == 0

        once_at(0)
        first = order_gets()
        assert first >= 2  # the normal cycle and the late-cancellation cycle
        for minute in (1, 5, 13.9):  # 15 minutes less the tolerance (60 s) is 14
            once_at(minute)
        assert order_gets() == first  # every 15 minutes at most, however often once runs
        once_at(15)
        normal_only = order_gets() - first
        assert normal_only >= 1
        once_at(6 * 60)
        assert order_gets() > first + normal_only


def test_items_cancelled_one_by_one_then_the_whole_order(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(10))
        config = workspace(tmp_path, sb)
        assert run_cycles(config) == 0
        order = next(o for o in (sb.order(5001 + i) for i in range(10)) if len(o["Items"]) >= 2)
        first_item = order["Items"][0]["Id"]
        sb.cancel_order(order["Id"], item_ids=[first_item])
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "cancellations")
        assert len(rows) == 1 and rows[0]["Pedido Alephee"] == str(order["Id"])
        assert rows[0]["SKU"] == order["Items"][0]["Product"]["Sku"]
        assert run_cycles(config) == 0
        assert len(outbox_rows(config, "cancellations")) == 1  # written once
        sb.cancel_order(order["Id"])
        assert run_cycles(config) == 0
        rows = outbox_rows(config, "cancellations")
        assert len(rows) == 2
        assert rows[1]["Pedido Alephee"] == str(order["Id"]) and rows[1]["SKU"] == ""


def test_an_order_whose_own_id_cannot_be_built_is_reported_not_looped(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(4)
        del orders[1]["ExternalOrderId"]
        sb.add_orders(orders)
        config = workspace(tmp_path, sb)
        mapping = config.folders.mappings / "orders.toml"
        text = mapping.read_text(encoding="utf-8")
        mapping.write_text(
            text.replace('own_order_id = "ALE-{Id}"', 'own_order_id = "ML-{ExternalOrderId}"'),
            encoding="utf-8",
        )
        code, summary = once(config, Options(force_cycles=True, progress=False))
        assert code == 0
        assert summary.orders_written == 3
        assert any("own_order_id" in note for note in summary.notes)
        gets = [r for r in sb.requests if r.endpoint == "GET /v2/orders"]
        assert len(gets) <= 4  # two passes of the normal cycle and the late cycle's two queries
        assert sb.order(orders[1]["Id"])["Integrated"] is False
        assert (
            sb.order(orders[0]["Id"])["IntegratedOrderId"] == f"ML-{orders[0]['ExternalOrderId']}"
        )


def test_a_cycle_is_due_a_little_before_its_interval_to_absorb_skew(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    with fast_sandbox() as sb:
        config = workspace(tmp_path, sb, extra="[schedule]\norders_every_minutes = 1\n")
        start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)

        def normal_gets() -> int:
            return len(
                [
                    r
                    for r in sb.requests
                    if r.endpoint == "GET /v2/orders" and r.query.get("Integrated") == "false"
                ]
            )

        def once_at(seconds: float) -> int:
            before = normal_gets()
            code, _ = once(
                config, Options(progress=False, now=lambda: start + timedelta(seconds=seconds))
            )
            assert code == 0
            return normal_gets() - before

        assert once_at(0) == 1
        assert once_at(59) == 1  # 59 s of a 60 s interval: due (tolerance 6 s)
        assert once_at(59 + 53) == 0  # 53 s later: not yet (60 s less 6 s is 54 s)
        assert once_at(59 + 54) == 1
