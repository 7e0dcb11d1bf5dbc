"""``connector reconcile``: download the catalog, report the drift, repair the state and queue.

The products side of ``connector.products.reconcile``, run the way a pass runs: under the
instance lock, with the run's client, and in ``--dry-run`` rehearsed by ``connector.dryrun``
(reads go to Alephee, the report lands in a scratch folder, the state is rolled back).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from connector import clock
from connector.alephee.client import AlephClient
from connector.alephee.profile import open_client
from connector.clock import Clock
from connector.config import Config
from connector.contain import describe
from connector.dryrun.plan import Plan, rehearse
from connector.dryrun.recorder import RecordingClient
from connector.errors import EXIT_INTERNAL, EXIT_OK, StopError
from connector.intake.crashpoints import crashpoint
from connector.products import catalog
from connector.products.reconcile import ReconcileReport, reconcile
from connector.runner import instance_lock, open_state

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    code: int = EXIT_OK
    report: ReconcileReport = field(default_factory=ReconcileReport)
    message: str = ""


def run_reconcile(config: Config, *, dry_run: bool = False, now: Clock = clock.now) -> Outcome:
    """Refresh the catalog (forced), compare, report, repair. Exit codes as ``once``: a
    ``StopError`` (Alephee unreachable 3, locked 4) propagates to the CLI, anything else
    unexpected is 5 with one plain line (the traceback goes to the log file only)."""
    with instance_lock(config):
        conn = open_state(config)
        client = open_client(config, kind=RecordingClient if dry_run else AlephClient)
        try:
            if isinstance(client, RecordingClient):
                with rehearse(conn, Plan(), client):
                    return _guarded(lambda: _reconcile(config, conn, client, now))
            return _guarded(lambda: _reconcile(config, conn, client, now))
        finally:
            client.close()
            conn.close()


def _guarded(work: Callable[[], ReconcileReport]) -> Outcome:
    try:
        return Outcome(report=work())
    except StopError:
        raise
    except Exception as exc:
        line = f"reconcile: unexpected error ({describe(exc)}); see the log"
        log.error("%s", line, exc_info=exc, extra={"console": False})
        return Outcome(code=EXIT_INTERNAL, message=line)


def _reconcile(
    config: Config, conn: sqlite3.Connection, client: AlephClient, now: Clock
) -> ReconcileReport:
    catalog.refresh(conn, client, now())
    crashpoint("reconcile.after_refresh")
    return reconcile(conn, config, now())


def summary_lines(outcome: Outcome, *, dry_run: bool) -> list[str]:
    """What the console says."""
    if outcome.message:
        return [outcome.message]
    report = outcome.report
    would = "would be " if dry_run else ""
    lines = [
        f"Compared {report.products:,} Alephee products with the accepted state and the queue.",
    ]
    if not report.drift:
        lines.append("No drift: Alephee holds what the connector believes.")
        return lines
    lines.append(
        f"Drift: {len(report.drift):,} values of {report.drifted_products:,} products "
        f"(report: {report.path.name if report.path else '-'})."
    )
    lines.append(
        f"The accepted state {would}set to Alephee's values; {report.queued:,} changes "
        f"{would}queued for the next run."
    )
    return lines
