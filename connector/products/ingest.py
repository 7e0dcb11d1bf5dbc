"""One read export becomes the queue's intent, in one transaction.

Catalog match (brand + SKU, as Alephee matches) -> for each group the file carries (stock,
price): drop values older than what is accepted or queued (stale) -> the intent, the export's
values over what is already queued for that product -> diff against the accepted state, then:

- equal to the accepted value: nothing to send, and a queued change is superseded: removed;
- the very values Alephee refused before: not queued again (a queued change is removed too);
- equal to what is queued: nothing to do (a deferred price exported again keeps its slot);
- otherwise queued, with its due time and slot (``connector.slots``).

So the queue always holds the latest export's intent, and nothing superseded is ever sent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connector.config import ScheduleSettings
from connector.db import atomic
from connector.products import layout, pending, snapshot
from connector.products.diff import GROUP_FIELDS, KEY, PRICE, STOCK, Changes, column, compare
from connector.readers import Export, Reject, collector_paused
from connector.slots import due_at, iso

NOT_IN_CATALOG = "not in the Alephee catalog: create the product in Alephee or fix the SKU"
AMBIGUOUS = (
    "this code exists under several brands in the Alephee catalog: map the brand column "
    "(docs/mapping-products.md)"
)
SAME_PRODUCT = (
    "the same product (brand + SKU) is on another line with the brand written differently: "
    "keep one line per product"
)


@dataclass
class IngestReport:
    rows: int = 0
    rejected: int = 0
    not_in_catalog: int = 0
    stale: int = 0
    refused_again: int = 0
    already_queued: int = 0
    superseded: int = 0  # queued changes removed: the export went back to the accepted value
    queued: dict[str, int] = field(default_factory=dict)
    deferred: int = 0
    rejects: list[Reject] = field(default_factory=list)
    changes: list[Changes] = field(default_factory=list)


# Thousands of rows become SQL parameters: a full collection in the middle scanned every
# object for nothing (measured: 0.08 s of 0.75 s on a 1M-row file).
@collector_paused()
def ingest(
    conn: sqlite3.Connection,
    export: Export,
    *,
    as_of: datetime,
    now: datetime,
    schedule: ScheduleSettings,
    dry_run: bool = False,
) -> IngestReport:
    report = IngestReport(rows=len(export.table) + len(export.rejects))
    report.rejects = list(export.rejects)
    # The match and accepted state of every row: kept in columns between files (layout)
    aligned = layout.align(
        conn, export.mapping.name, export.table.reset_index(drop=True), keep=not dry_run
    )
    table = _only_catalog(export, aligned, report)
    groups = [g for g, fields in GROUP_FIELDS.items() if set(fields) & export.fields]
    queued = {g: pending.queued(conn, g, [column(f) for f in GROUP_FIELDS[g]]) for g in groups}
    compared = {g: _compared(export.fields, g, queued[g]) for g in groups}
    with atomic(conn):
        for group in groups:
            carried = [column(f) for f in GROUP_FIELDS[group] if f in export.fields]
            changes, gone = _intent(
                conn,
                table,
                aligned.accepted,
                queued[group],
                compared[group],
                carried,
                iso(as_of),
                report,
            )
            rows = _due(changes.table, group, now, schedule, report)
            report.changes.append(changes)
            report.queued[group] = len(rows)
            if not dry_run:
                report.superseded += pending.drop(conn, gone, group)
                pending.enqueue(
                    conn, rows, group, source=export.path.name, as_of=iso(as_of), now=iso(now)
                )
        if dry_run:
            conn.execute("SELECT 1")  # nothing written; the transaction ends empty
    report.rejected = len(report.rejects)
    return report


def _compared(carried: frozenset[str], group: str, queued: pd.DataFrame) -> list[str]:
    """The fields of ``group`` the intent can hold: those the file carries, and those another
    file's queued change holds."""
    return [f for f in GROUP_FIELDS[group] if f in carried or queued[column(f)].notna().any()]


def _intent(
    conn: sqlite3.Connection,
    table: pd.DataFrame,
    accepted: pd.DataFrame,
    queued: pd.DataFrame,
    fields: list[str],
    carried: list[str],
    as_of: str,
    report: IngestReport,
) -> tuple[Changes, list[snapshot.Key]]:
    """The changes to queue for one group, and the queued changes this export supersedes.
    ``accepted``: the accepted state of each row of the export, by position."""
    group = STOCK if set(fields) <= set(GROUP_FIELDS[STOCK]) else PRICE
    group_cols = [column(f) for f in GROUP_FIELDS[group]]
    rows = _fresh(table[[*KEY, "line", "sheet", *carried]], accepted, queued, group, as_of, report)
    # Only rows whose code is queued can meet the queue: joins on those alone (a million-row
    # export against a small queue stays fast).
    near = _codes_in(rows, queued)
    intent = _with_queued_fields(rows, near, queued, [c for c in group_cols if c not in carried])
    every = _every_row(intent.index, len(accepted))
    old = accepted if every else accepted.iloc[intent.index.to_numpy()]  # every row: no copy
    changes = compare(group, intent, old, [f for f in GROUP_FIELDS[group] if f in fields])
    kept = changes.table
    gone: list[snapshot.Key] = []
    if near.any():
        kept, gone = _against_queue(intent[near], kept, queued, group_cols, report)
    again = _refused_again(conn, kept, queued, group)
    if again.any():
        report.refused_again += int(again.sum())
        gone += list(zip(kept["sku"][again], kept["brand"][again], strict=True))
        kept = kept[~again]
    kept = kept.reset_index(drop=True)
    return Changes(group=group, table=kept, unchanged=changes.unchanged), gone


def _codes_in(rows: pd.DataFrame, queued: pd.DataFrame) -> np.ndarray:
    if queued.empty or rows.empty:
        return np.zeros(len(rows), dtype=bool)
    codes = pa.array(queued["sku"].astype(str), type=pa.string())
    found = pc.is_in(pa.array(rows["sku"].astype(str), type=pa.string()), value_set=codes)
    return np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)


def _with_queued_fields(
    rows: pd.DataFrame, near: np.ndarray, queued: pd.DataFrame, others: list[str]
) -> pd.DataFrame:
    """The intent: the export's values; fields this file does not carry keep the value already
    queued (another file's)."""
    intent = rows.copy(deep=False)  # columns added or set are copied on write, not the rest
    for col in others:  # all missing: zeros the system hands out only when written
        never = pd.arrays.IntegerArray(np.zeros(len(rows), np.int64), np.ones(len(rows), bool))
        intent[col] = pd.Series(never, index=rows.index, copy=False)
    if others and near.any():
        part = rows[near].merge(queued[[*KEY, *others]], on=KEY, how="left", sort=False)
        for col in others:
            intent.loc[near, col] = part[col].astype("Int64").to_numpy()
    return intent


def _against_queue(
    intent: pd.DataFrame,
    changed: pd.DataFrame,
    queued: pd.DataFrame,
    cols: list[str],
    report: IngestReport,
) -> tuple[pd.DataFrame, list[snapshot.Key]]:
    """What to queue, and which queued changes to remove, given what is already queued.

    Back to the accepted value: the queued change is superseded and removed, unless it may
    already have reached Alephee (``sent_at``, a crash or an unclear answer): then Alephee may
    hold it, so the accepted value is queued instead (it is the latest intent too)."""
    marks = queued[KEY].assign(_queued=True, _maybe_sent=queued["sent_at"].notna().to_numpy())
    found = intent[KEY].merge(marks, on=KEY, how="left", sort=False)
    changed_keys = changed[KEY].assign(_changed=True)
    is_changed = intent[KEY].merge(changed_keys, on=KEY, how="left", sort=False)["_changed"]
    back = (found["_queued"].notna() & is_changed.isna()).to_numpy(dtype=bool)
    maybe_sent = found["_maybe_sent"].fillna(False).to_numpy(dtype=bool)
    superseded = intent[back & ~maybe_sent]
    gone = list(zip(superseded["sku"], superseded["brand"], strict=True))
    resend = intent[back & maybe_sent]
    rows = pd.concat([changed, resend], ignore_index=True) if len(resend) else changed
    same = _same_as_queued(rows, queued, cols)
    report.already_queued += int(same.sum())
    kept: pd.DataFrame = rows[~same]
    return kept, gone


def _fresh(
    rows: pd.DataFrame,
    accepted: pd.DataFrame,
    queued: pd.DataFrame,
    group: str,
    as_of: str,
    report: IngestReport,
) -> pd.DataFrame:
    """Drop values from an export older than what is accepted or queued for the product."""
    as_ofs = accepted[f"{group}_as_of"]
    if not _every_row(rows.index, len(accepted)):
        as_ofs = as_ofs.iloc[rows.index.to_numpy()]
    stale = layout.later_than(as_ofs, as_of)
    late = queued[queued["as_of"] > as_of]
    if len(late):
        newer = set(zip(late["sku"], late["brand"], strict=True))
        stale |= pd.MultiIndex.from_frame(rows[KEY]).isin(list(newer))
    if not stale.any():
        return rows
    report.stale += int(stale.sum())
    kept: pd.DataFrame = rows[~stale]
    return kept


def _every_row(index: pd.Index, size: int) -> bool:
    """Whether ``index`` is 0..size-1 in order (usually a RangeIndex: no array built)."""
    if isinstance(index, pd.RangeIndex):
        return index.equals(pd.RangeIndex(size))
    return len(index) == size and bool((index.to_numpy() == np.arange(size)).all())


def _same_as_queued(rows: pd.DataFrame, queued: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Rows whose every value of the group is already the queued one."""
    if rows.empty or queued.empty:
        return pd.Series(False, index=rows.index, dtype=bool)
    merged = rows[KEY].merge(
        queued[[*KEY, *cols]].rename(columns={c: f"{c}_q" for c in cols}),
        on=KEY,
        how="left",
        indicator=True,
        sort=False,
    )
    same = (merged["_merge"] == "both").to_numpy().copy()
    for col in cols:
        new_values = rows[col] if col in rows else pd.Series(pd.NA, index=rows.index)
        new, old = new_values.astype("Int64").to_numpy(), merged[f"{col}_q"].astype("Int64")
        equal = (pd.Series(new) == old.reset_index(drop=True)).fillna(False)
        both_na = pd.Series(pd.isna(new)) & old.isna().reset_index(drop=True)
        same &= (equal | both_na).to_numpy(dtype=bool)
    return pd.Series(same, index=rows.index, dtype=bool)


def _refused_again(
    conn: sqlite3.Connection, rows: pd.DataFrame, queued: pd.DataFrame, group: str
) -> pd.Series:
    """Rows whose values are the very ones Alephee refused for that product (unless a value of
    that product may be in Alephee unanswered: then the intent is sent again)."""
    refused = snapshot.refused(conn, group)
    flags = pd.Series(False, index=rows.index, dtype=bool)
    if not refused or rows.empty:
        return flags
    maybe_sent = queued[queued["sent_at"].notna()]
    for key in zip(maybe_sent["sku"], maybe_sent["brand"], strict=True):
        refused.pop(key, None)
    suspects = rows[pd.MultiIndex.from_frame(rows[KEY]).isin(list(refused))]
    for index, record in zip(suspects.index, suspects.to_dict("records"), strict=True):
        values = {str(k): v for k, v in record.items()}
        key = (str(record["sku"]), str(record["brand"]))
        flags[index] = snapshot.signature(values, group) == refused[key]
    return flags


def _due(
    rows: pd.DataFrame, group: str, now: datetime, schedule: ScheduleSettings, report: IngestReport
) -> pd.DataFrame:
    rows = rows.copy()
    if rows.empty:
        for name in ("due_at", "slot", "reason"):
            rows[name] = pd.Series(dtype=str)
        return rows
    later = due_at(group, to_zero=False, moment=now, schedule=schedule)
    at_once = due_at(group, to_zero=True, moment=now, schedule=schedule)
    if group == STOCK:
        to_zero = rows["quantity"].eq(0).fillna(False).to_numpy(dtype=bool)
        rows["due_at"] = [at_once if z else later for z in to_zero]
        rows["reason"] = ["stock to 0" if z else "stock change" for z in to_zero]
    else:
        rows["due_at"] = later
        rows["reason"] = "price change"
    moment = iso(now)  # once: formatting it for each row cost more than the rest of _due
    rows["slot"] = ["night" if due > moment else "now" for due in rows["due_at"]]
    report.deferred += int((rows["due_at"] > moment).sum())
    return rows


# -- which rows name a catalog product ----------------------------------------------------------


def _only_catalog(export: Export, aligned: layout.Aligned, report: IngestReport) -> pd.DataFrame:
    """Rows naming exactly one catalog product, each with the brand as the catalog writes it
    (so "acme", "ACME" and the brand's id are one product). The others become rejects. The
    rows keep their positions in the export (the index), which ``aligned`` follows."""
    table = export.table.reset_index(drop=True)
    found = aligned.match
    _reject(export, table[found.unknown], NOT_IN_CATALOG, report)
    _reject(export, table[found.ambiguous], AMBIGUOUS, report)
    _reject(export, table[aligned.twice], SAME_PRODUCT, report)
    report.not_in_catalog = int(found.unknown.sum())
    keep = ~(found.unknown | found.ambiguous | aligned.twice)
    if keep.all():  # the usual case: no copy of a million rows
        return table.assign(brand=found.brand.astype(str))
    kept: pd.DataFrame = table[keep].assign(brand=found.brand[keep].astype(str))
    return kept


def _reject(export: Export, rows: pd.DataFrame, reason: str, report: IngestReport) -> None:
    if rows.empty:
        return
    if len(export.sheets) > 1:  # summed sheets: report every source row of the product
        for sku, brand, first, first_sheet in zip(
            rows["sku"],
            rows["brand"].fillna(""),
            rows["line"],
            rows["sheet"].fillna(""),
            strict=True,
        ):
            rows_of = export.source_rows(str(sku), str(brand)) or [(int(first), str(first_sheet))]
            for line, sheet in rows_of:
                original = export.original(line, sheet)
                report.rejects.append(Reject(line, sheet, str(sku), reason, original))
        return
    for sheet, part in rows.groupby(rows["sheet"].fillna("").astype(str), sort=False):
        lines = [int(x) for x in part["line"]]
        originals = export.originals(lines, str(sheet))
        for sku, line, original in zip(part["sku"], lines, originals, strict=True):
            report.rejects.append(Reject(line, str(sheet), str(sku), reason, original))
