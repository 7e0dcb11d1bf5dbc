"""Read one ERP export (CSV or XLSX) through its mapping into validated products and rejects.

    read_export(path, mapping) -> Export

No HTTP, no state: the caller diffs ``Export.table`` against the last accepted state and
writes ``Export.rejects`` with ``connector.readers.rejects.write_rejects``. Expected problems with
the whole file raise ``BadInputFile`` (the file goes to failed/); problems with single rows
become rejects and the rest of the file goes on. An empty or header-only file is an Export
with no rows: never "set everything to 0".

Owns the product mapping (``mapping``) and the Alephee rules for a row (``validate``).
May import: the shared ground only.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from itertools import repeat
from pathlib import Path
from typing import Any

import pandas as pd

from connector.readers.columns import sheet_frame
from connector.readers.csv import read_csv
from connector.readers.export import Export, RawSheet, Reject, SourceFormat
from connector.readers.guard import file_kind
from connector.readers.heap import give_back
from connector.readers.isolate import DEFAULT_MEMORY_MB, can_fork, run_isolated
from connector.readers.isolate_pair import run_checked
from connector.readers.mapping import VALUE_FIELDS, FileMapping, ProductMapping
from connector.readers.validate import validate

__all__ = [
    "Export",
    "RawSheet",
    "Reject",
    "SourceFormat",
    "collector_paused",
    "give_back",
    "read_export",
    "read_sheets",
]


def read_sheets(
    path: Path, mapping: FileMapping, *, memory_mb: int = DEFAULT_MEMORY_MB
) -> tuple[SourceFormat, list[RawSheet]]:
    """The raw sheets of a CSV or XLSX file as its mapping's dialect says (any mapping kind).
    An XLSX is read in a child process, as in ``read_export``."""
    if file_kind(path) == "xlsx":
        _preload_xlsx()
        return run_isolated(path.name, _sheets_here, path, mapping, memory_mb=memory_mb)
    return _sheets_here(path, mapping)


def _preload_xlsx() -> None:
    """Import the XLSX reader here, once, rather than in every child: a forked child has it."""
    if can_fork():
        import connector.readers.xlsx  # noqa: F401


def _sheets_here(
    path: Path,
    mapping: FileMapping,
    scanned: Callable[[], Any] | None = None,
    *,
    mapped_only: bool = False,
) -> tuple[SourceFormat, list[RawSheet]]:
    if file_kind(path) == "csv":
        return read_csv(path, mapping, mapped_only=mapped_only)
    from connector.readers.xlsx import read_xlsx  # calamine and the XML scan: XLSX only

    return read_xlsx(path, mapping, scanned)


def read_export(
    path: Path,
    mapping: ProductMapping,
    *,
    isolate: bool = False,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> Export:
    """Read, validate and combine one export file. Raises BadInputFile for unusable files.

    An XLSX is always read in a child process (``connector.readers.isolate``: the native
    parser can abort the process), beside a second one that scans it when the child is a
    fork (``isolate_pair``); a CSV too when ``isolate`` (an earlier read of this file died
    with the process)."""
    xlsx = file_kind(path) == "xlsx"
    if xlsx:
        _preload_xlsx()
    if xlsx and can_fork() and _cores() > 1:
        export = _read_checked(path, mapping, memory_mb)
        if export is not None:
            return export
    if isolate or xlsx:
        return run_isolated(path.name, _read_in_child, path, mapping, memory_mb=memory_mb)
    return read_in_process(path, mapping)


def _cores() -> int:
    """The cores this process may run on (a container's share, not the host's count)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _read_checked(path: Path, mapping: ProductMapping, memory_mb: int) -> Export | None:
    """The XML scan and calamine's parse at once, in two children (``isolate_pair``; with one
    core this only adds a process); None when the scan says calamine must not read this file
    (``read_export`` then reads it the careful way, scan first)."""
    from connector.readers.xlsx import calamine_may_read, scan_file

    export: Export | None = run_checked(
        path.name,
        scan_file,
        (path,),
        _read_in_child,
        (path, mapping),
        calamine_may_read,
        memory_mb=memory_mb,
    )
    return export


def read_in_process(
    path: Path, mapping: ProductMapping, scanned: Callable[[], Any] | None = None
) -> Export:
    """``read_export`` in this process; ``scanned``: see ``read_xlsx``."""
    export = _read_in_child(path, mapping, scanned)
    give_back()  # the read's temporaries: before the next step adds its own
    return export


def _read_in_child(
    path: Path, mapping: ProductMapping, scanned: Callable[[], Any] | None = None
) -> Export:
    """``read_in_process`` as a child process runs it: without giving memory back, as the
    child ends right after its answer."""
    source, sheets = _sheets_here(path, mapping, scanned, mapped_only=True)
    kind = source.kind
    frames = [
        sheet_frame(path, sheet, mapping, order)
        for order, sheet in enumerate(sheets)
        if len(sheet.cells)
    ]
    result = validate(frames, mapping, unit="line" if kind == "csv" else "row")
    del frames
    sheets = [_slim(sheet) for sheet in sheets]
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


def _slim(sheet: RawSheet) -> RawSheet:
    """A sheet read for its mapped columns keeps none of them once validated: its rows come
    whole from ``RawSheet.whole``, and the text of its numbers is not needed any more (on a
    1M-row file, about 45 MB less for the rest of the file's way)."""
    if sheet.whole is None:
        return sheet
    return replace(sheet, cells=pd.DataFrame(index=sheet.cells.index))


def _rejects(export: Export, found: pd.DataFrame) -> list[Reject]:
    """Reject objects in sheet order, then line order, each with its raw row."""
    rejects: list[Reject] = []
    if found.empty:
        return rejects
    with collector_paused():
        for raw in export.sheets:
            mine = found[found["sheet"] == raw.name].sort_values("line", kind="stable")
            lines = mine["line"].astype("int64").tolist()
            originals = export.originals(lines, raw.name)
            # Plain lists: iterating Arrow-backed columns costs microseconds per value.
            skus, reasons = mine["sku"].tolist(), mine["reason"].tolist()
            rejects.extend(map(Reject, lines, repeat(raw.name), skus, reasons, originals))
    return rejects


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a broken file's million rejects are built (or a
    file's changes queued): they hold no cycles, yet each few hundred new objects would make
    the collector scan all the others (measured: a third of the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
