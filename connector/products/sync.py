"""Sending stock and price changes: due queue rows -> batches of POST /v2/products.

Per run: due changes (``pending.Window``) in batches of products (brand + SKU, never two with
the same SKU in one call: Alephee answers by SKU) -> per-item results -> accepted state and
queue updated in one transaction per batch (``outcomes``). Each chunk is marked ``sent_at``
before any POST, so a newer export that goes back to the accepted value re-sends it instead
of dropping a value Alephee may already hold. A crash between the POST and the commit re-sends
the same absolute values next run: harmless, nothing lost. ``ingest`` (an export into the
queue) is ``connector.products.ingest``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from connector.alephee.client import AlephClient
from connector.alephee.models import ProductPrice, ProductStock, ProductUpdate
from connector.config import ScheduleSettings
from connector.products import pending, refusals, snapshot
from connector.products.diff import PRICE, STOCK
from connector.products.outcomes import BatchSender, SendReport
from connector.slots import iso

log = logging.getLogger(__name__)
__all__ = ["SendReport", "product_update", "send_due"]


def send_due(
    conn: sqlite3.Connection,
    client: AlephClient,
    now: datetime,
    *,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    refused_retry_hours: float = 24.0,
    schedule: ScheduleSettings | None = None,
) -> SendReport:
    """Send every due change; stops (raising) only on a StopError, keeping the rest queued.

    Refused values come back when the settings they were sent with changed, or after
    ``refused_retry_hours``; every refusal is reported (``refusals.publish_pending``)."""
    refusals.retry_if_settings_changed(conn, client.settings, iso(now))  # also from runner
    report = SendReport()
    sender = BatchSender(
        conn,
        client,
        now,
        report,
        build=product_update,
        retry_after=timedelta(hours=refused_retry_hours),
    )
    window = pending.Window.at(now, schedule or ScheduleSettings())
    for items in pending.due(conn, window):
        pending.mark_sent(conn, items, iso(now))  # one commit per chunk, before any POST
        for batch in _batches(_by_product(items), batch_size):
            sender.send(batch)
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
