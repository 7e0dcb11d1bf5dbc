"""Product calls against the real sandbox, through ``connector.runner.once``:

    .venv/bin/python bench/sync_calls.py WORKDIR ROWS

A catalog of ROWS products, downloaded once (timed); then four files dropped one per pass:
the full export (every product is new to the accepted state), the export with 1 % changed
rows, the same file again under a new name, and the same values re-exported with another
title row (different bytes, so it goes through read and diff rather than the intake's
duplicate check). Prints one JSON line
with, per file, the POST /v2/products calls made and the calls expected:
ceil(changed products / batch size), and 0 for the unchanged files.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sync_data

KEY = "bench-sandbox-key"  # the sandbox's own throwaway key, never a real one
ACCOUNT = 1001
POST_PRODUCTS = "POST /v2/products"


def config_text(base_url: str) -> str:
    return f"""
[alephee]
base_url = "{base_url}"
api_key = "{KEY}"
account_id = {ACCOUNT}

[retry]
base_seconds = 0.01
max_wait_seconds = 0.05

[intake]
min_age_seconds = 0
stable_checks = 1
check_interval_seconds = 0.05
incomplete_grace_seconds = 0

[orders]
enabled = false

[schedule]
price_changes = "now"
"""


def count_calls(work: Path, rows: int) -> dict[str, Any]:
    from connector.config import load_config
    from connector.operator.scaffold import init_workspace
    from connector.runner import Options, once
    from connector.sandbox import Sandbox, SandboxOptions
    from connector.sandbox.fixtures import make_catalog

    pair = sync_data.make_pair(work, rows)
    reexport = work / f"stock-{rows}-b-title.csv"
    _retitle(Path(pair.b), reexport)
    options = SandboxOptions(
        api_key=KEY, account_id=ACCOUNT, rate_per_minute=1_000_000, burst=1_000_000
    )
    steps = []
    with Sandbox(options) as sandbox, tempfile.TemporaryDirectory() as folder:
        sandbox.load_catalog(make_catalog(rows))
        init_workspace(Path(folder), config_text=config_text(sandbox.url))
        config = load_config(Path(folder) / "connector.toml")
        for old in config.folders.mappings.glob("*.toml"):
            if old.name != "orders.toml":
                old.unlink()
        (config.folders.mappings / "bench-sync.toml").write_text(sync_data.MAPPING, "utf-8")
        refresh = _refresh_catalog(config, sandbox)
        batch = config.alephee.batch_size
        plan = [
            ("full file", Path(pair.a), "stock-1-full.csv", rows),
            ("1 % changed", Path(pair.b), "stock-2-changed.csv", pair.changed),
            ("same file, new name", Path(pair.b), "stock-3-same.csv", 0),
            ("same values, new title", reexport, "stock-4-retitled.csv", 0),
        ]
        for label, source, name, changed in plan:
            sandbox.reset_requests()
            shutil.copyfile(source, config.folders.inbox / name)
            started = time.perf_counter()
            code, summary = once(config, Options(progress=False))
            seconds = time.perf_counter() - started
            posts = [r for r in sandbox.requests if r.endpoint == POST_PRODUCTS]
            steps.append(
                {
                    "file": label,
                    "changed": changed,
                    "calls": len(posts),
                    "expected": math.ceil(changed / batch),
                    "items": sum(len(r.body or []) for r in posts),
                    "exit": code,
                    "seconds": seconds,
                    "accepted": summary.accepted,
                }
            )
    return {"rows": rows, "batch_size": batch, "catalog": refresh, "steps": steps}


def _refresh_catalog(config: Any, sandbox: Any) -> dict[str, Any]:
    """The catalog download on its own (the passes below then find it fresh)."""
    from connector.alephee.client import AlephClient
    from connector.products import catalog
    from connector.runner import open_state, utcnow

    conn = open_state(config)
    client = AlephClient(config.alephee, config.retry)
    try:
        sandbox.reset_requests()
        started = time.perf_counter()
        products = catalog.refresh(conn, client, utcnow())
        seconds = time.perf_counter() - started
    finally:
        client.close()
        conn.close()
    pages = sum(1 for r in sandbox.requests if r.endpoint == "GET /v2/products")
    return {"products": products, "calls": pages, "seconds": seconds}


def _retitle(source: Path, target: Path) -> None:
    """The same rows under another title line: other bytes, the same values."""
    with open(source, "rb") as old, open(target, "wb") as new:
        old.readline()
        new.write("Reexportación manual de stock y precios;;;;;\r\n".encode("cp1252"))
        shutil.copyfileobj(old, new)


def main() -> None:
    work, rows = Path(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(count_calls(work, rows)))


if __name__ == "__main__":
    main()
