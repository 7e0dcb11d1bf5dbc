"""Orders reach the outbox exactly once even when the ERP moves files away (issue 11)."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from connector.config import Config
from connector.sandbox.fixtures import make_orders
from tests.workspace_support import fast_sandbox, read_csv_rows, run_cli, workspace

CRASH_POINTS = ["orders.after_stage", "orders.after_commit", "orders.after_write"]


def erp_takes_everything(config: Config, erp: Path) -> None:
    """What an ERP import does: move every published outbox file to its own folder."""
    erp.mkdir(exist_ok=True)
    for path in config.folders.outbox.glob("*.csv"):
        shutil.move(str(path), str(erp / path.name))


def orders_everywhere(config: Config, erp: Path) -> Counter[str]:
    """Order id -> number of rows, over every orders file the ERP took or still waits."""
    rows: Counter[str] = Counter()
    for folder in (config.folders.outbox, erp):
        for path in folder.glob("orders-*.csv"):
            header, *body = read_csv_rows(path)
            column = header.index("Pedido")
            rows.update(line[column] for line in body)
    return rows


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_killed_run_then_erp_moves_the_file_writes_each_order_once(
    tmp_path: Path, point: str
) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(12)
        sb.add_orders(orders)
        config = workspace(tmp_path / "ws", sb)
        crashed = run_cli(config, "once", "--cycles-now", crash_at=point)
        assert crashed.returncode in (-9, 137), crashed.stderr
        erp = tmp_path / "erp"
        erp_takes_everything(config, erp)
        again = run_cli(config, "once", "--cycles-now")
        assert again.returncode == 0, again.stderr
        erp_takes_everything(config, erp)
        rows = orders_everywhere(config, erp)
        assert rows == Counter({str(o["Id"]): len(o["Items"]) for o in orders})
        assert all(sb.order(o["Id"])["Integrated"] for o in orders)
        hidden = [p.name for p in config.folders.outbox.iterdir() if p.name.startswith(".")]
        assert hidden == []  # no staged file left behind


def test_outbox_file_names_are_the_ones_the_docs_give(tmp_path: Path) -> None:
    import re

    from tests.workspace_support import ROOT

    with fast_sandbox() as sb:
        sb.add_orders(make_orders(2))
        config = workspace(tmp_path, sb)
        assert run_cli(config, "once", "--cycles-now").returncode == 0
        names = [p.name for p in config.folders.outbox.glob("orders-*")]
    assert names and all(re.fullmatch(r"orders-\d{8}-\d{6}-\d+\.csv", n) for n in names), names
    for page in ("folders.md", "mapping-orders.md"):
        text = (ROOT / "docs" / page).read_text(encoding="utf-8")
        assert "orders-YYYYmmdd-HHMMSS-N.csv" in text, page
        assert "orders-20250131-140500.csv" not in text, page  # the old, wrong naming
