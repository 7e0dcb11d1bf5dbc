"""One inbox file through the stock and price pipeline: mapping -> read -> ingest -> report.

This is the intake's processing callback. It raises ``BadInputFile`` for a file that cannot be
used at all (the intake moves it to failed/ with the reason); a bad row only becomes a line in
the rejects report.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from connector.config import Config
from connector.errors import BadInputFile
from connector.products.ingest import IngestReport, ingest
from connector.readers import read_export
from connector.readers.export import Export
from connector.readers.mapping import ProductMapping, match_mapping
from connector.readers.rejects import write_rejects

log = logging.getLogger(__name__)


@dataclass
class FileResult:
    name: str
    report: IngestReport
    rejects_file: Path | None = None
    counts: dict[str, int] = field(default_factory=dict)


def process_file(
    conn: sqlite3.Connection,
    config: Config,
    mappings: list[ProductMapping],
    path: Path,
    *,
    as_of: datetime,
    now: datetime,
    isolate: bool = False,
    report_key: str = "",
    read_ahead: Callable[[Path, ProductMapping], Export | None] | None = None,
) -> FileResult:
    """``isolate``: read the file in a child process (an earlier attempt died with the
    connector); XLSX files always are. ``report_key`` (the file's sha256): one rejects report
    per file content, even when a kill makes the file be processed twice. ``read_ahead``: the
    export read while the file settled, if it is this content's (``connector.readahead``)."""
    mapping = match_mapping(path, mappings)
    if mapping is None:
        raise BadInputFile(
            f"no mapping in {config.folders.mappings} matches the file name {path.name!r}",
            hint="add the name pattern to the 'files' list of a mapping, then drop the file again",
        )
    export: Export | None = None
    if read_ahead is not None and not isolate:
        export = read_ahead(path, mapping)
    if export is None:
        export = read_export(path, mapping, isolate=isolate, memory_mb=config.intake.read_memory_mb)
    report = ingest(conn, export, as_of=as_of, now=now, schedule=config.schedule)
    result = FileResult(name=path.name, report=report)
    if report.rejects:
        result.rejects_file = write_rejects(
            config.folders.outbox,
            export,
            report.rejects,
            now.astimezone(config.schedule.zone),
            key=report_key,
        )
        log.warning(
            "%s: %d rows rejected, see %s", path.name, len(report.rejects), result.rejects_file.name
        )
    result.counts = {
        "rows": report.rows,
        "rejected": report.rejected,
        "not_in_catalog": report.not_in_catalog,
        "queued": sum(report.queued.values()),
        "deferred": report.deferred,
        "stale": report.stale,
        "refused_again": report.refused_again,
        "superseded": report.superseded,
    }
    rows = ("rows", "rejected", "not_in_catalog")
    log.info(
        "%s: %s; changes (a product's stock or its prices): %s",
        path.name,
        ", ".join(f"{k} {v}" for k, v in result.counts.items() if k in rows),
        ", ".join(f"{k} {v}" for k, v in result.counts.items() if k not in rows),
    )
    return result
