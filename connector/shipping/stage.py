"""The shipping stage as the runner and the operator commands use it.

``route``: inbox files that an order-status mapping claims are read as status files, the rest
go on to the products handler. ``send_due``: queued status changes go to Alephee, refusals are
reported once. A dry run runs these same steps, rehearsed (``connector.dryrun``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from connector.alephee.client import AlephClient
from connector.config import Config
from connector.intake import Claim, Handler, Outcome
from connector.readers.mapping import match_mapping
from connector.readers.rejects import write_rejects
from connector.runlog import RunSummary
from connector.shipping import state
from connector.shipping.ingest import StatusReport, ingest_status
from connector.shipping.mapping import StatusMapping, load_status_mappings
from connector.shipping.read import read_status_file
from connector.shipping.refusals import write_status_refusals
from connector.shipping.send import send_statuses

log = logging.getLogger(__name__)


def mappings_for(config: Config) -> list[StatusMapping]:
    if not config.shipping.enabled or not config.folders.mappings.is_dir():
        return []
    return load_status_mappings(config.folders.mappings)


def route(
    products: Handler,
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    now: Callable[[], datetime],
) -> Handler:
    """The intake handler: status files through this stage, any other file to ``products``.
    The mappings are read when the first file comes (an idle pass reads none)."""
    loaded: list[list[StatusMapping]] = []

    def handler(claim: Claim) -> Outcome:
        if not loaded:
            loaded.append(mappings_for(config))
        mapping = match_mapping(claim.path, loaded[0])
        if mapping is None:
            return products(claim)
        report = process_status_file(
            conn, config, client, mapping, claim.path, as_of=claim.as_of, now=now()
        )
        return Outcome("done", "", report.counts())

    return handler


def process_status_file(
    conn: sqlite3.Connection,
    config: Config,
    client: AlephClient | None,
    mapping: StatusMapping,
    path: Path,
    *,
    as_of: datetime,
    now: datetime,
) -> StatusReport:
    status_file = read_status_file(path, mapping)
    report = ingest_status(conn, client, status_file, mapping, as_of=as_of, now=now)
    if status_file.rejects:
        local = now.astimezone(config.schedule.zone)
        rejects = sorted(status_file.rejects, key=lambda r: (r.sheet, r.line))
        written = write_rejects(config.folders.outbox, status_file.export, rejects, local)
        log.warning("%s: %d rows rejected, see %s", path.name, len(rejects), written.name)
    log.info("%s: %s", path.name, ", ".join(f"{k} {v}" for k, v in report.counts().items()))
    return report


def send_due(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    now: datetime,
) -> None:
    """Send the queued status changes."""
    if not config.shipping.enabled:
        return
    waiting = state.queued(conn)
    if not waiting:
        return
    report = send_statuses(conn, client, now, batch_size=config.shipping.batch_size)
    summary.status_sent += report.sent
    summary.status_refused += len(report.refused)
    if report.refused:
        path = write_status_refusals(config, report.refused, now)
        log.warning("Alephee refused %d status updates; see %s", len(report.refused), path.name)
