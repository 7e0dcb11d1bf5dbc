"""Stock and price sync: due changes go to Alephee in batches.

``ingest`` (per file, ``connector.products.ingest``) turns an export into queued changes.
``send_due`` (per run): due queue rows -> batches of POST /v2/products -> per-SKU results ->
accepted state and queue updated in one transaction per batch. A crash between the POST and
that commit re-sends the same absolute values next run: harmless, nothing lost.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from connector.alephee.client import AlephClient, ItemResult
from connector.alephee.models import ProductPrice, ProductStock, ProductUpdate
from connector.config import ScheduleSettings
from connector.db import atomic
from connector.errors import RequestRejected
from connector.intake.crashpoints import crashpoint
from connector.products import pending, snapshot
from connector.products.diff import PRICE, STOCK
from connector.slots import iso

log = logging.getLogger(__name__)


# -- sending -----------------------------------------------------------------------------------


@dataclass
class SendReport:
    """Counted in changes (one product's stock, or one product's prices), like the queue."""

    sent: int = 0
    accepted: int = 0
    refused: list[tuple[pending.Queued, str]] = field(default_factory=list)
    retry_later: int = 0
    calls: int = 0


def send_due(
    conn: sqlite3.Connection,
    client: AlephClient,
    now: datetime,
    *,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    schedule: ScheduleSettings | None = None,
) -> SendReport:
    """Send every due change; stops (raising) only on a StopError, keeping the rest queued."""
    report = SendReport()
    window = pending.Window.at(now, schedule or ScheduleSettings())
    for items in pending.due(conn, window):
        pending.mark_sent(conn, items, iso(now))  # one commit per chunk, before any POST
        for batch in _batches(_by_product(items), batch_size):
            _send_batch(conn, client, batch, now, report)
            if progress:
                progress(sum(len(group) for group in batch))
    return report


def _by_product(items: list[pending.Queued]) -> list[list[pending.Queued]]:
    grouped: dict[snapshot.Key, list[pending.Queued]] = {}
    for item in items:
        grouped.setdefault(item.key, []).append(item)
    return list(grouped.values())


def _batches(groups: list[list[pending.Queued]], size: int) -> Iterator[list[list[pending.Queued]]]:
    """Batches of ``size`` products, never two with the same SKU in one: Alephee reports results
    by SKU only, so DUP1 of ACME and DUP1 of BOSCH go in different calls."""
    waiting = groups
    while waiting:
        batch: list[list[pending.Queued]] = []
        skus: set[str] = set()
        later: list[list[pending.Queued]] = []
        for group in waiting:
            if len(batch) < size and group[0].sku not in skus:
                batch.append(group)
                skus.add(group[0].sku)
            else:
                later.append(group)
        yield batch
        waiting = later


def _send_batch(
    conn: sqlite3.Connection,
    client: AlephClient,
    batch: list[list[pending.Queued]],
    now: datetime,
    report: SendReport,
) -> None:
    updates = [product_update(group) for group in batch]
    before = client.stats.calls
    try:
        results = client.post_products(updates)
    except RequestRejected as exc:
        if len(batch) > 1:  # isolate the item Alephee dislikes instead of refusing them all
            half = len(batch) // 2
            _send_batch(conn, client, batch[:half], now, report)
            _send_batch(conn, client, batch[half:], now, report)
            return
        results = {updates[0].sku: ItemResult(False, str(exc))}
    report.calls += client.stats.calls - before
    report.sent += sum(len(group) for group in batch)
    crashpoint("sync.after_post")
    with atomic(conn):
        for group in batch:
            for item in group:
                _record(conn, item, results[item.sku], now, report)
    crashpoint("sync.after_commit")


def _record(
    conn: sqlite3.Connection,
    item: pending.Queued,
    result: ItemResult,
    now: datetime,
    report: SendReport,
) -> None:
    stamp = iso(now)
    if result.transient:
        pending.failed_attempt(conn, item, result.message)
        report.retry_later += 1
        return
    if result.ok:
        snapshot.accept(conn, item.key, item.group, item.values, item.as_of, stamp)
        report.accepted += 1
    else:
        snapshot.refuse(conn, item.key, item.group, item.values, result.message, stamp)
        report.refused.append((item, result.message))
    if pending.matches(conn, item):
        pending.remove(conn, item)


def product_update(group: list[pending.Queued]) -> ProductUpdate:
    """One POST item for a product: absolute stock (never Movement) and/or its price fields,
    with the brand as the catalog writes it (Alephee matches brand + SKU)."""
    stock = price = None
    brand = group[0].brand or None
    for item in group:
        if item.group == STOCK:
            stock = ProductStock(quantity=item.values["quantity"])
        elif item.group == PRICE:
            price = ProductPrice(**{_field(k): v / 10_000 for k, v in item.values.items()})
    return ProductUpdate(sku=group[0].sku, brand=brand, stock=stock, price=price)


def _field(col: str) -> str:
    return col.removesuffix("_e4")
