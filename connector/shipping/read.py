"""Read an ERP status export through its order-status mapping: rows, and rejects with reasons.

The file is read by ``connector.readers`` (every CSV and XLSX dialect of the product exports),
then checked row by row here: an empty order reference, a status word the mapping does not
list, a missing tracking number where the mapping requires one, and one order with different
values on several rows (the connector will not guess which one the ERP meant). Resolving the
order and comparing with what Alephee has is the caller's (``connector.shipping.ingest``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from connector.readers import Export, Reject, read_sheets
from connector.readers.columns import sheet_frame
from connector.shipping.mapping import StatusMapping

APOSTROPHE_MARKED = ("'=", "'+", "'-", "'@")  # how our own reports write such cells


@dataclass(frozen=True)
class StatusRow:
    line: int
    sheet: str
    ref: str
    word: str
    code: int
    tracking: str = ""
    tracking_status: str = ""

    @property
    def values(self) -> tuple[int, str, str]:
        return (self.code, self.tracking, self.tracking_status)


@dataclass
class StatusFile:
    export: Export  # the raw sheets and source format, for a rejects report in the same format
    rows: list[StatusRow] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)

    def reject(self, row: StatusRow, reason: str) -> None:
        original = self.export.original(row.line, row.sheet)
        self.rejects.append(Reject(row.line, row.sheet, row.ref, reason, original))


def read_status_file(path: Path, mapping: StatusMapping) -> StatusFile:
    """Raises BadInputFile for a file that cannot be used (the intake moves it to failed/)."""
    source, sheets = read_sheets(path, mapping)
    export = Export(
        path=path,
        mapping=mapping,
        fields=frozenset(),
        table=pd.DataFrame(),
        rejects=[],
        rows_read=sum(len(sheet.cells) for sheet in sheets),
        source=source,
        sheets=tuple(sheets),
    )
    result = StatusFile(export)
    candidates: list[StatusRow] = []
    for order, raw in enumerate(sheets):
        if not len(raw.cells):
            continue
        frame = sheet_frame(path, raw, mapping, order)
        records = [{str(k): v for k, v in r.items()} for r in frame.values.to_dict("records")]
        for position, record in enumerate(records):
            row = _row(record, raw.name, mapping, result, frame.notes.get(position, []))
            if row is not None:
                candidates.append(row)
    result.rows = _without_conflicts(candidates, result)
    return result


def _row(
    record: dict[str, object],
    sheet: str,
    mapping: StatusMapping,
    result: StatusFile,
    notes: list[str],
) -> StatusRow | None:
    text = {name: _clean(record.get(name)) for name in ("order", "status", "tracking")}
    extra = {name: _clean(record.get(name)) for name in ("tracking_status", "carrier")}
    if not any(text.values()) and not any(extra.values()):
        return None  # a spacer or heading row, as in product exports
    code = mapping.code_of(text["status"]) if text["status"] else None
    carrier, state = extra["carrier"], extra["tracking_status"]
    row = StatusRow(
        line=int(str(record["line"])),
        sheet=sheet,
        ref=text["order"],
        word=text["status"],
        code=code or 0,
        tracking=text["tracking"],
        tracking_status=f"{carrier}: {state}" if carrier and state else carrier or state,
    )
    reason = _problem(row, mapping, notes, code)
    if reason:
        result.reject(row, reason)
        return None
    return row


def _problem(row: StatusRow, mapping: StatusMapping, notes: list[str], code: int | None) -> str:
    if notes:
        return "; ".join(notes)
    if not row.ref:
        return f"the order ({mapping.order_reference}) is empty"
    if not row.word:
        return "the status is empty"
    if code is None:
        known = ", ".join(mapping.statuses)
        return f"unknown status {row.word!r}: add it to [statuses] in {mapping.label} ({known})"
    if code in mapping.tracking_required_for and not row.tracking:
        return f"status {row.word} ({code}) needs a tracking number and the tracking is empty"
    return ""


def _without_conflicts(rows: list[StatusRow], result: StatusFile) -> list[StatusRow]:
    """Same order on several rows: identical rows collapse to the first; different values
    reject every row of that order."""
    by_ref: dict[str, list[StatusRow]] = {}
    for row in rows:
        by_ref.setdefault(row.ref, []).append(row)
    kept: list[StatusRow] = []
    for ref, group in by_ref.items():
        if len({row.values for row in group}) == 1:
            kept.append(group[0])
            continue
        lines = ", ".join(str(row.line) for row in group)
        for row in group:
            result.reject(row, f"order {ref} has different status or tracking on lines {lines}")
    return kept


def _clean(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value).strip().strip("\u00a0").strip()
    return text[1:] if text.startswith(APOSTROPHE_MARKED) else text
