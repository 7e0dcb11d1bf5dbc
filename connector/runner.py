"""One pass (``once``) and the long-running watcher (``run``), built from the library parts.

A pass: lock -> recover interrupted work -> ready inbox files -> (catalog when needed) ->
each file through the pipeline -> send due changes -> order cycles that are due -> summary.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from filelock import FileLock, Timeout

from connector import db, runlog
from connector.alephee.client import AlephClient
from connector.config import Config
from connector.dryrun.preview import Plan, preview
from connector.errors import InstanceRunning, StopError
from connector.intake import Candidate, Claim, Intake, Outcome, Watcher
from connector.orders import ledger as orders_ledger
from connector.orders.cycles import run_due_cycles
from connector.products import catalog, pending
from connector.products import state as products_state
from connector.products.files import process_file
from connector.products.sync import send_due
from connector.progress import Progress
from connector.readers.mapping import ProductMapping, load_mappings
from connector.runlog import RunSummary
from connector.slots import iso

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Options:
    dry_run: bool = False
    refresh_catalog: bool = False
    orders: bool = True
    force_cycles: bool = False
    sleep: Callable[[float], None] = time.sleep
    now: Clock = utcnow
    progress: bool = True
    plan: Plan = field(default_factory=Plan)  # what a dry run found (connector.dryrun.preview)


@contextmanager
def instance_lock(config: Config) -> Iterator[None]:
    """One connector per state folder. The OS releases the lock when its holder dies."""
    config.folders.state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.folders.state / "connector.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InstanceRunning(
            f"another connector is already running on {config.folders.state}; "
            "wait for it to finish (a scheduled task should use 'do not start a new instance')"
        ) from None
    try:
        yield
    finally:
        lock.release()


def open_state(config: Config) -> sqlite3.Connection:
    conn = db.connect(config.db_path)
    for module in (products_state, orders_ledger, runlog):
        module.init(conn)
    return conn


def once(config: Config, options: Options | None = None) -> tuple[int, RunSummary]:
    options = options or Options()
    with instance_lock(config):
        conn = open_state(config)
        client = AlephClient(config.alephee, config.retry, sleep=options.sleep)
        try:
            intake = Intake(config, conn, sleep=options.sleep)
            return _pass_with_summary(config, conn, client, intake, options, mode="once")
        finally:
            client.close()
            conn.close()


def _pass_with_summary(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    intake: Intake,
    options: Options,
    mode: str,
) -> tuple[int, RunSummary]:
    started, t0 = options.now(), time.monotonic()
    summary = RunSummary()
    client.new_run()
    calls_before, limited_before = client.stats.calls, client.stats.by_status.get(429, 0)
    code, message = 0, ""
    try:
        one_pass(config, conn, client, intake, summary, options, wait=mode == "once")
        code = summary.exit_code()
    except StopError as exc:
        code, message = exc.exit_code, str(exc)
        summary.notes.append(message)
        log.error("%s", message)
    finally:
        summary.calls = client.stats.calls - calls_before
        summary.rate_limited = client.stats.by_status.get(429, 0) - limited_before
        summary.seconds = time.monotonic() - t0
        if summary.calls:
            _remember_health(conn, client, code)
    worth_recording = mode == "once" or code != 0 or summary.calls or summary.files
    if not options.dry_run and worth_recording:
        runlog.record(conn, mode, iso(started), iso(options.now()), code, summary, message)
    return code, summary


def _remember_health(conn: sqlite3.Connection, client: AlephClient, code: int) -> None:
    values: dict[str, object] = {"rate_limits": client.pacer.snapshot(), "last_exit": code}
    if client.stats.last_success:
        values["last_contact"] = iso(client.stats.last_success)
    runlog.set_health(conn, values)


def one_pass(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    intake: Intake,
    summary: RunSummary,
    options: Options,
    *,
    wait: bool,
) -> None:
    if not options.dry_run:
        intake.recover()
    ready = intake.ready(wait=wait)
    now = options.now()
    if ready or options.refresh_catalog:
        catalog.ensure_fresh(
            conn, client, now, config.schedule.catalog_refresh_hours, force=options.refresh_catalog
        )
    mappings = load_mappings(config.folders.mappings) if ready else []

    def handler(claim: Claim) -> Outcome:
        result = process_file(
            conn, config, mappings, claim.path, as_of=claim.as_of, now=options.now()
        )
        return Outcome(status="done", detail="", counts=result.counts)

    with Progress(len(ready), "files", enabled=options.progress) as bar:
        for candidate in ready:
            if options.dry_run:
                outcome = preview_file(config, conn, mappings, candidate, options)
            else:
                outcome = intake.process(candidate, handler)
            _count_file(summary, outcome)
            bar.advance()
    if not options.dry_run:
        _send(config, conn, client, summary, options)
    if options.orders and config.orders.enabled:
        run_due_cycles(
            config,
            conn,
            client,
            summary,
            now=options.now(),
            force=options.force_cycles,
            dry_run=options.dry_run,
        )


def preview_file(
    config: Config,
    conn: sqlite3.Connection,
    mappings: list[ProductMapping],
    candidate: Candidate,
    options: Options,
) -> Outcome:
    """Dry run: read and diff a file without claiming, moving or queueing anything."""
    return preview(config, conn, mappings, candidate, options.plan, options.now())


def _count_file(summary: RunSummary, outcome: Outcome) -> None:
    if outcome.status == "skipped":
        return  # changed or vanished after it looked ready: seen again by the next scan
    summary.files += 1
    if outcome.status == "failed":
        summary.files_failed += 1
    elif outcome.status == "duplicate":
        summary.duplicates += 1
    counts = outcome.counts
    summary.rows += counts.get("rows", 0)
    summary.rejected += counts.get("rejected", 0)
    summary.not_in_catalog += counts.get("not_in_catalog", 0)
    summary.queued += counts.get("queued", 0)
    summary.deferred += counts.get("deferred", 0)
    summary.superseded += counts.get("superseded", 0)


def _send(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    options: Options,
) -> None:
    now = options.now()
    due = pending.summary(conn, pending.Window.at(now, config.schedule))["due"]
    if not due:
        return
    with Progress(due, "changes", enabled=options.progress) as bar:
        report = send_due(
            conn,
            client,
            now,
            batch_size=config.alephee.batch_size,
            progress=bar.advance,
            schedule=config.schedule,
        )
    summary.sent += report.sent
    summary.accepted += report.accepted
    summary.refused += len(report.refused)
    if report.refused:
        from connector.products.refusals import write_refusals

        path = write_refusals(config, report.refused, now)
        log.warning("Alephee refused %d changes; see %s", len(report.refused), path.name)


# -- the long-running watcher -------------------------------------------------------------------


class StopFlag:
    """Set by Ctrl+C or SIGTERM; the loop finishes the current step and exits cleanly."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            log.info("stop requested (signal %d); finishing the current step", signum)
            self.event.set()

        signal.signal(signal.SIGINT, handle)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, handle)


def run(config: Config, options: Options | None = None, stop: StopFlag | None = None) -> int:
    options = options or Options()
    stop = stop or StopFlag()
    with instance_lock(config):
        conn = open_state(config)
        client = AlephClient(config.alephee, config.retry, sleep=options.sleep)
        intake = Intake(config, conn, sleep=options.sleep)
        watcher = Watcher(config.folders.inbox, config.intake)
        watcher.start()
        try:
            return _loop(config, conn, client, intake, options, stop, watcher)
        finally:
            watcher.stop()
            client.close()
            conn.close()


def _loop(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    intake: Intake,
    options: Options,
    stop: StopFlag,
    watcher: Watcher,
) -> int:
    log.info("watching %s (Ctrl+C to stop)", config.folders.inbox)
    code = 0
    while not stop.event.is_set():
        code, _ = _pass_with_summary(config, conn, client, intake, options, mode="run")
        if code in (2, 4):
            return code
        if code == 3:
            # Alephee unreachable: keep watching, but wait a whole rescan before trying again.
            stop.event.wait(config.intake.rescan_seconds)
            continue
        watcher.wait(intake.next_scan_in())
    return 0 if code in (0, 1) else code
