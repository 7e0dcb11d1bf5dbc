"""One pass (``once``) and the long-running watcher (``run``), built from the library parts.

A pass: lock -> recover interrupted work -> ready inbox files -> (catalog when needed) ->
each file through the pipeline -> send due changes -> order cycles that are due -> summary.

A dry run (``once --dry-run``) is the same pass, rehearsed: ``connector.dryrun.rehearse`` rolls
the state back and records file effects, and a ``RecordingClient`` records what would be sent.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from connector import clock, db, runlog
from connector.alephee import orderrefs
from connector.alephee.client import AlephClient
from connector.alephee.profile import open_client, remember_batch_cap
from connector.clock import Clock
from connector.config import Config
from connector.contain import contained, is_contained, report
from connector.documents import ledger as documents_ledger
from connector.documents import stage as documents_stage
from connector.dryrun.plan import Plan, rehearse
from connector.dryrun.recorder import RecordingClient
from connector.errors import InstanceRunning, StopError, StopRequested
from connector.intake import Claim, Intake, Outcome
from connector.orders import ledger as orders_ledger
from connector.orders.cycles import run_due_cycles
from connector.progress import Progress
from connector.runlog import RunSummary
from connector.shipping import state as shipping_state
from connector.slots import iso

if TYPE_CHECKING:
    from connector.intake.watcher import Watcher
    from connector.readahead import ReadAhead
    from connector.readers.mapping import ProductMapping

log = logging.getLogger(__name__)
utcnow = clock.now  # kept for callers of the old name
MARKER_WAIT_SECONDS = 2.0


@dataclass
class Options:
    dry_run: bool = False
    refresh_catalog: bool = False
    orders: bool = True
    force_cycles: bool = False
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic  # the client's pacing clock (h-api)
    now: Clock = utcnow
    progress: bool = True
    plan: Plan = field(default_factory=Plan)  # what a dry run found (connector.dryrun)
    # -- issue 15: called after each recorded pass (cli passes connector.alerts.after_pass)
    after_pass: Callable[[sqlite3.Connection], None] | None = None
    stop_requested: Callable[[], bool] = lambda: False  # `run`: Ctrl+C or SIGTERM arrived


RUNNING_MARKER = "connector.running.lock"


@contextmanager
def instance_lock(config: Config) -> Iterator[None]:
    """One connector per state folder. The OS releases the lock when its holder dies.

    The holder also holds RUNNING_MARKER, which ``connector status`` probes instead of the
    instance lock: a probe that took the instance lock for an instant would make a ``once``
    starting at that instant exit 4. The marker is taken with a short wait, so a probe in
    flight only delays the start by a moment.
    """
    config.folders.state.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(config.folders.state / "connector.lock"), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise InstanceRunning(
            f"another connector is already running on {config.folders.state}; "
            "wait for it to finish (a scheduled task should use 'do not start a new instance')"
        ) from None
    marker = FileLock(str(config.folders.state / RUNNING_MARKER), timeout=MARKER_WAIT_SECONDS)
    try:
        marker.acquire()
    except Timeout:
        log.debug("the running marker stayed busy; status may not see this run")
    try:
        yield
    finally:
        if marker.is_locked:
            marker.release()
        lock.release()


def open_state(config: Config, *, products: bool = True) -> sqlite3.Connection:
    conn = db.connect(config.db_path)
    for module in (orders_ledger, runlog):
        module.init(conn)
    for part in (orderrefs, shipping_state, documents_ledger):  # orders back to Alephee
        part.init(conn)
    if products:
        open_products(conn)
    return conn


# The products pipeline (readers, diff, queue, catalog) loads pandas and pyarrow: about 1 s.
# ``once`` imports it only when a file is ready, the catalog is to be refreshed, or the change
# queue holds something (``_queue_waiting``), so a pass with nothing to do costs no more than
# Python's start (bench/README.md, issue 14; tests/test_idle_imports.py).


def open_products(conn: sqlite3.Connection) -> None:
    from connector.products import refusals, sendlog
    from connector.products import state as products_state

    for module in (products_state, refusals, sendlog):
        module.init(conn)


def _queue_waiting(conn: sqlite3.Connection) -> bool:
    """Whether the products side has work without a file: a change in the queue
    (``connector.products.pending``) or a refusal not yet reported (``refusals``), asked
    without importing them."""
    return _any_row(conn, "queue") or _any_row(conn, "refusal_lines")


def _any_row(conn: sqlite3.Connection, table: str) -> bool:
    try:
        return bool(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0])
    except sqlite3.OperationalError:  # no such table: no file was ever processed here
        return False


def once(config: Config, options: Options | None = None) -> tuple[int, RunSummary]:
    options = options or Options()
    with instance_lock(config):
        conn = open_state(config, products=False)  # opened in one_pass when there is work
        kind = RecordingClient if options.dry_run else AlephClient
        client = open_client(config, sleep=options.sleep, clock=options.monotonic, kind=kind)
        try:
            intake = Intake(config, conn, sleep=options.sleep, now=options.now)
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
    except StopRequested as exc:
        code, message = exc.exit_code, str(exc)
        log.info("%s", message)
    except StopError as exc:
        code, message = exc.exit_code, str(exc)
        summary.notes.append(message)
        log.error("%s", message)
    except Exception as exc:  # noqa: BLE001 - last net: recorded as a run, exit 5 (contain)
        message = report(summary, "the run", exc)
        code = summary.exit_code()
    finally:
        summary.calls = client.stats.calls - calls_before
        summary.rate_limited = client.stats.by_status.get(429, 0) - limited_before
        summary.seconds = time.monotonic() - t0
        if summary.calls:
            _remember_health(conn, client, code)
    worth_recording = mode == "once" or code != 0 or summary.calls or summary.files
    if worth_recording:  # a dry run's record is rolled back with the rest of it
        runlog.record(conn, mode, iso(started), iso(options.now()), code, summary, message)
        if options.after_pass is not None and not options.dry_run:  # the report, the alerts
            options.after_pass(conn)
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
    with contained(summary, "products cycle"):
        _products(config, conn, client, intake, summary, options, wait=wait)
    if not options.stop_requested():
        with contained(summary, "order status and documents"):
            _back_to_alephee(config, conn, client, summary, options, wait=wait)
    if _orders_on(config, options) and not options.stop_requested():
        cycle = run_due_cycles(
            config,
            conn,
            client,
            summary,
            now=options.now(),
            force=options.force_cycles,
            stop_requested=options.stop_requested,
        )
        options.plan.cycles(cycle is not None)


def _products(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    intake: Intake,
    summary: RunSummary,
    options: Options,
    *,
    wait: bool,
) -> None:
    """Inbox files, then the due changes (the products side of a pass)."""
    intake.recover()
    from connector.readahead import ReadAhead  # no pandas: it imports on its thread

    claimed = [entry.path for entry in intake.ledger.claimed()]
    ahead = ReadAhead(config, claimed=claimed, warm_up=lambda: _warm_up(client))
    try:
        _files(config, conn, client, intake, summary, options, ahead, wait=wait)
    finally:
        ahead.close()
    options.plan.before_send(conn)
    _send(config, conn, client, summary, options)


def _files(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    intake: Intake,
    summary: RunSummary,
    options: Options,
    ahead: ReadAhead,
    *,
    wait: bool,
) -> None:
    """The ready inbox files through their stage; ``once`` reads the first one ahead while
    the files settle (``connector.readahead``)."""
    ready = intake.ready(wait=wait, meanwhile=ahead.start)
    ahead.warmed()
    ready = documents_stage.without_documents(config, ready)  # documents: their own step below
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
            conn,
            config,
            mappings,
            claim.path,
            as_of=claim.as_of,
            now=options.now(),
            isolate=claim.after_a_crash,
            report_key=claim.sha256,
            read_ahead=lambda path, mapping: ahead.take(path, claim.sha256, mapping),
        )
        return Outcome(status="done", detail="", counts=result.counts)

    routed: Callable[[Claim], Outcome] = handler
    if ready:  # status files through the shipping stage (its readers load pandas: only now)
        from connector.shipping import stage as shipping_stage

        routed = shipping_stage.route(handler, config, conn, client, options.now)
    plan = options.plan
    with Progress(len(ready), "files", enabled=options.progress) as bar:
        for candidate in ready:
            if options.stop_requested():
                break  # the files left wait for the next run, untouched
            plan.file_started(conn)
            outcome = intake.process(candidate, routed)
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


def _load_mappings(config: Config) -> list[ProductMapping]:
    from connector.readers.mapping import load_mappings

    return load_mappings(config.folders.mappings)


def _orders_on(config: Config, options: Options) -> bool:
    return options.orders and config.orders.enabled


def _back_to_alephee(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    options: Options,
    *,
    wait: bool,
) -> None:
    """Orders back to Alephee: queued status changes, then the documents."""
    if _any_row(conn, "status_queue"):  # imported only with work to do, as products
        from connector.shipping import stage as shipping_stage

        shipping_stage.send_due(config, conn, client, summary, options.now())
    documents_stage.attach_due(
        config, conn, client, summary, now=options.now, sleep=options.sleep, wait=wait
    )


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
    if not _queue_waiting(conn):
        return
    from connector.products import pending, refusals
    from connector.products.sync import send_due

    now = options.now()
    _publish_refusals(config, conn, now)  # left by a killed run: never lost
    refusals.retry_if_settings_changed(conn, client.settings, iso(now))
    due = pending.products_due(conn, pending.Window.at(now, config.schedule))
    if not due:
        return
    try:
        with Progress(due, "products", enabled=options.progress) as bar:

            def advance(count: int, estimate: str) -> None:
                bar.advance(count, estimate)  # called after each batch is committed
                if options.stop_requested():
                    raise StopRequested("stopped on request after a batch; the rest stays queued")

            report = send_due(
                conn,
                client,
                now,
                batch_size=client.products_cap,
                progress=advance,
                refused_retry_hours=config.schedule.refused_retry_hours,
                schedule=config.schedule,
                clock=options.now,
            )
    finally:
        _publish_refusals(config, conn, now)  # also when Alephee went away
        if client.products_cap < config.alephee.batch_size:  # a 413 taught a smaller size
            remember_batch_cap(config, client.products_cap)
    summary.sent += report.sent
    summary.accepted += report.accepted
    summary.refused += len(report.refused)


def _publish_refusals(config: Config, conn: sqlite3.Connection, now: datetime) -> None:
    from connector.products import refusals

    path, lines = refusals.publish_pending(conn, config, now)
    if path is not None:
        log.warning("Alephee refused or left unclear %d changes; see %s", lines, path.name)


# -- the long-running watcher -------------------------------------------------------------------


STOP_POLL_SECONDS = 0.5  # an idle `run` notices a stop request within this
STOPPING = b"Stopping: finishing the batch in flight; the rest waits for the next run.\n"


class StopFlag:
    """Set by Ctrl+C or SIGTERM: an idle loop stops within STOP_POLL_SECONDS, a busy one after
    the batch or file in flight (``Options.stop_requested``), its state committed."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        def handle(signum: int, frame: FrameType | None) -> None:
            # Only async-signal-safe work here: a raw write, no logging or buffered print
            # (the main thread may be inside one of those when the signal lands).
            if not self.event.is_set():
                _raw_say(STOPPING)
            self.event.set()

        signal.signal(signal.SIGINT, handle)
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, handle)


def _raw_say(text: bytes) -> None:
    stream = sys.stderr
    try:
        if stream is not None:
            os.write(stream.fileno(), text)
    except (OSError, ValueError, AttributeError):
        pass  # no console (pythonw): the log says it when the loop ends


def run(config: Config, options: Options | None = None, stop: StopFlag | None = None) -> int:
    options = options or Options()
    stop = stop or StopFlag()
    options.stop_requested = stop.event.is_set
    from connector.intake.watcher import Watcher

    with instance_lock(config):
        conn = open_state(config)
        client = open_client(config, sleep=options.sleep, clock=options.monotonic, shared_key=True)
        intake = Intake(config, conn, sleep=options.sleep, now=options.now)
        watcher = Watcher(config.folders.inbox, config.intake)
        watcher.start()
        _warm_up(client)
        try:
            return _loop(config, conn, client, intake, options, stop, watcher)
        finally:
            watcher.stop()
            client.close()
            conn.close()


def _warm_up(client: AlephClient) -> None:
    """Load the data path and set up the HTTP client: about 1.5 s on a 2-core machine. ``run``
    does it before it watches, instead of inside the first file's latency; ``once`` while a
    file settles, instead of after (issue 14: file ready -> first POST; the second ``once``)."""
    import connector.products.catalog
    import connector.products.files
    import connector.products.sync
    import connector.readers.mapping
    import connector.shipping.stage  # noqa: F401 - imported for the side effect above

    client.prepare()


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
    code, refused_in_a_row = 0, 0
    while not stop.event.is_set():
        code, summary = _pass_with_summary(config, conn, client, intake, options, mode="run")
        for note in filter(is_contained, summary.notes):
            log.warning("%s", note)  # its traceback went to the log file only; `run` says it here
        if code in (2, 4):
            return code
        refused_in_a_row = refused_in_a_row + 1 if code == 3 else 0
        if code == 3:
            # Alephee unreachable, or refusing every request: keep watching, but wait longer
            # each time rather than send the same refused request every minute.
            wait = backoff_seconds(refused_in_a_row, config.intake.rescan_seconds)
            log.info("Alephee is tried again in %g s", wait)
            _idle(stop, None, wait)
            continue
        _idle(stop, watcher, intake.next_scan_in())
    log.info("stopped on request")
    return 0 if code in (0, 1, 5) else code


BACKOFF_LIMIT_SECONDS = 1800.0  # an unreachable Alephee is tried at least every half hour


def backoff_seconds(in_a_row: int, rescan: float) -> float:
    """The wait after ``in_a_row`` passes that Alephee did not take (exit 3): one rescan, then
    twice as long each time, at most ``BACKOFF_LIMIT_SECONDS`` (never less than a rescan)."""
    doubled = rescan * 2.0 ** min(max(in_a_row - 1, 0), 30)
    return max(rescan, min(doubled, BACKOFF_LIMIT_SECONDS))


def _idle(stop: StopFlag, watcher: Watcher | None, seconds: float) -> None:
    """Wait for ``seconds``, an inbox event, or a stop request, whichever comes first."""
    deadline = time.monotonic() + seconds
    while not stop.event.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        step = min(left, STOP_POLL_SECONDS)
        if watcher is not None and watcher.wait(step):
            return
        if watcher is None:
            stop.event.wait(step)
