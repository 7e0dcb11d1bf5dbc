"""One pass (``once``) and the long-running watcher (``run``), built from the library parts.

A pass: lock -> recover interrupted work -> ready inbox files -> (catalog when needed) ->
each file through the pipeline -> send due changes -> order cycles that are due -> summary.

A dry run (``once --dry-run``) is the same pass, rehearsed: ``connector.dryrun.rehearse`` rolls
the state back and records file effects, and a ``RecordingClient`` records what would be sent.
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
from types import FrameType
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from connector import clock, db, runlog
from connector.alephee.client import AlephClient
from connector.clock import Clock
from connector.config import Config
from connector.dryrun.plan import Plan, rehearse
from connector.dryrun.recorder import RecordingClient
from connector.errors import InstanceRunning, StopError
from connector.intake import Claim, Intake, Outcome, Watcher
from connector.orders import ledger as orders_ledger
from connector.orders.cycles import run_due_cycles
from connector.progress import Progress
from connector.runlog import RunSummary
from connector.slots import iso

if TYPE_CHECKING:
    from connector.readers.mapping import ProductMapping

log = logging.getLogger(__name__)
utcnow = clock.now  # kept for callers of the old name


@dataclass
class Options:
    dry_run: bool = False
    refresh_catalog: bool = False
    orders: bool = True
    force_cycles: bool = False
    sleep: Callable[[float], None] = time.sleep
    now: Clock = utcnow
    progress: bool = True
    plan: Plan = field(default_factory=Plan)  # what a dry run found (connector.dryrun)


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


def open_state(config: Config, *, products: bool = True) -> sqlite3.Connection:
    conn = db.connect(config.db_path)
    for module in (orders_ledger, runlog):
        module.init(conn)
    if products:
        open_products(conn)
    return conn


# The products pipeline (readers, diff, queue, catalog) loads pandas and pyarrow: about 1 s.
# ``once`` imports it only when a file is ready, the catalog is to be refreshed, or the change
# queue holds something (``_queue_waiting``), so a pass with nothing to do costs no more than
# Python's start (bench/README.md, issue 14; tests/test_idle_imports.py).


def open_products(conn: sqlite3.Connection) -> None:
    from connector.products import catalog, pending, snapshot

    for module in (snapshot, pending, catalog):
        module.init(conn)


def _queue_waiting(conn: sqlite3.Connection) -> bool:
    """Whether ``connector.products.pending``'s queue table holds any change, asked without
    importing it."""
    try:
        return bool(conn.execute("SELECT EXISTS (SELECT 1 FROM queue)").fetchone()[0])
    except sqlite3.OperationalError:  # no such table: no file was ever processed here
        return False


def once(config: Config, options: Options | None = None) -> tuple[int, RunSummary]:
    options = options or Options()
    with instance_lock(config):
        conn = open_state(config, products=False)  # opened in one_pass when there is work
        kind = RecordingClient if options.dry_run else AlephClient
        client = kind(config.alephee, config.retry, sleep=options.sleep)
        try:
            intake = Intake(config, conn, sleep=options.sleep)
            if not isinstance(client, RecordingClient):
                return _pass_with_summary(config, conn, client, intake, options, mode="once")
            with rehearse(conn, options.plan, client):
                code, summary = _pass_with_summary(config, conn, client, intake, options, "once")
        finally:
            client.close()
            conn.close()
    if code in (0, 1):  # stopped (config, lock, Alephee): the reason is in the summary
        options.plan.conclude(config, summary, options.now(), orders=_orders_on(config, options))
    return code, summary


def dry_run(config: Config, options: Options | None = None) -> tuple[int, RunSummary]:
    """``once --dry-run``: the pass rehearsed; ``options.plan`` says what would happen."""
    options = options or Options()
    options.dry_run = True
    return once(config, options)


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
    if worth_recording:  # a dry run's record is rolled back with the rest of it
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
    intake.recover()
    ready = intake.ready(wait=wait)
    now = options.now()
    if ready or options.refresh_catalog or options.dry_run or _queue_waiting(conn):
        open_products(conn)  # imports the pipeline: see open_products
    if ready or options.refresh_catalog:
        from connector.products import catalog

        catalog.ensure_fresh(
            conn, client, now, config.schedule.catalog_refresh_hours, force=options.refresh_catalog
        )
    mappings = _load_mappings(config) if ready else []

    def handler(claim: Claim) -> Outcome:
        from connector.products.files import process_file

        result = process_file(
            conn, config, mappings, claim.path, as_of=claim.as_of, now=options.now()
        )
        return Outcome(status="done", detail="", counts=result.counts)

    plan = options.plan
    with Progress(len(ready), "files", enabled=options.progress) as bar:
        for candidate in ready:
            plan.file_started(conn)
            outcome = intake.process(candidate, handler)
            plan.file_done(
                candidate.path.name,
                outcome.status,
                outcome.detail,
                outcome.counts,
                conn=conn,
                config=config,
                now=options.now(),
            )
            _count_file(summary, outcome)
            bar.advance()
    plan.before_send(conn)
    _send(config, conn, client, summary, options)
    if _orders_on(config, options):
        cycle = run_due_cycles(
            config, conn, client, summary, now=options.now(), force=options.force_cycles
        )
        plan.cycles(cycle is not None)


def _load_mappings(config: Config) -> list[ProductMapping]:
    from connector.readers.mapping import load_mappings

    return load_mappings(config.folders.mappings)


def _orders_on(config: Config, options: Options) -> bool:
    return options.orders and config.orders.enabled


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


def _send(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    options: Options,
) -> None:
    if not _queue_waiting(conn):
        return
    from connector.products import pending
    from connector.products.sync import send_due

    now = options.now()
    due = pending.summary(conn, iso(now))["due"]
    if not due:
        return
    with Progress(due, "changes", enabled=options.progress) as bar:
        report = send_due(
            conn, client, now, batch_size=config.alephee.batch_size, progress=bar.advance
        )
    summary.sent += report.sent
    summary.accepted += report.accepted
    summary.refused += len(report.refused)
    if report.refused:
        from connector.products.refusals import write_refusals

        path = write_refusals(config, report.refused, now)
        log.warning("Alephee refused %d products; see %s", len(report.refused), path.name)


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
