"""One cycle's outbox files, published so that a crash never writes an order twice.

Order of the steps (see ``connector.orders.ledger``): (1) reserve final names and record every
order as ``planned`` with its file and line, in one transaction; (2) stage each file whole and
fsynced under a hidden name; (3) commit: the orders are ``written`` (the commit point, in the
database, so an ERP that moves the files away cannot make us write them again); (4) rename
each staged file to its final name. ``ledger.recover`` finishes or undoes a run that died.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.alephee.models import OrderHead
from connector.config import Config
from connector.db import atomic
from connector.fsutil import stage
from connector.intake.crashpoints import crashpoint
from connector.orders import ledger as ledger
from connector.orders.mapping import OrderMapping
from connector.orders.rows import (
    cancellation_rows,
    cancelled_on_arrival,
    order_line_rows,
    order_rows,
    unbooked_cancelled_ids,
)
from connector.outbox.publish import sylk_safe, write_csv
from connector.outbox.typed import Cell
from connector.outbox.xlsx import write_xlsx
from connector.slots import iso

Rows = Sequence[Sequence[Cell]]


@dataclass
class OrderBatch:
    mapping: OrderMapping
    config: Config
    orders: list[Sequence[Cell]] = field(default_factory=list)
    lines: list[Sequence[Cell]] = field(default_factory=list)
    cancellations: list[Sequence[Cell]] = field(default_factory=list)
    order_entries: list[tuple[int, str, int, bool]] = field(default_factory=list)
    unbooked: list[tuple[int, int, int | None]] = field(default_factory=list)
    cancel_entries: list[tuple[int, int, int | None]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.orders or self.cancellations or self.order_entries)

    @property
    def order_count(self) -> int:
        return sum(1 for entry in self.order_entries if not entry[3])

    @property
    def cancelled_count(self) -> int:
        return len({entry[0] for entry in self.cancel_entries})

    def add_order(self, raw: dict[str, Any], head: OrderHead, own: str) -> None:
        """Rows are built before anything is added: an order that fails adds nothing."""
        tz = self.config.schedule.zone
        if head.cancelled or cancelled_on_arrival(raw):
            # Already cancelled when it arrives: it goes to the cancellations file only.
            rows = cancellation_rows(raw, self.mapping, tz=tz)
            line = len(self.cancellations) + 2
            self.cancellations.extend(rows)
            self.order_entries.append((head.id, own, line, True))
            self.cancel_entries.append((head.id, 0, line))
            return
        orders = order_rows(raw, self.mapping, tz=tz)
        lines = order_line_rows(raw, self.mapping, tz=tz)
        unbooked = unbooked_cancelled_ids(raw, self.mapping)
        self.order_entries.append((head.id, own, len(self.orders) + 2, False))
        self.orders.extend(orders)
        self.lines.extend(lines)
        # recorded without a line: never reported as a late cancellation
        self.unbooked.extend((head.id, item, None) for item in sorted(unbooked))

    def add_cancellation(
        self, order_id: int, item_id: int, rows: Rows, extra_items: set[int] | None = None
    ) -> None:
        line = len(self.cancellations) + 2
        self.cancellations.extend(rows)
        for item in sorted(extra_items or {item_id}):
            self.cancel_entries.append((order_id, item, line))


def publish_batch(
    conn: sqlite3.Connection, config: Config, batch: OrderBatch, now: datetime
) -> None:
    stamp = now.astimezone(config.schedule.zone).strftime("%Y%m%d-%H%M%S")
    files: list[tuple[ledger.Planned, list[str], Rows]] = []
    with atomic(conn):
        if batch.cancellations:
            planned = ledger.plan_file(conn, "cancellations", stamp, iso(now))
            files.append((planned, batch.mapping.cancellations_header, batch.cancellations))
            ledger.plan_cancellations(conn, planned.file_id, batch.cancel_entries)
            on_arrival = [e for e in batch.order_entries if e[3]]
            ledger.plan_orders(conn, planned.file_id, on_arrival)
        if batch.lines and batch.mapping.lines_header:
            planned = ledger.plan_file(conn, "order-lines", stamp, iso(now))
            files.append((planned, batch.mapping.lines_header, batch.lines))
        if batch.orders:
            planned = ledger.plan_file(conn, "orders", stamp, iso(now))
            files.append((planned, batch.mapping.orders_header, batch.orders))
            ledger.plan_orders(conn, planned.file_id, [e for e in batch.order_entries if not e[3]])
            ledger.plan_cancellations(conn, planned.file_id, batch.unbooked)
    for planned, header, rows in files:
        _stage(config, planned.name, header, rows)
    crashpoint("orders.after_stage")
    ledger.commit_files(conn, [planned.file_id for planned, _, _ in files], iso(now))
    crashpoint("orders.after_commit")
    for planned, _, _ in files:
        ledger.finish_file(conn, config.folders.outbox, planned.file_id, planned.name)
        crashpoint("orders.after_write")


def _stage(config: Config, name: str, header: list[str], rows: Rows) -> None:
    header = sylk_safe(header)
    folder = config.folders.outbox
    if config.outbox.format == "xlsx":
        kind = name.split("-2", 1)[0]
        stage(folder, f"{name}.xlsx", lambda handle: write_xlsx(handle, kind, header, rows))
    else:
        stage(folder, f"{name}.csv", lambda handle: write_csv(handle, header, rows, config.outbox))
