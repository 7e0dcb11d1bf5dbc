"""Stock and price sync: an export becomes queued changes; due changes go to Alephee in batches.

``ingest`` (per file): catalog filter -> diff against the accepted state -> drop stale and
already-refused values -> enqueue with a due time, in one transaction.
``send_due`` (per run): due queue rows -> batches of POST /v2/products -> per-SKU results ->
accepted state and queue updated in one transaction per batch (``outcomes``). A crash between
the POST and that commit re-sends the same absolute values next run: harmless, nothing lost.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from connector import db
from connector.alephee.client import AlephClient
from connector.alephee.models import ProductPrice, ProductStock, ProductUpdate
from connector.config import ScheduleSettings
from connector.db import atomic
from connector.products import catalog, pending, refusals, snapshot
from connector.products.diff import GROUP_FIELDS, PRICE, STOCK, Changes, column, diff
from connector.products.outcomes import BatchSender, SendReport
from connector.readers import Export, Reject
from connector.slots import due_at, iso

log = logging.getLogger(__name__)
NOT_IN_CATALOG = "not in the Alephee catalog: create the product in Alephee or fix the SKU"


@dataclass
class IngestReport:
    rows: int = 0
    rejected: int = 0
    not_in_catalog: int = 0
    stale: int = 0
    refused_again: int = 0
    already_queued: int = 0
    queued: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    rejects: list[Reject] = field(default_factory=list)
    changes: list[Changes] = field(default_factory=list)


def ingest(
    conn: sqlite3.Connection,
    export: Export,
    *,
    as_of: datetime,
    now: datetime,
    schedule: ScheduleSettings,
) -> IngestReport:
    report = IngestReport(rows=len(export.table) + len(export.rejects))
    report.rejects = list(export.rejects)
    table = _only_catalog(conn, export, report)
    accepted = snapshot.load(conn, export.fields)
    report.changes = diff(table, accepted, export.fields)
    with atomic(conn):
        for changes in report.changes:
            rows = _fresh(conn, changes, iso(as_of), report)
            rows = _due(rows, changes.group, now, schedule, report)
            report.queued[changes.group] = len(rows)
            pending.enqueue(
                conn,
                rows,
                changes.group,
                source=export.path.name,
                as_of=iso(as_of),
                now=iso(now),
            )
    report.rejected = len(report.rejects)
    return report


def _only_catalog(conn: sqlite3.Connection, export: Export, report: IngestReport) -> pd.DataFrame:
    table = export.table
    known = catalog.in_catalog(table, catalog.known(conn)).to_numpy()
    unknown = table[~known]
    if len(export.sheets) > 1:  # summed sheets: report every source row of the product
        for sku, brand, first, first_sheet in zip(
            unknown["sku"],
            unknown["brand"].fillna(""),
            unknown["line"],
            unknown["sheet"].fillna(""),
            strict=True,
        ):
            rows_of = export.source_rows(str(sku), str(brand)) or [(int(first), str(first_sheet))]
            for line, sheet in rows_of:
                report.rejects.append(
                    Reject(
                        line=line,
                        sheet=sheet,
                        sku=str(sku),
                        reason=NOT_IN_CATALOG,
                        original=export.original(line, sheet),
                    )
                )
        unknown = unknown[:0]
    for sheet, rows in unknown.groupby(unknown["sheet"].fillna("").astype(str), sort=False):
        lines = [int(x) for x in rows["line"]]
        originals = export.originals(lines, str(sheet))
        for sku, line, original in zip(rows["sku"], lines, originals, strict=True):
            report.rejects.append(
                Reject(
                    line=line,
                    sheet=str(sheet),
                    sku=str(sku),
                    reason=NOT_IN_CATALOG,
                    original=original,
                )
            )
    report.not_in_catalog = int((~known).sum())
    kept: pd.DataFrame = table[known]
    return kept


def _fresh(
    conn: sqlite3.Connection,
    changes: Changes,
    as_of: str,
    report: IngestReport,
) -> pd.DataFrame:
    """Drop values from an export older than what is accepted or queued, and refused values."""
    rows, group = changes.table, changes.group
    newer = snapshot.skus_newer_than(conn, group, as_of)
    newer |= {
        r[0]
        for r in conn.execute("SELECT sku FROM queue WHERE grp = ? AND as_of > ?", (group, as_of))
    }
    stale = rows["sku"].isin(newer)
    report.stale += int(stale.sum())
    rows = rows[~stale.to_numpy()]
    rows = _not_already_queued(conn, rows, group, report)
    refused = snapshot.refused(conn, group)
    if refused:
        suspects = rows[rows["sku"].isin(refused.keys()).to_numpy()].to_dict("records")
        same = {
            str(rec["sku"])
            for rec in suspects
            if snapshot.signature({str(k): v for k, v in rec.items()}, group) == refused[rec["sku"]]
        }
        report.refused_again += len(same)
        rows = rows[~rows["sku"].isin(same).to_numpy()]
    return rows


def _not_already_queued(
    conn: sqlite3.Connection, rows: pd.DataFrame, group: str, report: IngestReport
) -> pd.DataFrame:
    """Drop changes whose exact values are already waiting in the queue (e.g. a price deferred
    to the night, exported again during the day): nothing new to send."""
    cols = [column(f) for f in GROUP_FIELDS[group] if column(f) in rows.columns]
    queued = db.frame(conn, f"SELECT sku, {', '.join(cols)} FROM queue WHERE grp = ?", (group,))
    if queued.empty or rows.empty:
        return rows
    merged = rows[["sku", *cols]].merge(
        queued.astype({c: "Int64" for c in cols}),
        on="sku",
        how="left",
        suffixes=("", "_q"),
        indicator=True,
    )
    same = (merged["_merge"] == "both").to_numpy().copy()
    for col in cols:
        new, old = merged[col].astype("Int64"), merged[f"{col}_q"]
        same &= ((new == old).fillna(False) | (new.isna() & old.isna())).to_numpy(dtype=bool)
    report.already_queued += int(same.sum())
    kept: pd.DataFrame = rows[~same]
    return kept


def _due(
    rows: pd.DataFrame, group: str, now: datetime, schedule: ScheduleSettings, report: IngestReport
) -> pd.DataFrame:
    rows = rows.copy()
    if rows.empty:
        rows["due_at"], rows["reason"] = pd.Series(dtype=str), pd.Series(dtype=str)
        return rows
    later = due_at(group, to_zero=False, moment=now, schedule=schedule)
    at_once = due_at(group, to_zero=True, moment=now, schedule=schedule)
    to_zero = rows["quantity"].eq(0).fillna(False) if group == STOCK else None
    if to_zero is not None:
        rows["due_at"] = [at_once if z else later for z in to_zero]
        rows["reason"] = ["stock to 0" if z else "stock change" for z in to_zero]
    else:
        rows["due_at"] = later
        rows["reason"] = "price change"
    report.deferred += int((rows["due_at"] > iso(now)).sum())
    return rows


# -- sending (result handling lives in connector.products.outcomes) ----------------------------


def send_due(
    conn: sqlite3.Connection,
    client: AlephClient,
    now: datetime,
    *,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
    refused_retry_hours: float = 24.0,
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
    for items in pending.due(conn, iso(now)):
        for batch in _batches(_by_sku(items), batch_size):
            sender.send(batch)
            if progress:
                progress(sum(len(group) for group in batch))
    return report


def _by_sku(items: list[pending.Queued]) -> list[list[pending.Queued]]:
    grouped: dict[str, list[pending.Queued]] = {}
    for item in items:
        grouped.setdefault(item.sku, []).append(item)
    return list(grouped.values())


def _batches(groups: list[list[pending.Queued]], size: int) -> Iterator[list[list[pending.Queued]]]:
    for start in range(0, len(groups), size):
        yield groups[start : start + size]


def product_update(group: list[pending.Queued]) -> ProductUpdate:
    """One POST item for a SKU: absolute stock (never Movement) and/or its price fields."""
    stock = price = None
    brand = next((item.brand for item in group if item.brand), None)
    for item in group:
        if item.group == STOCK:
            stock = ProductStock(quantity=item.values["quantity"])
        elif item.group == PRICE:
            price = ProductPrice(**{_field(k): v / 10_000 for k, v in item.values.items()})
    return ProductUpdate(sku=group[0].sku, brand=brand, stock=stock, price=price)


def _field(col: str) -> str:
    return col.removesuffix("_e4")
