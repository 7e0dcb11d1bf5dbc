"""Sending stock and price changes: due queue rows -> batches of POST /v2/products.

Per run: due changes (``pending.Window``) in batches of products (brand + SKU, never two with
the same SKU in one call: Alephee answers by SKU) -> per-item results -> accepted state and
queue updated in one transaction per batch (``outcomes``). Each batch is marked ``sent_at``
before its POST, so a newer export that goes back to the accepted value re-sends it instead
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
from connector.alephee.models import PlainProductUpdate
from connector.clock import Clock
from connector.config import ScheduleSettings
from connector.products import pending, refusals, sendlog, snapshot
from connector.products.diff import PRICE, STOCK
from connector.products.outcomes import BatchSender, SendReport
from connector.slots import iso, night_end

log = logging.getLogger(__name__)
__all__ = ["SendReport", "product_update", "send_due"]


def send_due(
    conn: sqlite3.Connection,
    client: AlephClient,
    now: datetime,
    *,
    batch_size: int,
    progress: Callable[[int, str], None] | None = None,
    refused_retry_hours: float = 24.0,
    schedule: ScheduleSettings | None = None,
    clock: Clock | None = None,
) -> SendReport:
    """Send every due change; stops (raising) only on a StopError, keeping the rest queued.

    Refused values come back when the settings they were sent with changed, or after
    ``refused_retry_hours``; every refusal is reported (``refusals.publish_pending``).
    ``progress`` hears the products of each recorded batch and the estimate of the time left
    (``sendlog``, timed by ``clock``: the run's live clock)."""
    refusals.retry_if_settings_changed(conn, client.settings, iso(now))  # also from runner
    schedule = schedule or ScheduleSettings()
    clock = clock or (lambda: now)
    report = SendReport()
    sender = BatchSender(
        conn,
        client,
        now,
        report,
        build=product_update,
        retry_after=timedelta(hours=refused_retry_hours),
    )
    window = pending.Window.at(now, schedule)
    ends = night_end(now, schedule) if window.night else None
    send = sendlog.start(
        conn, now, pending.products_due(conn, window), min(batch_size, client.products_cap), ends
    )
    sender.on_record = lambda products: sendlog.advance(conn, send, products, report.calls, clock())
    try:
        if not _send_window(conn, sender, window, now, batch_size, progress, ends, clock):
            # The night slot ended mid-send: what may wait waits for the next night; what is
            # due now (stock) still goes, in this pass.
            day = pending.Window.at(clock(), schedule)
            log.info("the night slot ended: the changes it holds wait for the next night")
            _send_window(conn, sender, day, now, batch_size, progress, None, clock)
    finally:
        sendlog.finish(conn, send, clock())
    return report


def _send_window(
    conn: sqlite3.Connection,
    sender: BatchSender,
    window: pending.Window,
    now: datetime,
    batch_size: int,
    progress: Callable[[int, str], None] | None,
    ends: datetime | None,
    clock: Clock,
) -> bool:
    """Send what ``window`` makes ready; False when the night slot ended (``ends``) first.
    Checked before each batch is marked sent, so no change is marked that was not posted."""
    client = sender.client
    for items in pending.due(conn, window):
        for batch in _batches(_by_product(items), lambda: min(batch_size, client.products_cap)):
            if ends is not None and clock() >= ends:
                return False
            pending.mark_sent(conn, [i for group in batch for i in group], iso(now))  # a commit
            sender.send(batch)
            if progress:
                progress(len(batch), sendlog.estimate(sendlog.latest(conn)))
    return True


def _by_product(items: list[pending.Queued]) -> list[list[pending.Queued]]:
    grouped: dict[snapshot.Key, list[pending.Queued]] = {}
    for item in items:
        grouped.setdefault(item.key, []).append(item)
    return list(grouped.values())


def _batches(
    groups: list[list[pending.Queued]], size: Callable[[], int]
) -> Iterator[list[list[pending.Queued]]]:
    """Batches of ``size()`` products (asked again for each batch: a 413 lowers it), never two
    with the same SKU in one: Alephee reports results by SKU only, so DUP1 of ACME and DUP1 of
    BOSCH go in different calls."""
    waiting = groups
    while waiting:
        batch: list[list[pending.Queued]] = []
        skus: set[str] = set()
        later: list[list[pending.Queued]] = []
        limit = size()
        for group in waiting:
            if len(batch) < limit and group[0].sku not in skus:
                batch.append(group)
                skus.add(group[0].sku)
            else:
                later.append(group)
        yield batch
        waiting = later


def product_update(group: list[pending.Queued]) -> PlainProductUpdate:
    """One POST item for a product: absolute stock (never Movement) and/or its price fields,
    with the brand as the catalog writes it (Alephee matches brand + SKU)."""
    quantity: int | None = None
    prices: dict[str, float] | None = None
    for item in group:
        if item.group == STOCK:
            quantity = item.values["quantity"]
        elif item.group == PRICE:
            prices = {_field(k): v / 10_000 for k, v in item.values.items()}
    return PlainProductUpdate(group[0].sku, group[0].brand or None, quantity, prices)


def _field(col: str) -> str:
    return col.removesuffix("_e4")
