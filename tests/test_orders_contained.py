"""Unexpected answers and malformed orders are contained: exit 5, the rest goes on (issue 11)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from connector import runlog
from connector.config import Config
from connector.runner import Options, once, open_state
from connector.sandbox import Fault, Sandbox
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.workspace_support import fast_sandbox, outbox_rows, run_cli, workspace

ORDERS_GET = "GET /v2/orders"


def run_cycles(config: Config) -> tuple[int, list[str]]:
    code, summary = once(config, Options(force_cycles=True, progress=False))
    return code, summary.notes


def recorded_exits(config: Config) -> list[int]:
    conn = open_state(config)
    try:
        return [run["exit_code"] for run in runlog.recent(conn)]
    finally:
        conn.close()


def late_cycle_ran(sb: Sandbox) -> bool:
    return any(r.endpoint == ORDERS_GET and r.query.get("statusType") == "99" for r in sb.requests)


def per_order(config: Config) -> Counter[str]:
    return Counter(row["Pedido"] for row in outbox_rows(config, "orders"))


def test_a_whole_request_400_on_integrate_is_contained_and_marked_next_run(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(6)
        sb.add_orders(orders)
        sb.inject(Fault(kind="400", endpoint="PUT /v2/orders/integrate"))
        config = workspace(tmp_path, sb)
        code, notes = run_cycles(config)
        assert code == 5
        assert any(note.startswith("orders cycle: unexpected error") for note in notes), notes
        assert late_cycle_ran(sb)  # the cancellations cycle still ran
        assert recorded_exits(config) == [5]
        assert len(per_order(config)) == 6
        assert not any(sb.order(o["Id"])["Integrated"] for o in orders)
        assert run_cycles(config)[0] == 0
        assert all(sb.order(o["Id"])["Integrated"] for o in orders)
        assert set(per_order(config).values()) <= {1, 2, 3}  # each order's lines, written once
        assert len(per_order(config)) == 6


def test_one_malformed_order_is_set_aside_and_the_others_are_written_and_marked(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(5)
        orders[2]["IsCancelled"] = "N/D"
        sb.add_orders(orders)
        config = workspace(tmp_path, sb)
        code, notes = run_cycles(config)
        assert code == 5
        bad = orders[2]["Id"]
        assert [n for n in notes if f"order {bad} set aside" in n], notes
        assert set(per_order(config)) == {str(o["Id"]) for o in orders if o["Id"] != bad}
        assert sb.order(bad)["Integrated"] is False
        assert all(sb.order(o["Id"])["Integrated"] for o in orders if o["Id"] != bad)


@pytest.mark.parametrize("kind", ["bad_shape", "bad_gzip"])
def test_a_200_that_cannot_be_read_stops_only_its_cycle(tmp_path: Path, kind: str) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(3))
        sb.inject(Fault(kind=kind, endpoint=ORDERS_GET))  # the normal cycle's first page
        config = workspace(tmp_path, sb)
        code, notes = run_cycles(config)
        assert code == 5
        assert any("orders cycle: unexpected error" in note for note in notes), notes
        assert late_cycle_ran(sb)
        assert per_order(config) == Counter()
        assert run_cycles(config)[0] == 0
        assert len(per_order(config)) == 3


def test_a_retry_after_header_with_a_unit_is_understood(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(3))
        sb.inject(Fault(kind="429", endpoint=ORDERS_GET, retry_after="3.5s"))
        config = workspace(tmp_path, sb)
        waits: list[float] = []
        code, _ = once(config, Options(force_cycles=True, progress=False, sleep=waits.append))
        assert code == 0
        assert any(3.5 <= wait <= 4.5 for wait in waits), waits  # 3.5 s plus jitter
        assert len(per_order(config)) == 3


def test_a_catalog_of_the_wrong_shape_stops_the_products_side_not_the_orders(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(5))
        sb.add_orders(make_orders(2))
        sb.inject(Fault(kind="bad_shape", endpoint="GET /v2/products"))
        config = workspace(tmp_path, sb)
        (config.folders.inbox / "stock.csv").write_bytes(
            "Código;Descripción;Stock;Precio\r\n0000001;Taladro;5;1.000,00\r\n".encode("cp1252")
        )
        code, notes = run_cycles(config)
        assert code == 5
        assert any(note.startswith("products cycle: unexpected error") for note in notes), notes
        assert len(per_order(config)) == 2


def test_the_cli_prints_one_plain_line_and_the_log_keeps_the_traceback(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.add_orders(make_orders(2))
        sb.inject(Fault(kind="bad_shape", endpoint=ORDERS_GET))
        config = workspace(tmp_path, sb)
        done = run_cli(config, "once", "--cycles-now")
        assert done.returncode == 5, done.stderr
        console = done.stdout + done.stderr
        assert "Traceback" not in console
        lines = [line for line in console.splitlines() if "unexpected error" in line]
        assert len(lines) == 1, console
        assert "see the log" in lines[0]
        log = (config.log_dir / "connector.log").read_text(encoding="utf-8")
        assert "Traceback" in log and "ValidationError" in log
