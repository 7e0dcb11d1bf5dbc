"""``connector status``: the report after real runs, ``--json`` against the documented schema,
the table view, and a running instance seen from outside."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from connector.config import Config
from connector.operator.status import collect, render
from connector.operator.status_model import schema, schema_text
from connector.runner import Options, once
from connector.sandbox.fixtures import make_catalog, make_orders
from tests.operator_support import (
    ROOT,
    catalog_rows,
    clean_env,
    drop,
    export,
    run_connector,
    schema_errors,
    setup,
)
from tests.workspace_support import fast_sandbox

SCHEMA_FILE = ROOT / "docs" / "status-schema.json"
NOON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def documented_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def busy_site(tmp_path: Path) -> Config:
    """Runs that leave deferred prices, a failed file, a rejected row and written orders."""
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(20))
        sb.add_orders(make_orders(3))
        config = setup(tmp_path / "site", sb)
        drop(config, "stock-1.csv", export([*catalog_rows(20), ("9990001", "1", "5,00")]))
        bad = export(catalog_rows(2)).replace(b"Stock", b"Existencias")
        drop(config, "stock-bad.csv", bad)
        code, _ = once(config, Options(progress=False, now=lambda: NOON))
        assert code == 1
    drop(config, "stock-late.csv", export(catalog_rows(3)))  # waiting in the inbox
    return config


def test_status_json_follows_the_documented_schema(tmp_path: Path) -> None:
    config = busy_site(tmp_path)
    done = run_connector(config, "status", "--json", "--days", "3650", now=NOON)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert schema_errors(report, documented_schema(), documented_schema()) == []
    assert report["instance_running"] is False
    assert report["queue"]["deferred"] == 20 and report["queue"]["due"] == 0
    assert report["queue"]["upcoming"][0]["at_local"].endswith(" 00:00")
    assert report["queue"]["upcoming"][0]["price"] == 20
    assert [f["name"] for f in report["files"]["failed"]] == ["stock-bad.csv"]
    assert (
        "Existencias" in report["files"]["failed"][0]["reason"]
        or "Stock" in (report["files"]["failed"][0]["reason"])
    )
    assert report["files"]["waiting"] == ["stock-late.csv"]
    assert report["orders"]["by_state"]["marked"] == 3
    run = report["runs"][0]
    assert run["mode"] == "once" and run["exit_code"] == 1
    assert run["summary"]["files"] == 2 and run["summary"]["files_failed"] == 1
    assert run["summary"]["sent"] == 20 and run["summary"]["orders_written"] == 3
    assert report["alephee"]["last_contact"] is not None
    assert report["alephee"]["rate_limits"]["POST /v2/products"]["limit"] == 100_000


def test_the_schema_file_is_generated_from_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/status-schema.json is out of date: "
        "python -m connector.operator.status_model > docs/status-schema.json"
    )


def test_the_schema_check_catches_wrong_output(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = setup(tmp_path, sb)
    good = collect(config)
    root = schema()
    assert schema_errors(good, root, root) == []
    missing = {k: v for k, v in good.items() if k != "queue"}
    assert schema_errors(missing, root, root) == ["$: missing 'queue'"]
    wrong = {**good, "instance_running": "no"}
    assert schema_errors(wrong, root, root) == [
        "$.instance_running: str where boolean was expected"
    ]
    extra = {**good, "files": {**good["files"], "surprise": 1}}
    assert schema_errors(extra, root, root) == ["$.files: unexpected 'surprise'"]
    negative = {**good, "queue": {**good["queue"], "due": -1}}
    assert schema_errors(negative, root, root) == ["$.queue.due: -1 < minimum 0"]


def test_the_table_view_shows_what_a_person_needs(tmp_path: Path) -> None:
    config = busy_site(tmp_path)
    report = collect(config, days=3650, now=NOON)
    buffer = io.StringIO()
    render(report, config, Console(file=buffer, width=120, color_system=None))
    text = buffer.getvalue()
    assert "Another connector running now: no" in text
    assert "Changes waiting for Alephee" in text
    assert "2026-11-23" in text and " 00:00 " in text  # deferred prices go at 00:00 local
    assert "stock-bad.csv" in text and "failed" in text
    assert "Waiting in the inbox: stock-late.csv" in text
    assert "3 written and marked integrated" in text
    assert "files 2, rows 21, rejected 1, changes sent 20" in text
    assert "Last successful contact with Alephee:" in text and "never" not in text.split("\n")[3]


def test_status_sees_another_running_connector(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = setup(tmp_path / "site", sb)
    config.folders.state.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom connector.config import load_config\n"
            "from connector.runner import instance_lock\n"
            "with instance_lock(load_config(Path(sys.argv[1]))):\n"
            "    print('locked', flush=True)\n    time.sleep(60)",
            str(config.source),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = run_connector(config, "status", "--json")
        assert json.loads(done.stdout)["instance_running"] is True
        busy = run_connector(config, "once")
        assert busy.returncode == 4 and "already running" in busy.stderr
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert collect(config)["instance_running"] is False
