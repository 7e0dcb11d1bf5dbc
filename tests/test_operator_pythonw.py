"""``connector once`` with no console at all, as under ``pythonw.exe`` in a scheduled task:
file descriptors 0, 1 and 2 closed and ``sys.stdin/stdout/stderr`` set to None."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from connector.config import Config
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.operator_support import ROOT, catalog_rows, clean_env, drop, export, setup
from tests.workspace_support import fast_sandbox

LAUNCHER = """
import os, sys
sys.path.insert(0, {root!r})
for fd in (0, 1, 2):
    os.close(fd)
sys.stdin = sys.stdout = sys.stderr = None
from connector.cli import main
raise SystemExit(main(["--config", {config!r}, *{args!r}]))
"""


def pythonw(config_path: Path, *args: str) -> int:
    script = LAUNCHER.format(root=str(ROOT), config=str(config_path), args=list(args))
    done = subprocess.run(
        [sys.executable, "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
        cwd=str(config_path.parent.parent),
        timeout=120,
    )
    return done.returncode


def log_text(config: Config) -> str:
    return (config.log_dir / "connector.log").read_text(encoding="utf-8")


def test_once_runs_to_the_end_without_a_console(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(30))
        sb.add_orders(make_orders(2))
        config = setup(tmp_path / "site", sb)
        drop(config, "stock-1.csv", export(catalog_rows(30)))
        assert pythonw(config.source, "once") == 0
        posted = [r for r in sb.requests if r.endpoint == "POST /v2/products"]
        assert sum(len(r.body) for r in posted) == 30
    assert list(config.folders.inbox.iterdir()) == []
    assert len(list(config.folders.archive.rglob("stock-1.csv"))) == 1
    assert len(list(config.folders.outbox.glob("orders-*.csv"))) == 1
    log = log_text(config)
    assert "run finished (exit 0): files 1 (failed 0, duplicates 0), rows 30" in log
    assert "orders written 2" in log


def test_rejects_and_a_dry_run_without_a_console(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(10))
        config = setup(tmp_path / "site", sb, extra="[orders]\nenabled = false\n")
        drop(config, "stock-1.csv", export([*catalog_rows(10), ("9990001", "2", "5,00")]))
        assert pythonw(config.source, "once", "--dry-run") == 1
        assert [r for r in sb.requests if r.method != "GET"] == []
        assert len(list(config.folders.outbox.glob("dry-run-*.csv"))) == 1
        assert pythonw(config.source, "once") == 1
    assert "run finished (exit 1)" in log_text(config)
    assert len(list(config.folders.outbox.glob("rejects-stock-1-*.csv"))) == 1


def test_a_configuration_error_without_a_console_still_exits_2(tmp_path: Path) -> None:
    (tmp_path / "connector.toml").write_text("[alephee]\naccount_id = 'x'\n", encoding="utf-8")
    assert pythonw(tmp_path / "connector.toml", "once") == 2
