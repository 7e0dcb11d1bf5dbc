"""The run summary: one line in the log and one row in the state database per run."""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from connector.db import atomic, migrate

log = logging.getLogger(__name__)


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "runs_v1",
        [
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, mode TEXT NOT NULL, "
            "started_at TEXT NOT NULL, finished_at TEXT NOT NULL, exit_code INTEGER NOT NULL, "
            "summary TEXT NOT NULL, message TEXT)",
            "CREATE TABLE health (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
    )


@dataclass
class RunSummary:
    files: int = 0
    files_failed: int = 0
    duplicates: int = 0
    rows: int = 0
    rejected: int = 0
    not_in_catalog: int = 0
    queued: int = 0  # changes: one product's stock, or one product's prices
    deferred: int = 0
    superseded: int = 0  # queued changes removed: a newer export went back to the accepted value
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    orders_written: int = 0
    orders_waiting: int = 0
    cancellations: int = 0
    status_sent: int = 0
    status_refused: int = 0
    documents_attached: int = 0
    documents_failed: int = 0
    calls: int = 0
    rate_limited: int = 0
    internal_errors: int = 0  # unexpected errors contained (connector.contain): exit 5
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"files {self.files} (failed {self.files_failed}, duplicates {self.duplicates}), "
            f"rows {self.rows}, rejected {self.rejected} (not in catalog {self.not_in_catalog}), "
            f"changes queued {self.queued} (deferred {self.deferred}, superseded "
            f"{self.superseded}), changes sent {self.sent} (accepted {self.accepted}, refused "
            f"{self.refused}), orders written "
            f"{self.orders_written}, cancellations {self.cancellations}, {self._back()}"
            f"calls {self.calls}, 429s {self.rate_limited}, {self.seconds:.1f} s"
            + (f", internal errors {self.internal_errors}" if self.internal_errors else "")
        )

    def _back(self) -> str:
        """Status updates and documents sent back to Alephee, when there were any."""
        if not (self.status_sent or self.documents_attached or self.documents_failed):
            return ""
        return (
            f"status updates {self.status_sent} (refused {self.status_refused}), documents "
            f"{self.documents_attached} (failed {self.documents_failed}), "
        )

    def exit_code(self) -> int:
        if self.internal_errors:
            return 5  # connector.errors.EXIT_INTERNAL: see the log
        problems = self.rejected or self.files_failed or self.refused or self.status_refused
        problems = problems or self.documents_failed
        return 1 if problems else 0


def record(
    conn: sqlite3.Connection,
    mode: str,
    started: str,
    finished: str,
    code: int,
    summary: RunSummary,
    message: str = "",
) -> None:
    with atomic(conn):
        conn.execute(
            "INSERT INTO runs (mode, started_at, finished_at, exit_code, summary, message) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (mode, started, finished, code, json.dumps(asdict(summary)), message),
        )
    log.info("run finished (exit %d): %s", code, summary.line())


def set_health(conn: sqlite3.Connection, values: dict[str, Any]) -> None:
    with atomic(conn):
        for key, value in values.items():
            conn.execute(
                "INSERT OR REPLACE INTO health (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )


def health(conn: sqlite3.Connection) -> dict[str, Any]:
    return {str(r[0]): json.loads(r[1]) for r in conn.execute("SELECT key, value FROM health")}


def recent(conn: sqlite3.Connection, limit: int = 10) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT mode, started_at, finished_at, exit_code, summary, message FROM runs "
        "ORDER BY id DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [
        {
            "mode": r["mode"],
            "started_at": r["started_at"],
            "finished_at": r["finished_at"],
            "exit_code": int(r["exit_code"]),
            "summary": json.loads(r["summary"]),
            "message": r["message"] or "",
        }
        for r in rows
    ]
