"""Rows of an ERP report that are not products: totals, end-of-list lines, group headings.

Real exports end with ``TOTAL;;;12.345;`` or ``Fin del listado`` and put ``Rubro: Tornillería``
between groups. Left alone such a row is rejected in every run (exit 1 every 15 minutes), so
the mapping can say to skip them (``skip_rows_matching``, ``footer_rows``), and ``connector
check`` suggests it when the last rows of a file are rejected (``trailing_rejects``).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pandas as pd

from connector.readers.export import Export, Reject
from connector.readers.mapping import FileMapping

Mask = npt.NDArray[np.bool_]
SUGGEST_UP_TO = 5  # more trailing rejects than this is a broken file, not a footer


def skipped_rows(values: pd.DataFrame, mapping: FileMapping) -> Mask | None:
    """Which rows of a sheet's mapped values (text columns, plus ``line``) to skip."""
    if not mapping.skip_rows_matching and not mapping.footer_rows:
        return None
    mapped = [values[column].str.strip() for column in values.columns if column != "line"]
    skip = np.zeros(len(values), dtype=bool)
    if mapping.skip_rows_matching:
        pattern = re.compile("|".join(f"(?:{p})" for p in mapping.skip_rows_matching))
        for text in mapped:
            skip |= text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    if mapping.footer_rows:
        filled = np.zeros(len(values), dtype=bool)
        for text in mapped:
            filled |= (text != "").to_numpy(dtype=bool)
        skip[np.flatnonzero(filled)[-mapping.footer_rows :]] = True
    return skip


def trailing_rejects(export: Export) -> list[Reject]:
    """The rejected rows after the last accepted row of their sheet (a footer, likely)."""
    found: list[Reject] = []
    for raw in export.sheets:
        mine = [r for r in export.rejects if r.sheet == raw.name]
        accepted = export.members.loc[export.members["sheet"] == raw.name, "line"]
        last_good = int(accepted.max()) if len(accepted) else -1
        found.extend(r for r in mine if r.line > last_good)
    return found


def footer_hint(export: Export) -> str:
    """A suggestion for the mapping when the last rows of the file are rejected; "" if none."""
    trailing = trailing_rejects(export)
    if not trailing or len(trailing) > SUGGEST_UP_TO:
        return ""
    first = trailing[0]
    shown = next((value for value in first.original.values() if value.strip()), first.sku)
    count = len(trailing)
    rows = "row is" if count == 1 else f"{count} rows are"
    literal = re.escape(shown.strip()[:20]).replace("'", "")
    return (
        f"the last {rows} rejected (the first: {shown.strip()[:40]!r}); if they are totals or "
        f"an end-of-list line, add footer_rows = {count} (or skip_rows_matching = "
        f"['{literal}.*']) to the mapping {export.mapping.source.name} "
        "(docs/mapping-products.md)"
    )
