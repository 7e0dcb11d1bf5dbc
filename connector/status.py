"""``connector status``: what is queued, deferred, failed; the last runs; Alephee's health.

``collect`` builds a plain dict (the ``--json`` output, schema in docs/status-schema.json);
``render`` draws it as rich tables for a person.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from filelock import FileLock, Timeout
from rich.console import Console
from rich.table import Table

from connector import catalog, orders_ledger, pending, runlog, snapshot
from connector.config import Config
from connector.intake import Ledger
from connector.intake.scan import is_ignored
from connector.slots import iso

SCHEMA_VERSION = 1


def instance_running(config: Config) -> bool:
    path = config.folders.state / "connector.lock"
    if not path.exists():
        return False
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def collect(config: Config, now: datetime | None = None) -> dict[str, Any]:
    from connector.runner import open_state

    now = now or datetime.now(UTC)
    running = instance_running(config)
    conn = open_state(config)
    try:
        ledger = Ledger(conn)
        recent = ledger.recent(7, now=now)
        refreshed = catalog.refreshed_at(conn)
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": iso(now),
            "instance_running": running,
            "queue": pending.summary(conn, iso(now)),
            "accepted": snapshot.counts(conn),
            "catalog": {
                "products": catalog.size(conn),
                "refreshed_at": iso(refreshed) if refreshed else None,
            },
            "files": {
                "last_7_days": ledger.counts(days=7, now=now),
                "failed": [
                    {
                        "name": e.name,
                        "when": iso(e.claimed_at) if e.claimed_at else None,
                        "reason": e.detail,
                    }
                    for e in recent
                    if e.status == "failed"
                ][:20],
                "waiting": sorted(
                    p.name
                    for p in config.folders.inbox.glob("*")
                    if p.is_file() and not is_ignored(p.name, config.intake.ignore)
                ),
            },
            "orders": orders_ledger.counts(conn),
            "runs": runlog.recent(conn, 10),
            "health": runlog.health(conn),
        }
    finally:
        conn.close()


def render(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    queue = report["queue"]
    state = "[bold red]yes[/]" if report["instance_running"] else "no"
    console.print(f"Another connector running: {state}")
    health = report["health"]
    console.print(f"Last contact with Alephee: {health.get('last_contact', 'never')}")
    console.print(
        f"Catalog: {report['catalog']['products']} products "
        f"(refreshed {report['catalog']['refreshed_at'] or 'never'})"
    )
    table = Table(title="Changes waiting for Alephee")
    table.add_column("due now")
    table.add_column("deferred")
    table.add_column("next deferred batch goes at (UTC)")
    table.add_row(str(queue["due"]), str(queue["deferred"]), str(queue["next_deferred_at"] or "-"))
    console.print(table)
    files = report["files"]
    console.print(f"Files, last 7 days: {files['last_7_days']}")
    console.print(f"Waiting in the inbox: {', '.join(files['waiting']) or 'none'}")
    for failed in files["failed"]:
        console.print(f"  [red]failed[/] {failed['name']}: {failed['reason']}")
    console.print(f"Orders: {report['orders']}")
    runs = Table(title="Last runs")
    for name in ("mode", "started (UTC)", "exit", "summary"):
        runs.add_column(name)
    for run in report["runs"]:
        s = run["summary"]
        runs.add_row(
            run["mode"],
            run["started_at"][:19],
            str(run["exit_code"]),
            f"files {s['files']}, sent {s['sent']}, orders {s['orders_written']}, "
            f"rejected {s['rejected']}",
        )
    console.print(runs)
