"""What a dry run would send, in words and as ``outbox/dry-run-<time>.csv``.

``sending`` sums up what the rehearsed pass posted (one POST item per product) and what waits
in the queue for a later slot; the ``describe_*`` functions say it in a line each; and
``write_plan`` lists every queued change with its values and when it would go, in the outbox
locale (``;`` and decimal comma for es-AR and pt-BR), cells made spreadsheet-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector.config import Config
from connector.documents.names import TYPE_CODES
from connector.dryrun.recorder import Write
from connector.fsutil import publish, timestamped_name
from connector.outbox.publish import write_csv
from connector.outbox.typed import Cell, Number, Text
from connector.products.diff import ALL_FIELDS, PRICE, STOCK, column
from connector.runlog import RunSummary
from connector.slots import parse_iso

if TYPE_CHECKING:
    from connector.products.pending import Window

GROUPS = (STOCK, PRICE)
DOCUMENT_TYPES = {code: name for name, code in TYPE_CODES.items()}
CSV_HEADER = ["sku", "brand", "change", *ALL_FIELDS, "goes", "reason", "source file", "line"]
Row = dict[str, Any]


@dataclass
class Sending:
    """What the rehearsed pass sent (recorded, not sent), and what waits for its slot."""

    now: dict[str, int]  # changes per group (stock, price) in the recorded POSTs
    later: dict[str, int]  # changes per group waiting for a later slot
    products_now: int  # POST items: one per product, stock and price together
    calls: int  # POST /v2/products calls the pass made
    next_at: str | None  # ISO UTC of the earliest deferred change


def sending(queue: list[Row], writes: list[Write], window: Window) -> Sending:
    posts = [w for w in writes if w.endpoint == "POST /v2/products"]
    items = [item for w in posts for item in w.items]
    now = {
        STOCK: sum(1 for i in items if "Stock" in i),
        PRICE: sum(1 for i in items if "Price" in i),
    }
    later = dict.fromkeys(GROUPS, 0)
    next_at: str | None = None
    for row in queue:
        if not window.is_ready(row):
            later[row["grp"]] += 1
            goes = window.goes_at(row)
            next_at = min(next_at or goes, goes)
    return Sending(now, later, len(items), len(posts), next_at)


def describe_sending(plan: Sending, config: Config, now: datetime) -> list[str]:
    lines = []
    if plan.products_now:
        lines.append(
            f"Would send now: {plan.products_now:,} products in {plan.calls:,} call(s) to "
            f"POST /v2/products ({plan.now[STOCK]:,} stock, {plan.now[PRICE]:,} price changes)"
        )
    else:
        lines.append("Would send now: nothing")
    if plan.next_at:
        when = local_time(plan.next_at, config, now)
        waiting = " and ".join(f"{n:,} {group} changes" for group, n in plan.later.items() if n)
        lines.append(
            f"Waiting for their slot: {waiting}, the first at {when} ({config.schedule.timezone})"
        )
    return lines


def describe_back(writes: list[Write]) -> list[str]:
    """What would go back to Alephee: order status updates and documents."""
    updates = [w for w in writes if w.endpoint == "PUT /v2/orders"]
    documents = [w for w in writes if w.endpoint.endswith("/documents")]
    lines = []
    if updates:
        count = sum(len(w.items) for w in updates)
        lines.append(
            f"Would send {count:,} order status updates in {len(updates)} call(s) to PUT /v2/orders"
        )
    for w in documents:
        item = w.items[0] if w.items else {}
        order = w.endpoint.split("/")[3]
        kind = DOCUMENT_TYPES.get(int(item.get("DocumentType", -1)), "document")
        name = item.get("FileName", "a document")
        lines.append(f"{name}: would attach to order {order} as {kind} ({w.endpoint})")
    return lines


def describe_orders(summary: RunSummary, *, due: bool) -> str:
    if not due:
        return (
            "Orders: the order cycles are not due yet (they ran recently); "
            "add --cycles-now to see what they would write"
        )
    waiting = (
        f", {summary.orders_waiting:,} cart orders wait for the rest of their cart"
        if summary.orders_waiting
        else ""
    )
    return (
        f"Orders: would write {summary.orders_written:,} new orders and "
        f"{summary.cancellations:,} cancellations to the outbox{waiting}"
    )


def local_time(moment: str, config: Config, now: datetime) -> str:
    """'00:00' for today or tomorrow, else the date too; in the schedule's time zone."""
    zone = config.schedule.zone
    local, today = parse_iso(moment).astimezone(zone), now.astimezone(zone).date()
    if local.date() in (today, today + timedelta(days=1)):
        return f"{local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


# -- the plan file -----------------------------------------------------------------------------


def write_plan(config: Config, queue: list[Row], now: datetime) -> Path:
    """``outbox/dry-run-<local time>.csv``: every queued change and when it would go."""
    from connector.products.pending import Window  # pandas: only when there is a plan

    window = Window.at(now, config.schedule)
    rows = [_plan_row(row, window, config, now) for row in queue]
    stamp = now.astimezone(config.schedule.zone)
    name = timestamped_name("dry-run", ".csv", stamp)
    return publish(
        config.folders.outbox,
        name,
        lambda handle: write_csv(handle, CSV_HEADER, rows, config.outbox),
    )


def _plan_row(row: Row, window: Window, config: Config, now: datetime) -> list[Cell]:
    cells: list[Cell] = [Text(str(row["sku"])), Text(str(row["brand"] or "")), Text(row["grp"])]
    for name in ALL_FIELDS:
        value = row.get(column(name))
        if value is None:
            cells.append(Text(""))
        elif name == "quantity":
            cells.append(Number(Decimal(int(value))))
        else:
            cells.append(Number(Decimal(int(value)) / 10_000))
    goes = "now" if window.is_ready(row) else local_time(window.goes_at(row), config, now)
    cells += [Text(goes), Text(str(row["reason"])), Text(str(row["source"] or ""))]
    cells.append(Text(str(row["line"] or "")))
    return cells


def would_line(summary: RunSummary, plan: Sending | None) -> str:
    """The run summary of a dry run: every count says what *would* happen."""
    products, calls = (plan.products_now, plan.calls) if plan else (0, 0)
    return (
        f"Dry run, nothing was sent, written or moved: files {summary.files} "
        f"(would fail {summary.files_failed}, duplicates {summary.duplicates}), "
        f"rows {summary.rows}, rejected {summary.rejected} "
        f"(not in catalog {summary.not_in_catalog}), would queue {summary.queued} changes "
        f"(deferred {summary.deferred}), would send {products} products in {calls} call(s), "
        f"would write {summary.orders_written} orders and {summary.cancellations} "
        f"cancellations; read calls {summary.calls}, 429s {summary.rate_limited}, "
        f"{summary.seconds:.1f} s"
    )
