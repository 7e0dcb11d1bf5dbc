"""The two end-to-end figures of issue 14: a real ``connector once`` process against the
built-in sandbox holding a 1M-product catalog (``targets_measure.py`` kinds ``once-second``
and ``once-first``).

The sandbox runs in the measuring process (a thread), the connector in a fresh child process:
its peak RSS is the child's own high-water mark (``VmHWM``, polled every 20 ms). The
sandbox's own time is left out by timing its handlers (``Sandbox.busy_seconds``: reading the
request, applying it, writing the answer) and subtracting them from the child's wall time;
the child waits for each answer, so that time is the sandbox's, not the connector's. Both
figures print the wall time with and without.

The sandbox's rate limit is lifted (100,000 calls a minute) and its batch cap set to 1,000
items, the connector's default first batch: a benchmark of the connector, not of the pacing.
Its quirks profile is ``kind`` (full pages of 1,000 products).

- ``once-second``: the day after A (``settled-<n>``: A accepted and read by the connector,
  catalog fresh), B dropped in the inbox: read, diff, enqueue and send the 1 % changed
  products.
- ``once-first``: an empty state, the sandbox's catalog holding A's values (what Alephee
  already has), B dropped with ``--refresh-catalog``: the catalog download, and then only the
  differing products should go (seeding, helper "seed"). Reports the POST calls against
  ceil(differing products / batch) as they are: without seeding, every product is sent.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sync_data
from sync_measure import Clock

KEY = "bench-sandbox-key"  # the sandbox's own throwaway key, never a real one
ACCOUNT = 1001
POST = "POST /v2/products"


def _sandbox(catalog: list[dict[str, Any]]) -> Any:
    from connector.sandbox import Sandbox, SandboxOptions

    options = SandboxOptions(
        api_key=KEY,
        account_id=ACCOUNT,
        rate_per_minute=100_000,  # lifted: see the module's docstring
        burst=100_000,
        products_max_items=1_000,
        profile="kind",
    )
    sandbox = Sandbox(options).start()
    sandbox.load_catalog(catalog, owned=True)  # a million dicts: handed over, not copied
    return sandbox


def scaffold(folder: Path, url: str, key: str = KEY) -> Path:
    """``connector init`` in ``folder``, pointed at the sandbox, orders off: the config path."""
    from connector.operator.scaffold import init_workspace

    shutil.rmtree(folder, ignore_errors=True)
    init_workspace(folder)
    config = folder / "connector.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in {
        '# base_url = "https://api.alephcrm.com"': f'base_url = "{url}"',
        '# api_key = ""': f'api_key = "{key}"',
        "account_id = 0 ": f"account_id = {ACCOUNT} ",
        "[orders]\n# enabled = true": "[orders]\nenabled = false",
    }.items():
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")
    return config


def _workspace(folder: Path, url: str) -> Path:
    config = scaffold(folder, url)
    text = config.read_text(encoding="utf-8")
    # the 1 % goes in this run, day or night
    text = text.replace("[schedule]\n", '[schedule]\nprice_changes = "now"\n', 1)
    config.write_text(text, encoding="utf-8")
    for path in (folder / "mappings").glob("*.toml"):
        path.unlink()
    (folder / "mappings" / "bench-sync.toml").write_text(sync_data.MAPPING, encoding="utf-8")
    (folder / "state").mkdir(exist_ok=True)
    (folder / "state" / "api-profile.json").write_text('{"products_page_cap": 1000}\n')
    return config


def _drop(export: Path, config: Path) -> None:
    """B in the inbox, written an hour ago: settled, so ``once`` takes it without waiting."""
    target = config.parent / "inbox" / export.name
    shutil.copyfile(export, target)
    an_hour_ago = time.time() - 3600
    os.utime(target, (an_hour_ago, an_hour_ago))


def _wait(pid: int) -> tuple[int, Any, int]:
    """Wait for the child: its exit status, its rusage, and its peak RSS in kB. The peak is
    the child's own ``VmHWM`` (its memory after exec), polled: ``ru_maxrss`` of a child forked
    from this process would count the sandbox's gigabytes it was forked with."""
    peak = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, peak
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as handle:
                lines = [line for line in handle if line.startswith("VmHWM:")]
            peak = max([peak, *(int(line.split()[1]) for line in lines)])
        except OSError:
            pass  # exiting: the last reading stands
        time.sleep(0.02)


def _once(config: Path, sandbox: Any, *args: str) -> dict[str, Any]:
    """One ``connector once`` child: wall seconds, the sandbox's part, peak RSS, POST calls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    command = [sys.executable, "-m", "connector", "--config", str(config), "once", *args]
    sandbox.reset_requests()
    busy = sandbox.busy_seconds
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        child = subprocess.Popen(command, env=env, stdout=out_file, stderr=err_file)
        status, usage, peak_kb = _wait(child.pid)
        wall = time.perf_counter() - started
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"connector once failed ({code}):\n{err.decode()[-2000:]}")
    posts = [r for r in sandbox.requests if r.endpoint == POST and r.status == 200]
    return {
        "wall": wall,
        "sandbox": sandbox.busy_seconds - busy,
        "peak_mb": peak_kb / 1024,
        "cpu": usage.ru_utime + usage.ru_stime,
        "posts": len(posts),
        "products_posted": sum(len(r.body) for r in posts),
        "largest_batch": max((len(r.body) for r in posts), default=0),
        "summary": out.decode().strip().splitlines()[-1:] or [""],
    }


def once_second(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    from connector.sandbox.fixtures import make_catalog

    pair = sync_data.Pair.from_json((work / f"pair-{rows}.json").read_text(encoding="utf-8"))
    sandbox = _sandbox(make_catalog(rows))
    try:
        config = _workspace(work / "once-second", sandbox.url)
        db = config.parent / "state" / "connector.db"
        # The day after A: A accepted and read by the connector (``sync_measure.py settle``:
        # its columnar copy of A's match beside the database), every SKU in the catalog.
        settled = work / f"settled-{rows}"
        shutil.copyfile(settled / "state.db", db)
        shutil.copytree(settled / "cache", db.parent / "cache")
        with sqlite3.connect(db) as conn:  # the cached catalog is fresh: no download
            fresh = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            conn.execute("UPDATE meta SET value = ? WHERE key = 'catalog_refreshed_at'", (fresh,))
        _drop(Path(pair.b), config)
        clock.lap("setup")
        figures = _once(config, sandbox, "--no-orders")
        clock.lap("once")
    finally:
        sandbox.stop()
    return figures | {"changed": pair.changed}


def once_first(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    pair = sync_data.Pair.from_json((work / f"pair-{rows}.json").read_text(encoding="utf-8"))
    catalog, differing = _catalog_holding_a(rows)
    sandbox = _sandbox(catalog)
    del catalog
    try:
        config = _workspace(work / "once-first", sandbox.url)
        _drop(Path(pair.b), config)
        clock.lap("setup")
        figures = _once(config, sandbox, "--no-orders", "--refresh-catalog")
        clock.lap("once")
    finally:
        sandbox.stop()
    batch = max(figures["largest_batch"], 1)
    return figures | {"differing": differing, "ideal_posts": -(-differing // batch)}


def _catalog_holding_a(rows: int) -> tuple[list[dict[str, Any]], int]:
    """The sandbox catalog with A's stock, price and cost (Alephee already has A), and how
    many products B differs in (the products a first sync should send)."""
    from connector.sandbox.fixtures import make_catalog

    a = sync_data.base_rows(rows)
    b = [list(row) for row in a]
    sync_data.change(b, 0.01)
    catalog = make_catalog(rows)
    for product, (_, _, _, stock, price, cost) in zip(catalog, a, strict=True):
        product["Stock"]["Quantity"] = product["Stock"]["PublishQuantity"] = stock
        entry = product["Price"][0]
        entry["PriceWithTaxes"] = entry["FinalPriceWithShippingCost"] = int(price) / 100
        entry["Price"] = round(int(price) / 100 / 1.21, 4)
        entry["Cost"] = int(cost) / 100
    differing = sum(1 for old, new in zip(a, b, strict=True) if old != new)
    return catalog, differing
