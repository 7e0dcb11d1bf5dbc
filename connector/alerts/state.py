"""The alerts' memory in the state database: per condition, active or not, since when,
whether this episode was told, and when the last alert went out."""

from __future__ import annotations

import sqlite3

from connector.alerts.rules import Remembered
from connector.db import atomic, migrate
from connector.report.facts import moment
from connector.slots import iso


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "alerts_v1",
        [
            "CREATE TABLE alert_state (condition TEXT PRIMARY KEY, active INTEGER NOT NULL, "
            "since TEXT, notified INTEGER NOT NULL, last_sent TEXT)"
        ],
    )


def load(conn: sqlite3.Connection) -> dict[str, Remembered]:
    rows = conn.execute("SELECT condition, active, since, notified, last_sent FROM alert_state")
    return {
        str(r["condition"]): Remembered(
            active=bool(r["active"]),
            since=moment(r["since"]) if r["since"] else None,
            notified=bool(r["notified"]),
            last_sent=moment(r["last_sent"]) if r["last_sent"] else None,
        )
        for r in rows
    }


def save(conn: sqlite3.Connection, state: dict[str, Remembered]) -> None:
    with atomic(conn):
        for key, value in state.items():
            conn.execute(
                "INSERT OR REPLACE INTO alert_state (condition, active, since, notified, "
                "last_sent) VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    int(value.active),
                    iso(value.since) if value.since else None,
                    int(value.notified),
                    iso(value.last_sent) if value.last_sent else None,
                ),
            )
