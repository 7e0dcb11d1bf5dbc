"""Unexpected errors stay where they happen: one cycle or one item, never the whole run.

An expected problem is a ``ConnectorError`` with a plain message; anything else (a body of a
shape Alephee never documented, a field that does not parse, a bug) is *unexpected*. ``contained``
catches it at the level given (a cycle, an order), writes the traceback to the log file only
(redacted like every log line), adds one plain line to the run summary for the console, and
counts it: the run ends with exit code 5 ("internal error: see the log"). A ``StopError`` is
not caught: it stops the run as the contract says (2, 3, 4).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from connector.errors import StopError
from connector.redact import redact
from connector.runlog import RunSummary

log = logging.getLogger(__name__)
FILE_ONLY = {"console": False}  # logging ``extra``: the console handler skips such records
SEE_THE_LOG = "; see the log"


def describe(exc: BaseException) -> str:
    """``KeyError: 'Id'`` in one line, short and without secrets."""
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return redact(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def report(summary: RunSummary, what: str, exc: BaseException) -> str:
    """Record an unexpected error of ``what``; returns the plain line shown to people."""
    line = f"{what}: unexpected error ({describe(exc)}){SEE_THE_LOG}"
    summary.internal_errors += 1
    summary.notes.append(line)
    log.error("%s", line, exc_info=exc, extra=FILE_ONLY)
    return line


def is_contained(note: str) -> bool:
    """Is this summary note the plain line of a contained error (``report``)?"""
    return note.endswith(SEE_THE_LOG)


@contextmanager
def contained(summary: RunSummary, what: str) -> Iterator[None]:
    """Run a block; an unexpected error in it is reported and does not go further."""
    try:
        yield
    except StopError:
        raise
    except Exception as exc:  # noqa: BLE001 - the point of containment
        report(summary, what, exc)
