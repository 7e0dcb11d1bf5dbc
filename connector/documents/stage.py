"""The documents stage as the runner uses it: find ready documents, check, attach, file away.

The documents folder may be the inbox: then ``without_documents`` keeps the documents away
from the products and status handlers, and this stage takes them. Readiness, duplicates (same
content), the claim and the archive/failed moves are the intake's (``connector.intake``), so a
document is treated exactly as any inbox file.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from connector.alephee import orderrefs
from connector.alephee.client import AlephClient
from connector.alephee.models import DocumentUpload
from connector.config import Config
from connector.documents import ledger
from connector.documents.checks import checked_content
from connector.documents.names import DocumentName, NamePatterns
from connector.errors import BadInputFile, RequestRejected, SkipError
from connector.intake import Candidate, Claim, Intake, Outcome, crashpoint
from connector.runlog import RunSummary
from connector.slots import iso

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class DocumentIntake(Intake):
    """The intake over the documents folder, seeing only the files a pattern names."""

    def __init__(
        self,
        config: Config,
        conn: sqlite3.Connection,
        sleep: Callable[[float], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        folders = config.folders.model_copy(update={"inbox": config.documents_folder})
        docs_config = config.model_copy(update={"folders": folders})
        super().__init__(docs_config, conn, sleep=sleep, clock=clock)
        self.patterns = NamePatterns(config.documents)

    def _scan(self) -> list[Candidate]:
        return [c for c in super()._scan() if self.patterns.match(c.path.name) is not None]


def without_documents(config: Config, ready: list[Candidate]) -> list[Candidate]:
    """When documents share the inbox, leave them to this stage."""
    if not config.documents.enabled or config.documents_folder != config.folders.inbox:
        return ready
    patterns = NamePatterns(config.documents)
    return [c for c in ready if patterns.match(c.path.name) is None]


def attach_due(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    summary: RunSummary,
    *,
    now: Clock,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
    wait: bool = True,
) -> None:
    """Attach every ready document."""
    if not config.documents.enabled or not config.documents_folder.is_dir():
        return
    intake = _intake_for(client, config, conn, sleep, clock)
    handler = _handler(config, conn, client, intake.patterns, now)
    for candidate in intake.ready(wait=wait):
        outcome = intake.process(candidate, handler)
        summary.documents_attached += outcome.counts.get("documents_attached", 0)
        if outcome.status == "failed":
            summary.documents_failed += 1


# One DocumentIntake per client, i.e. per ``once`` and for the whole of ``connector run``: its
# readiness checks add up across the watcher's passes (a fresh one each pass would never see a
# file stable twice). A connection cannot be weakly referenced; the client can.
_INTAKES: weakref.WeakKeyDictionary[AlephClient, DocumentIntake] = weakref.WeakKeyDictionary()


def _intake_for(
    client: AlephClient,
    config: Config,
    conn: sqlite3.Connection,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> DocumentIntake:
    intake = _INTAKES.get(client)
    if intake is None or intake.inbox != config.documents_folder or intake.ledger.conn is not conn:
        intake = _INTAKES[client] = DocumentIntake(config, conn, sleep, clock)
    return intake


def _handler(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    patterns: NamePatterns,
    now: Clock,
) -> Callable[[Claim], Outcome]:
    def handle(claim: Claim) -> Outcome:
        doc = patterns.match(claim.path.name)
        if doc is None:  # renamed between the scan and the claim
            raise BadInputFile(f"{claim.path.name} matches no documents.files pattern")
        try:
            attached = attach(config, conn, client, claim.path, claim.sha256, doc, now())
        except SkipError as exc:
            order_id = exc.order_id if isinstance(exc, Refused) else None
            ledger.record(
                conn,
                claim.sha256,
                claim.path.name,
                order_id,
                doc.doc_type,
                claim.size,
                "failed",
                iso(now()),
                str(exc),
            )
            raise
        return Outcome("done", "", {"documents_attached": int(attached)})

    return handle


def attach(
    config: Config,
    conn: sqlite3.Connection,
    client: AlephClient,
    path: Path,
    sha256: str,
    doc: DocumentName,
    now: datetime,
) -> bool:
    """Attach one document to its order; False when it was attached already (by a run that
    stopped before recording it). Raises BadInputFile when it cannot be attached."""
    max_bytes = int(config.documents.max_mb * 1_000_000)
    data = checked_content(path, doc.format, max_bytes)
    order_id = _order_of(conn, client, doc)
    name, size = path.name, len(data)
    entry = ledger.find(conn, sha256)
    if entry is not None and entry.order_id == order_id and entry.state == "attached":
        return False
    if entry is not None and entry.order_id == order_id and entry.state == "uploading":
        if _already_there(client, order_id, name, size):
            ledger.record(conn, sha256, name, order_id, doc.doc_type, size, "attached", iso(now))
            log.info("%s was attached to order %d before the connector stopped", name, order_id)
            return False
    ledger.record(conn, sha256, name, order_id, doc.doc_type, size, "uploading", iso(now))
    upload = DocumentUpload(
        document_type=doc.type_code,
        document_format=doc.format,
        file_name=name,
        content=base64.b64encode(data).decode("ascii"),
    )
    try:
        client.attach_document(
            order_id, upload, lambda: _already_there(client, order_id, name, size)
        )
    except RequestRejected as exc:
        raise Refused(f"Alephee refused {name} for order {order_id}: {exc}", order_id) from None
    crashpoint("documents.after_upload")
    ledger.record(conn, sha256, name, order_id, doc.doc_type, size, "attached", iso(now))
    log.info("%s attached to order %d as %s", name, order_id, doc.doc_type)
    return True


def _order_of(conn: sqlite3.Connection, client: AlephClient | None, doc: DocumentName) -> int:
    order_id = orderrefs.resolve(conn, client, doc.ref_kind, [doc.ref]).get(doc.ref)
    if order_id is None:
        raise BadInputFile(
            f"unknown order: no order with {doc.ref_kind} {doc.ref} (from the file name)",
            hint="check the order number in the file name, then drop the file again",
        )
    return order_id


def _already_there(client: AlephClient, order_id: int, name: str, size: int) -> bool:
    """Does Alephee list this document on the order already (same name and size)?"""
    order = orderrefs.fetch_order(client, order_id) or {}
    listed = next((v for k, v in order.items() if k.lower() == "documents"), None) or []
    for document in listed if isinstance(listed, list) else []:
        folded = (
            {str(k).lower(): v for k, v in document.items()} if isinstance(document, dict) else {}
        )
        if str(folded.get("fullfilename", "")).casefold() == name.casefold() and folded.get(
            "size"
        ) in (size, str(size)):
            return True
    return False


class Refused(BadInputFile):
    """Alephee refused the document for a known order."""

    def __init__(self, message: str, order_id: int) -> None:
        super().__init__(message, hint="see Alephee's reason; fix the document, drop it again")
        self.order_id = order_id


