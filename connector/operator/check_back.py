"""``connector check`` for what goes back to Alephee: status files and order documents.

A status file is read through its order-status mapping and each row shown as it resolves: the
order found (or not), the status word's code, and whether it would be sent, is unchanged, or is
rejected and why. A document shows the order its name points to and whether it passes the
checks. Nothing is queued, sent or moved (the orders are looked up with GET only).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from connector import clock
from connector.alephee.client import AlephClient
from connector.config import Config, RetrySettings
from connector.db import rolled_back
from connector.documents.checks import checked_content
from connector.documents.names import NamePatterns
from connector.errors import ConnectorError
from connector.shipping.ingest import ingest_status
from connector.shipping.mapping import StatusMapping
from connector.shipping.read import read_status_file

SAMPLE_ROWS = 5


class Findings(Protocol):
    def ok(self, text: str) -> None: ...
    def problem(self, text: str) -> None: ...
    def detail(self, text: str) -> None: ...


def check_status_file(
    path: Path,
    mapping: StatusMapping,
    config: Config,
    findings: Findings,
    state: Callable[[], sqlite3.Connection],
) -> None:
    conn = state()
    try:
        with AlephClient(config.alephee, _short(config)) as client:
            status_file = read_status_file(path, mapping)
            now = clock.now()
            with rolled_back(conn):  # check changes nothing: what would be queued is undone
                report = ingest_status(conn, client, status_file, mapping, as_of=now, now=now)
    except ConnectorError as exc:
        message = str(exc).removeprefix(f"{path.name}: ")
        hint = getattr(exc, "hint", "")
        findings.problem(
            f"{path.name} (mapping {mapping.source.name}): {message}"
            + (f"; {hint}" if hint else "")
        )
        return
    finally:
        conn.close()
    findings.ok(
        f"{path.name}: read with order-status mapping {mapping.source.name}: "
        f"{len(status_file.rows):,} rows, {report.queued:,} would be sent, "
        f"{report.unchanged:,} unchanged, {report.rejected:,} rejected"
    )
    queued = {item.line for item in report.queued_items}
    rejected = {reject.line for reject in status_file.rejects}
    for row in [r for r in status_file.rows if r.line not in rejected][:SAMPLE_ROWS]:
        order = report.resolved.get(row.ref)
        verdict = "would send" if row.line in queued else "unchanged: nothing to send"
        tracking = f", tracking {row.tracking}" if row.tracking else ""
        findings.detail(
            f"line {row.line}: order {row.ref} -> Alephee order {order}, status {row.word} -> "
            f"{row.code}{tracking}: {verdict}"
        )
    for reject in status_file.rejects[:SAMPLE_ROWS]:
        findings.detail(f"line {reject.line}: REJECTED: {reject.reason}")


def check_document(
    path: Path, config: Config, findings: Findings, state: Callable[[], sqlite3.Connection]
) -> bool:
    """False when the file is not a document (no documents pattern names it)."""
    from connector.alephee import orderrefs

    doc = NamePatterns(config.documents).match(path.name) if config.documents.enabled else None
    if doc is None:
        return False
    conn = state()
    try:
        checked_content(path, doc.format, int(config.documents.max_mb * 1_000_000))
        with AlephClient(config.alephee, _short(config)) as client:
            order = orderrefs.resolve(conn, client, doc.ref_kind, [doc.ref]).get(doc.ref)
    except ConnectorError as exc:
        findings.problem(f"{path.name}: {str(exc).removeprefix(path.name + ': ')}")
        return True
    finally:
        conn.close()
    if order is None:
        findings.problem(
            f"{path.name}: names {doc.ref_kind} {doc.ref}, and no such order is known: "
            "it would go to failed/"
        )
    else:
        findings.ok(f"{path.name}: {doc.doc_type} ({doc.format}) for Alephee order {order}")
    return True


def _short(config: Config) -> RetrySettings:
    """Two attempts and a short budget: check answers in seconds, even when Alephee is down."""
    return config.retry.model_copy(update={"max_attempts": 2, "budget_seconds": 20.0})
