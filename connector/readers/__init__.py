"""Read one ERP export (CSV or XLSX) through its mapping into validated products and rejects.

    read_export(path, mapping) -> Export

No HTTP, no state: the caller diffs ``Export.table`` against the last accepted state and
writes ``Export.rejects`` with ``connector.rejects.write_rejects``. Expected problems with
the whole file raise ``BadInputFile`` (the file goes to failed/); problems with single rows
become rejects and the rest of the file goes on. An empty or header-only file is an Export
with no rows: never "set everything to 0".
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connector.mapping import VALUE_FIELDS, ProductMapping
from connector.readers.columns import sheet_frame
from connector.readers.csv import read_csv
from connector.readers.export import Export, RawSheet, Reject, SourceFormat
from connector.readers.guard import file_kind
from connector.readers.xlsx import read_xlsx
from connector.validate import validate

__all__ = ["Export", "RawSheet", "Reject", "SourceFormat", "read_export"]


def read_export(path: Path, mapping: ProductMapping) -> Export:
    """Read, validate and combine one export file. Raises BadInputFile for unusable files."""
    kind = file_kind(path)
    source, sheets = read_csv(path, mapping) if kind == "csv" else read_xlsx(path, mapping)
    frames = [
        sheet_frame(path, sheet, mapping, order)
        for order, sheet in enumerate(sheets)
        if len(sheet.cells)
    ]
    result = validate(frames, mapping, unit="line" if kind == "csv" else "row")
    export = Export(
        path=path,
        mapping=mapping,
        fields=frozenset(n for n in VALUE_FIELDS if getattr(mapping.columns, n) is not None),
        table=result.table,
        rejects=[],
        rows_read=result.rows_read,
        source=source,
        sheets=tuple(sheets),
        members=result.members,
    )
    export.rejects.extend(_rejects(export, result.rejects))
    return export


def _rejects(export: Export, found: pd.DataFrame) -> list[Reject]:
    ordered = found.sort_values(["line"], kind="stable")
    order = {sheet.name: index for index, sheet in enumerate(export.sheets)}
    rows = sorted(
        zip(ordered["line"], ordered["sheet"], ordered["sku"], ordered["reason"], strict=True),
        key=lambda row: (order.get(str(row[1]), 0), int(row[0])),
    )
    return [
        Reject(
            line=int(line),
            sheet=str(sheet),
            sku=str(sku),
            reason=str(reason),
            original=export.original(int(line), str(sheet)),
        )
        for line, sheet, sku, reason in rows
    ]
