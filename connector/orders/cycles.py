"""Alephee's two order cycles, exactly once into the outbox.

Normal cycle: GET orders ``Integrated=false`` (no other filter), every page; new orders are
written to a fresh outbox file, recorded in the ledger, then marked with PUT orders/integrate.
Orders already in the ledger are only marked again, never written again. The query is repeated
from offset 0 until it brings nothing new (marked orders leave that set while we page).
Late-cancellation cycle: GET orders ``statusType=99`` modified in the last X days; only orders
this connector wrote; each cancellation written once.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connector.alephee.client import AlephClient
from connector.alephee.models import OrderHead
from connector.config import Config
from connector.contain import contained, report
from connector.db import atomic
from connector.errors import SkipError
from connector.orders import ledger as ledger
from connector.orders.mapping import OrderMapping, load_order_mapping
from connector.orders.marks import mark_written
from connector.orders.rows import cancellation_rows, cancelled_item_ids, own_order_id
from connector.orders.write import OrderBatch, publish_batch
from connector.runlog import RunSummary
from connector.slots import iso, parse_iso

log = logging.getLogger(__name__)
NORMAL, LATE = "orders", "cancellations"
MAX_PASSES = 20
MAX_TOLERANCE = timedelta(seconds=60)
OURS = ("written", "marked", "not_found")  # orders this connector put in the outbox


@dataclass
class Cycle:
    config: Config
    conn: sqlite3.Connection
    client: AlephClient
    mapping: OrderMapping
    now: datetime
    summary: RunSummary
    stop: Callable[[], bool] = lambda: False  # `run` was asked to stop: end after this step
    written: int = 0
    cancellations: int = 0
    waiting: int = 0
    not_found: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    set_aside: set[object] = field(default_factory=set)  # orders reported this cycle
    tried: set[int] = field(default_factory=set)  # orders sent to PUT integrate this cycle

    def head(self, raw: dict[str, Any]) -> OrderHead | None:
        """The order's header fields, or None when they do not parse: the order is set aside
        (reported once per cycle, never written nor marked) and the others go on."""
        try:
            return OrderHead.model_validate(raw)
        except Exception as exc:  # noqa: BLE001 - one malformed order must not stop the rest
            self.put_aside(raw, exc)
            return None

    def put_aside(self, raw: dict[str, Any], exc: Exception) -> None:
        oid = raw.get("Id", "?") if isinstance(raw, dict) else "?"
        if oid not in self.set_aside:
            self.set_aside.add(oid)
            report(self.summary, f"order {oid} set aside", exc)


def run_due_cycles(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    *,
    now: datetime,
    force: bool = False,
    stop_requested: Callable[[], bool] = lambda: False,
) -> Cycle | None:
    # every pass, due or not: a file a killed run committed reaches the ERP without delay
    with contained(summary, "orders recovery"):
        ledger.recover(conn, config.folders.outbox, iso(now))
    every = intervals(config)
    due = [name for name in (NORMAL, LATE) if force or is_due(conn, name, now, every[name])]
    if not due:
        return None
    mapping = load_order_mapping(config.folders.mappings / config.orders.mapping)
    cycle = Cycle(config, conn, client, mapping, now, summary, stop_requested)
    if NORMAL in due:
        with contained(summary, "orders cycle"):
            normal_cycle(cycle)
    if LATE in due and not stop_requested():
        with contained(summary, "cancellations cycle"):
            late_cycle(cycle)
    for name in due:
        ledger.set_last_run(conn, name, iso(now))
    summary.orders_written += cycle.written
    summary.cancellations += cycle.cancellations
    summary.orders_waiting += cycle.waiting
    summary.notes.extend(cycle.skipped)
    return cycle


def intervals(config: Config) -> dict[str, timedelta]:
    return {
        NORMAL: timedelta(minutes=config.schedule.orders_every_minutes),
        LATE: timedelta(hours=config.schedule.cancellations_every_hours),
    }


def tolerance(every: timedelta) -> timedelta:
    """How early a cycle may run: a scheduled task fires a little early or late, and a strict
    ``>=`` would skip a whole interval for 0.2 s of skew (10 % of it, at most a minute)."""
    return min(every * 0.1, MAX_TOLERANCE)


def is_due(conn: sqlite3.Connection, name: str, now: datetime, every: timedelta) -> bool:
    last = ledger.last_run(conn, name)
    return last is None or now - parse_iso(last) >= every - tolerance(every)


# -- normal cycle ------------------------------------------------------------------------------


def normal_cycle(cycle: Cycle) -> None:
    mark_written(cycle)
    for _ in range(MAX_PASSES):
        if cycle.stop():
            return  # what is left is still listed as not integrated: the next run takes it
        heads = [
            (head, raw)
            for raw in cycle.client.iter_orders({"Integrated": "false"})
            if (head := cycle.head(raw)) is not None
        ]
        known = ledger.known(cycle.conn, [head.id for head, _ in heads])
        fresh: list[dict[str, Any]] = []
        again = 0
        for head, raw in heads:
            state = known.get(head.id)
            if state in OURS:
                again += _remark(cycle, head, raw, state)
            elif state is None and head.is_complete_pack_order is False:
                cycle.waiting += 1  # a cart whose sibling orders have not arrived: next cycle
            elif state is None:
                fresh.append(raw)
        written = write_orders(cycle, fresh) if fresh else 0
        if written or again:
            mark_written(cycle)
        if not written:
            return  # nothing new (what is left waits, or cannot be written: see the log)


def _remark(cycle: Cycle, head: OrderHead, raw: dict[str, Any], state: str) -> int:
    """An order of ours Alephee still lists as not integrated: mark it again (unless Alephee
    kept saying it does not know it), never rewrite it. The late cycle only sees integrated
    orders, so a cancellation of such an order is written here."""
    if _new_cancellation(cycle, raw):
        write_cancellations(cycle, [raw])
    if state == "not_found":
        return 0
    if state == "marked":
        with atomic(cycle.conn):
            ledger.set_marked(
                cycle.conn, head.id, "written", "not integrated in Alephee", iso(cycle.now)
            )
    return 1


def write_orders(cycle: Cycle, orders: list[dict[str, Any]]) -> int:
    """Write new orders to the outbox; returns how many orders (and cancellations) it wrote."""
    batch = OrderBatch(cycle.mapping, cycle.config)
    for raw in orders:
        head = OrderHead.model_validate(raw)
        try:
            own = own_order_id(raw, cycle.mapping)
            batch.add_order(raw, head, own)
        except SkipError as exc:
            cycle.skipped.append(str(exc))
            log.error("%s", exc)
        except Exception as exc:  # noqa: BLE001 - set this order aside, write the others
            cycle.put_aside(raw, exc)
    if batch.empty:
        return 0
    publish_batch(cycle.conn, cycle.config, batch, cycle.now)
    cycle.written += batch.order_count
    cycle.cancellations += batch.cancelled_count
    return len(batch.order_entries)


# -- late-cancellation cycle -------------------------------------------------------------------


def late_cycle(cycle: Cycle) -> None:
    """Cancelled orders (statusType 99) modified in the last X days, plus orders of ours with
    items cancelled one by one (Alephee keeps such an order's status until every item is
    cancelled, so the cancelled filter alone would never show them)."""
    days = cycle.config.schedule.cancellations_lookback_days
    since = (cycle.now - timedelta(days=days)).strftime("%Y-%m-%d %H:%M")
    base = {"Integrated": "true", "statusDateFrom": since}
    found: dict[int, dict[str, Any]] = {}
    for raw in cycle.client.iter_orders({"statusType": "99", **base}):
        if (head := cycle.head(raw)) is not None:
            found[head.id] = raw
    for raw in cycle.client.iter_orders(base):
        head = cycle.head(raw)
        if head is not None and head.id not in found and cancelled_item_ids(raw):
            found[head.id] = raw
    known = ledger.known(cycle.conn, list(found))
    ours = [raw for oid, raw in sorted(found.items()) if known.get(oid) in OURS]
    write_cancellations(cycle, ours)


def _new_cancellation(cycle: Cycle, raw: dict[str, Any]) -> bool:
    head = OrderHead.model_validate(raw)
    done = ledger.cancelled_items(cycle.conn, head.id)
    if 0 in done:
        return False
    return head.cancelled or bool(cancelled_item_ids(raw) - done)


def write_cancellations(cycle: Cycle, orders: list[dict[str, Any]]) -> None:
    batch = OrderBatch(cycle.mapping, cycle.config)
    for raw in orders:
        try:
            _add_cancellation(cycle, batch, raw)
        except Exception as exc:  # noqa: BLE001 - set this order aside, write the others
            cycle.put_aside(raw, exc)
    if batch.empty:
        return
    publish_batch(cycle.conn, cycle.config, batch, cycle.now)
    cycle.cancellations += batch.cancelled_count


def _add_cancellation(cycle: Cycle, batch: OrderBatch, raw: dict[str, Any]) -> None:
    """Lines for what changed since we last wrote this order: the whole order, or the items
    cancelled since (never an item that was already cancelled when the order arrived)."""
    head = OrderHead.model_validate(raw)
    done = ledger.cancelled_items(cycle.conn, head.id)
    if 0 in done:
        return  # the whole order was already written as cancelled
    items = cancelled_item_ids(raw)
    zone = cycle.config.schedule.zone
    if head.cancelled or not items:
        batch.add_cancellation(head.id, 0, cancellation_rows(raw, cycle.mapping, tz=zone))
        return
    new = items - done
    if new:
        rows = cancellation_rows(raw, cycle.mapping, tz=zone, item_ids=new)
        batch.add_cancellation(head.id, min(new), rows, extra_items=new)
