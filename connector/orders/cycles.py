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
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connector.alephee.client import AlephClient
from connector.alephee.models import IntegrateMark, OrderHead
from connector.config import Config
from connector.db import atomic
from connector.errors import SkipError
from connector.intake.crashpoints import crashpoint
from connector.orders import ledger as ledger
from connector.orders.mapping import OrderMapping, load_order_mapping
from connector.orders.rows import cancellation_rows, own_order_id
from connector.orders.write import OrderBatch, publish_batch
from connector.runlog import RunSummary
from connector.slots import iso, parse_iso

log = logging.getLogger(__name__)
NORMAL, LATE = "orders", "cancellations"
MAX_PASSES = 20


@dataclass
class Cycle:
    config: Config
    conn: sqlite3.Connection
    client: AlephClient
    mapping: OrderMapping
    now: datetime
    written: int = 0
    cancellations: int = 0
    waiting: int = 0
    not_found: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def run_due_cycles(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    *,
    now: datetime,
    force: bool = False,
) -> Cycle | None:
    every = {
        NORMAL: timedelta(minutes=config.schedule.orders_every_minutes),
        LATE: timedelta(hours=config.schedule.cancellations_every_hours),
    }
    due = [name for name in (NORMAL, LATE) if force or _is_due(conn, name, now, every[name])]
    if not due:
        return None
    mapping = load_order_mapping(config.folders.mappings / config.orders.mapping)
    cycle = Cycle(config, conn, client, mapping, now)
    ledger.recover(conn, config.folders.outbox, iso(now))
    if NORMAL in due:
        normal_cycle(cycle)
    if LATE in due:
        late_cycle(cycle)
    for name in due:
        ledger.set_last_run(conn, name, iso(now))
    summary.orders_written += cycle.written
    summary.cancellations += cycle.cancellations
    summary.orders_waiting += cycle.waiting
    summary.notes.extend(cycle.skipped)
    return cycle


def _is_due(conn: sqlite3.Connection, name: str, now: datetime, every: timedelta) -> bool:
    last = ledger.last_run(conn, name)
    return last is None or now - parse_iso(last) >= every


# -- normal cycle ------------------------------------------------------------------------------


def normal_cycle(cycle: Cycle) -> None:
    mark_written(cycle)
    for _ in range(MAX_PASSES):
        heads = [
            (OrderHead.model_validate(raw), raw)
            for raw in cycle.client.iter_orders({"Integrated": "false"})
        ]
        known = ledger.known(cycle.conn, [head.id for head, _ in heads])
        fresh: list[dict[str, Any]] = []
        again = 0
        for head, raw in heads:
            state = known.get(head.id)
            if state in ("written", "marked"):
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
    """A written order Alephee still lists as not integrated: mark it again, never rewrite."""
    if head.cancelled and not ledger.cancelled_items(cycle.conn, head.id):
        write_cancellations(cycle, [raw])
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
        except SkipError as exc:
            cycle.skipped.append(str(exc))
            log.error("%s", exc)
            continue
        batch.add_order(raw, head, own)
    if batch.empty:
        return 0
    publish_batch(cycle.conn, cycle.config, batch, cycle.now)
    cycle.written += batch.order_count
    cycle.cancellations += batch.cancelled_count
    return len(batch.order_entries)


def mark_written(cycle: Cycle) -> None:
    """PUT orders/integrate for every written order not yet acknowledged, in batches."""
    pending = ledger.unmarked(cycle.conn)
    size = cycle.config.alephee.integrate_batch_size
    for start in range(0, len(pending), size):
        chunk = pending[start : start + size]
        marks = [
            IntegrateMark(
                order_id=oid,
                own_order_id=own,
                integrated=True,
                erp_status=cycle.config.orders.erp_status,
            )
            for oid, own in chunk
        ]
        results = cycle.client.integrate(marks)
        crashpoint("orders.after_integrate")
        with atomic(cycle.conn):
            for oid, _ in chunk:
                _settle_mark(cycle, oid, results.get(oid))


def _settle_mark(cycle: Cycle, order_id: int, result: Any) -> None:
    if result is None:
        return  # no answer for it: stays "written" and is marked again next cycle
    if str(result.status) == "200":
        ledger.set_marked(cycle.conn, order_id, "marked", result.message, iso(cycle.now))
    elif "not found" in result.message.lower():
        ledger.set_marked(cycle.conn, order_id, "not_found", result.message, iso(cycle.now))
        cycle.not_found.append(order_id)
        log.error(
            "Alephee does not know order %d (%s): check it in Alephee", order_id, result.message
        )
    else:
        log.warning(
            "order %d not marked (%s %s); tried again next cycle",
            order_id,
            result.status,
            result.message,
        )


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
        found[OrderHead.model_validate(raw).id] = raw
    for raw in cycle.client.iter_orders(base):
        oid = OrderHead.model_validate(raw).id
        if oid not in found and _cancelled_item_ids(raw):
            found[oid] = raw
    known = ledger.known(cycle.conn, list(found))
    ours = [raw for oid, raw in sorted(found.items()) if known.get(oid) in ("written", "marked")]
    write_cancellations(cycle, ours)


def write_cancellations(cycle: Cycle, orders: list[dict[str, Any]]) -> None:
    batch = OrderBatch(cycle.mapping, cycle.config)
    for raw in orders:
        head = OrderHead.model_validate(raw)
        done = ledger.cancelled_items(cycle.conn, head.id)
        if 0 in done:
            continue  # the whole order was already written as cancelled
        items = _cancelled_item_ids(raw)
        if head.cancelled or not items:
            rows = cancellation_rows(raw, cycle.mapping, tz=cycle.config.schedule.zone)
            batch.add_cancellation(head.id, 0, rows)
        else:
            new = items - done
            if new:
                rows = cancellation_rows(
                    raw, cycle.mapping, tz=cycle.config.schedule.zone, item_ids=new
                )
                batch.add_cancellation(head.id, min(new), rows, extra_items=new)
    if batch.empty:
        return
    publish_batch(cycle.conn, cycle.config, batch, cycle.now)
    cycle.cancellations += batch.cancelled_count


def _cancelled_item_ids(raw: dict[str, Any]) -> set[int]:
    ids = set()
    for key, items in raw.items():
        if key.lower() == "items" and isinstance(items, list):
            for item in items:
                folded = {str(k).lower(): v for k, v in item.items()}
                if folded.get("iscancelled") and folded.get("id") is not None:
                    ids.add(int(folded["id"]))
    return ids
