"""``connector reconcile``: what Alephee holds against what the connector believes, repaired.

After a forced catalog download (``catalog.refresh``: Alephee's values in ``catalog_values``),
each value Alephee holds is compared, per product and field, with the accepted state (what the
connector believed Alephee held) and with the intent (the accepted state overlaid by what is
queued: what the ERP's last export asks). Every difference becomes a line of a drift report in
outbox/ (``reconcile-<time>.csv``); then, in one transaction, the accepted state is set to what
Alephee holds and what the ERP's intent says should be there is queued where Alephee differs
(``pending.enqueue``, the usual due times and slots), so the next pass repairs it.

The report is written before the state changes (crash point ``reconcile.after_report``): a
kill between the two loses nothing, the next reconcile finds the same drift again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from connector.config import Config
from connector.db import atomic
from connector.fsutil import publish, timestamped_name
from connector.intake.crashpoints import crashpoint
from connector.outbox.publish import write_csv
from connector.outbox.typed import Cell, Number, Text
from connector.products import pending
from connector.products.diff import GROUP_FIELDS, column
from connector.products.snapshot import SEED_AS_OF
from connector.slots import due_at, iso

HEADER = [
    "sku",
    "brand",
    "field",
    "in Alephee",
    "accepted (connector believed)",
    "last export asks",
    "reconcile did",
]
QUEUED = "queued: the last export's value goes with the next run"
ALREADY_QUEUED = "accepted set to Alephee's value; the queued change goes with the next run"
ALIGNED = "accepted set to Alephee's value (it holds what the last export asks)"
NO_EXPORT = "accepted set to Alephee's value (no export asks for this field)"
SOURCE = "reconcile"


@dataclass(frozen=True)
class Drift:
    """One field of one product where Alephee, the accepted state and the intent disagree."""

    sku: str
    brand: str
    group: str
    field: str
    alephee: int | None
    accepted: int | None
    intent: int | None  # None: no export asks (the accepted value was only seeded)
    queued: bool  # the queue holds a change of this product and group
    queued_value: int | None  # the queued value of this field (None: the queue has none)
    as_of: str  # the export the intent comes from


@dataclass
class ReconcileReport:
    products: int = 0  # catalog products compared
    drift: list[Drift] = field(default_factory=list)
    queued: int = 0  # changes (product and group) queued to repair Alephee
    path: Path | None = None

    @property
    def drifted_products(self) -> int:
        return len({(d.sku, d.brand) for d in self.drift})


def find_drift(conn: sqlite3.Connection) -> list[Drift]:
    """Every field where Alephee's value differs from the accepted value or from the intent,
    for products the connector holds a belief about (accepted or queued). Set-based SQL."""
    found: list[Drift] = []
    for group, fields in GROUP_FIELDS.items():
        for name in fields:
            col = column(name)
            rows = conn.execute(
                f"SELECT v.sku, v.brand, v.{col} AS alephee, a.{col} AS accepted, "
                f"a.{group}_as_of AS accepted_as_of, q.{col} AS queued, q.as_of AS queued_as_of, "
                "q.sku IS NOT NULL AS in_queue "
                "FROM catalog_values v "
                "LEFT JOIN accepted a ON a.sku = v.sku AND a.brand = v.brand "
                "LEFT JOIN queue q ON q.sku = v.sku AND q.brand = v.brand AND q.grp = ? "
                f"WHERE (a.{col} IS NOT NULL OR q.{col} IS NOT NULL) "
                f"AND (v.{col} IS NOT a.{col} OR v.{col} IS NOT COALESCE(q.{col}, a.{col})) "
                "ORDER BY v.sku, v.brand",
                (group,),
            )
            found += [_drift(row, group, name) for row in rows]
    return found


def _drift(row: sqlite3.Row, group: str, name: str) -> Drift:
    from_export = row["accepted_as_of"] is not None and row["accepted_as_of"] != SEED_AS_OF
    intent = row["queued"] if row["queued"] is not None else row["accepted"]
    if row["queued"] is None and not from_export:
        intent = None  # a seed is Alephee's old value, not something an export asked for
    return Drift(
        sku=str(row["sku"]),
        brand=str(row["brand"]),
        group=group,
        field=name,
        alephee=row["alephee"],
        accepted=row["accepted"],
        intent=intent,
        queued=bool(row["in_queue"]),
        queued_value=row["queued"],
        as_of=row["queued_as_of"] or row["accepted_as_of"] or SEED_AS_OF,
    )


def action(item: Drift) -> str:
    if item.intent is None:
        return NO_EXPORT
    if item.intent == item.alephee:
        return ALIGNED
    return ALREADY_QUEUED if item.queued else QUEUED


def write_report(config: Config, drift: list[Drift], now: datetime) -> Path:
    """The drift report in outbox/, CSV as the other outbox files (Excel-safe)."""
    rows = [
        [
            Text(d.sku),
            Text(d.brand),
            Text(d.field),
            _cell(d.alephee, d.field),
            _cell(d.accepted, d.field),
            _cell(d.intent, d.field),
            Text(action(d)),
        ]
        for d in drift
    ]
    local = now.astimezone(config.schedule.zone)
    name = timestamped_name("reconcile", ".csv", local)
    return publish(config.folders.outbox, name, lambda h: write_csv(h, HEADER, rows, config.outbox))


def _cell(value: int | None, name: str) -> Cell:
    if value is None:
        return Text("")
    return Number(Decimal(value) if name == "quantity" else Decimal(value).scaleb(-4))


def apply(conn: sqlite3.Connection, drift: list[Drift], config: Config, now: datetime) -> int:
    """Accepted := what Alephee holds for every drifted product and group; the intent queued
    where Alephee differs from it. One transaction. Returns the changes queued."""
    groups = sorted({(d.sku, d.brand, d.group) for d in drift})
    queued = 0
    with atomic(conn):
        for group, fields in GROUP_FIELDS.items():
            keys = [(sku, brand) for sku, brand, g in groups if g == group]
            _align(conn, group, [column(f) for f in fields], keys, iso(now))
            wanted = [d for d in drift if d.group == group and _to_queue(d)]
            queued += _enqueue(conn, group, wanted, config, now)
    return queued


def _to_queue(item: Drift) -> bool:
    """An export asks for another value than Alephee's, and the queue does not already carry
    it (a queued change keeps its own due time, slot and reason: a held refusal stays held)."""
    return item.intent not in (None, item.alephee) and item.queued_value is None


def _align(
    conn: sqlite3.Connection, group: str, cols: list[str], keys: list[tuple[str, str]], now: str
) -> None:
    """Set the accepted values of ``group`` to Alephee's, keeping the export's ``as_of`` (a
    product with no accepted row yet gets the seed's, older than any export)."""
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols)
    conn.executemany(
        f"INSERT INTO accepted (sku, brand, {', '.join(cols)}, {group}_as_of, updated_at) "
        f"SELECT v.sku, v.brand, {', '.join(f'v.{c}' for c in cols)}, ?, ? "
        "FROM catalog_values v WHERE v.sku = ? AND v.brand = ? "
        f"ON CONFLICT(sku, brand) DO UPDATE SET {sets}, updated_at = excluded.updated_at, "
        f"{group}_as_of = COALESCE(accepted.{group}_as_of, excluded.{group}_as_of)",
        ((SEED_AS_OF, now, sku, brand) for sku, brand in keys),
    )


def _enqueue(
    conn: sqlite3.Connection, group: str, wanted: list[Drift], config: Config, now: datetime
) -> int:
    """Queue the intent of each product (all its drifted fields), per export ``as_of`` so a
    newer export still supersedes it and an older one stays stale."""
    import pandas as pd  # reconcile is a rare command: the table only now

    if not wanted:
        return 0
    # One call per export as_of and set of fields: enqueue writes every column it is given.
    by_product: dict[tuple[str, str, str], dict[str, int | None]] = {}
    for item in wanted:
        by_product.setdefault((item.sku, item.brand, item.as_of), {})[column(item.field)] = (
            item.intent
        )
    batches: dict[tuple[str, tuple[str, ...]], list[dict[str, object]]] = {}
    for (sku, brand, as_of), values in by_product.items():
        record = {"sku": sku, "brand": brand, "line": 0, **values}
        batches.setdefault((as_of, tuple(sorted(values))), []).append(
            {**record, **_slot(group, values, config, now)}
        )
    for (as_of, _), records in sorted(batches.items()):
        frame = pd.DataFrame.from_records(records)
        pending.enqueue(conn, frame, group, source=SOURCE, as_of=as_of, now=iso(now))
    return len(by_product)


def _slot(
    group: str, values: dict[str, int | None], config: Config, now: datetime
) -> dict[str, str]:
    to_zero = group == "stock" and values.get("quantity") == 0
    due = due_at(group, to_zero=to_zero, moment=now, schedule=config.schedule)
    return {
        "due_at": due,
        "slot": "night" if due > iso(now) else "now",
        "reason": "reconcile",
    }


def reconcile(conn: sqlite3.Connection, config: Config, now: datetime) -> ReconcileReport:
    """Compare (after the caller refreshed the catalog), report, then repair."""
    report = ReconcileReport(products=_catalog_size(conn))
    report.drift = find_drift(conn)
    if not report.drift:
        return report
    report.path = write_report(config, report.drift, now)
    crashpoint("reconcile.after_report")
    report.queued = apply(conn, report.drift, config, now)
    return report


def _catalog_size(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM catalog_values").fetchone()[0])
