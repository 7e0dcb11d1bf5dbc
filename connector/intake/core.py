"""The intake the ``once`` and ``run`` commands share: find ready files, claim, process, file away.

The caller supplies the processing as a callback; the intake guarantees each file content is
processed to completion once (a crash can make it run again, never lose it), duplicates are
recognised by sha256 (the same content as the last file done; a content that comes back after
other files is processed again), and every file ends in ``archive/`` or ``failed/``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from connector.config import Config
from connector.errors import BadInputFile, RetryableError, SkipError, StopError
from connector.intake.crashpoints import crashpoint
from connector.intake.ledger import FileFacts, Ledger, LedgerEntry, sha256_of
from connector.intake.lifecycle import Destinations, settle
from connector.intake.readiness import Readiness
from connector.intake.scan import Candidate, NameOrder, list_inbox
from connector.redact import redact

log = logging.getLogger(__name__)

Status = Literal["done", "failed", "duplicate", "skipped"]
UNEXPECTED_HINT = (
    "This is most likely a fault in the connector, not in your file. The details are in the "
    "connector log (state/logs/connector.log). Drop the file into the inbox again to retry; "
    "if it fails the same way, report it with the log."
)


GIVEN_UP_HINT = (
    "The connector process ended abruptly (a crash, or it was killed) each time it worked on "
    "this file, so it is set aside for the rest to go on. Export the file again from the ERP; "
    "if the new file does the same, report it with the connector log "
    "(state/logs/connector.log)."
)


def _given_up(crashes: int) -> Outcome:
    return Outcome(
        "failed",
        f"the connector stopped abruptly {crashes} times while processing this file; "
        "it is not tried again",
    )


@dataclass(frozen=True)
class Claim:
    id: int
    path: Path
    sha256: str
    as_of: datetime
    size: int
    attempts: int = 1  # > 1: the process died during an earlier attempt on this file

    @property
    def after_a_crash(self) -> bool:
        """Read it where a crash cannot take the connector down (a child process)."""
        return self.attempts > 1


@dataclass(frozen=True)
class Outcome:
    status: Status
    detail: str = ""
    counts: dict[str, int] = field(default_factory=dict)


Handler = Callable[[Claim], Outcome]


class Intake:
    def __init__(
        self,
        config: Config,
        conn: sqlite3.Connection,
        *,
        clock: Callable[[], float] = time.time,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        order_pattern: str | None = None,
        incomplete_grace: float | None = None,
    ) -> None:
        self.settings = config.intake
        self.inbox = config.folders.inbox
        self.ledger = Ledger(conn)
        grace = (
            self.settings.incomplete_grace_seconds if incomplete_grace is None else incomplete_grace
        )
        self.readiness = Readiness(self.settings, incomplete_grace=grace)
        pattern = order_pattern or self.settings.order_pattern
        self.order = NameOrder(pattern, config.schedule.zone)
        self.destinations = Destinations(
            config.folders.archive, config.folders.failed, config.schedule.zone
        )
        self.inbox_reachable = True
        self._clock = clock  # file ages: the file system's own (wall) clock
        self._stamp = now  # the ledger's times: the run's clock (Options.now) when given
        self._sleep = sleep
        settings = self.settings
        # At least long enough for a file dropped just now to pass every check.
        self.settle_timeout = max(
            settings.settle_wait_seconds,
            settings.min_age_seconds
            + (settings.stable_checks + 1) * settings.check_interval_seconds,
        )

    def recover(self) -> None:
        """Start-up: finish moves a crash interrupted; take up or close interrupted claims."""
        self._settle_owed()
        if not self.inbox.is_dir():
            return  # an outage: claims wait, untouched, until the inbox is back
        for entry in self.ledger.claimed():
            if entry.path.exists() and entry.attempts:
                log.warning(
                    "%s was being processed when the connector stopped abruptly (%d of at "
                    "most %d times); processing it again, in a separate process",
                    entry.name,
                    entry.attempts,
                    self.settings.max_read_attempts,
                )
            elif entry.path.exists():
                log.info("%s was left waiting by a clean stop; processing it again", entry.name)
            else:
                # Safe even if the file comes back: failed content is processed when seen again.
                self.ledger.close_vanished(entry.id, self._now())
                log.warning(
                    "%s was being processed when the connector stopped and is no longer "
                    "in the inbox; drop it again if its data is still wanted",
                    entry.name,
                )

    def ready(
        self, *, wait: bool, meanwhile: Callable[[list[Candidate]], None] | None = None
    ) -> list[Candidate]:
        """Inbox files ready to process, in processing order.

        ``wait=True`` (once): checks again when the next check is due until every file is ready
        or ``settle_timeout`` has passed; what is still not ready waits for the next run.
        ``meanwhile`` runs once, before the first wait, with the files found (in processing
        order): work they will need (imports, a read ahead), started while they settle rather
        than after; it must return at once (``ReadAhead.start``: a thread) so that the checks
        keep their times. ``wait=False`` (watcher): one look; the checks add up across calls.
        """
        self._settle_owed()
        deadline = self._clock() + self.settle_timeout
        while True:
            found = self._scan()
            ready = [c for c in found if self.readiness.check(c, self._clock()).ready]
            if not wait or len(ready) == len(found) or self._clock() >= deadline:
                return ready
            if meanwhile is not None:
                meanwhile(found)
                meanwhile = None
            self._sleep(self.readiness.next_check_in(self._clock()))

    def process(self, candidate: Candidate, handler: Handler) -> Outcome:
        """Claim the file, run ``handler``, record the outcome, move the file; see module doc."""
        facts = self._facts(candidate)
        self.readiness.forget(candidate.path)
        if facts is None:
            return Outcome(
                "skipped",
                f"{candidate.path.name} changed or disappeared after it "
                "was found ready; it will be looked at again",
            )
        original = self.ledger.duplicate_of(facts.sha256)
        if original is not None:
            return self._duplicate(facts, original)
        entry = self.ledger.claim(facts, self._now())
        crashpoint("intake.after_claim")
        claim = Claim(entry.id, facts.path, facts.sha256, facts.as_of, facts.size, entry.attempts)
        if entry.attempts > self.settings.max_read_attempts:
            outcome, hint = _given_up(entry.attempts - 1), GIVEN_UP_HINT
        else:
            outcome, hint = self._run(handler, claim)
        crashpoint("intake.after_handler")
        status: Status = "failed" if outcome.status == "failed" else "done"
        now = self._now()
        entry = self.ledger.finish(
            entry.id,
            status=status,
            detail=redact(outcome.detail),
            hint=redact(hint),
            counts=outcome.counts,
            target=self.destinations.target(status, facts.path.name, now),
            now=now,
        )
        crashpoint("intake.after_done")
        self._settle(entry)
        crashpoint("intake.after_settle")
        return Outcome(status, outcome.detail, outcome.counts)

    def waiting(self) -> list[Path]:
        """Files seen in the inbox but not ready yet (for ``connector status``)."""
        return sorted(self.readiness.waiting())

    def waiting_reasons(self) -> dict[Path, str]:
        return dict(sorted(self.readiness.waiting().items()))

    def next_scan_in(self) -> float:
        """For the watcher loop: soon while files are settling, else the periodic rescan."""
        if self.readiness.waiting():
            return self.readiness.next_check_in(self._clock())
        return self.settings.rescan_seconds

    def _scan(self) -> list[Candidate]:
        found = list_inbox(self.inbox, self.settings.ignore, self.order)
        if found is None:
            if self.inbox_reachable:
                log.warning(
                    "the inbox folder %s cannot be read (missing, or the share is "
                    "disconnected); trying again later",
                    self.inbox,
                )
            self.inbox_reachable = False
            return []  # an outage, never "the files were deleted": remember what was seen
        if not self.inbox_reachable:
            log.info("the inbox folder %s is reachable again", self.inbox)
        self.inbox_reachable = True
        owed = {entry.path for entry in self.ledger.unsettled()}
        self.readiness.forget_except({c.path for c in found})
        return [c for c in found if c.path not in owed]

    def _facts(self, candidate: Candidate) -> FileFacts | None:
        """Hash the file; ``None`` when it is not the file that was found ready."""
        path = candidate.path
        try:
            before = path.stat()
            sha = sha256_of(path)
            after = path.stat()
        except OSError:
            return None
        expected = (candidate.size, candidate.mtime_ns)
        if (before.st_size, before.st_mtime_ns) != expected or (
            after.st_size,
            after.st_mtime_ns,
        ) != expected:
            return None
        return FileFacts(path, candidate.size, candidate.mtime_ns, sha, candidate.as_of)

    def _run(self, handler: Handler, claim: Claim) -> tuple[Outcome, str]:
        name = claim.path.name
        try:
            return handler(claim), ""
        except (StopError, RetryableError):
            # Stop (or retry later): the claim stays and the file waits in the inbox; a clean
            # stop is no crash, so this attempt does not count towards max_read_attempts.
            self.ledger.release(claim.id)
            raise
        except BadInputFile as exc:
            log.warning("%s cannot be used and goes to the failed folder: %s", name, exc)
            return Outcome("failed", str(exc)), exc.hint
        except SkipError as exc:
            log.warning("%s goes to the failed folder: %s", name, exc)
            return Outcome("failed", str(exc)), ""
        except Exception as exc:
            log.warning(
                "%s goes to the failed folder after an unexpected error (%s)",
                name,
                type(exc).__name__,
            )
            # INFO reaches the log file but not the console: no traceback for the operator.
            log.info("details of the unexpected error on %s", name, exc_info=True)
            detail = f"unexpected error while processing it: {type(exc).__name__}: {exc}"
            return Outcome("failed", detail), UNEXPECTED_HINT

    def _duplicate(self, facts: FileFacts, original: LedgerEntry) -> Outcome:
        now = self._now()
        target = self.destinations.target("duplicate", facts.path.name, now)
        entry = self.ledger.record_duplicate(facts, original, target, now)
        crashpoint("intake.after_duplicate")
        log.info(
            "%s has the same content as %s, processed before; archived without processing",
            facts.path.name,
            original.name,
        )
        self._settle(entry)
        return Outcome("duplicate", entry.detail)

    def _settle_owed(self) -> None:
        for entry in self.ledger.unsettled():
            self._settle(entry)

    def _settle(self, entry: LedgerEntry) -> None:
        try:
            settle(self.ledger, entry, self.destinations)
        except OSError as exc:
            # Typically a Windows lock on the file: the move is retried on the next scan.
            log.warning(
                "%s could not be moved to %s yet (%s); trying again on the next scan",
                entry.name,
                entry.final_path,
                exc.strerror or exc,
            )

    def _now(self) -> datetime:
        if self._stamp is not None:
            return self._stamp()
        return datetime.fromtimestamp(self._clock(), UTC)
