"""The file ledger: every inbox file the connector took, by content, and where it ended up.

A row is written (claimed) before the processing callback runs and finished (done, failed or
duplicate) after it returns; ``settled`` turns 1 only once the file sits at ``final_path``. The
planned ``final_path`` is written together with the outcome, before the move, so a restart after
a kill anywhere knows where the file was going (see lifecycle.py). ``attempts`` counts up in
the claim's own commit, before the file is read: a process that dies while reading it has
counted that attempt (a clean stop gives it back with ``release``).

    claimed --> done | failed          duplicate: same content as a done file; never processed
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connector import clock
from connector.db import atomic, migrate

CHUNK = 1 << 20
STATUSES = ("claimed", "done", "failed", "duplicate")

_SCHEMA = [
    """CREATE TABLE intake_files (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        as_of TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('claimed', 'done', 'failed', 'duplicate')),
        detail TEXT NOT NULL DEFAULT '',
        hint TEXT NOT NULL DEFAULT '',
        counts TEXT NOT NULL DEFAULT '{}',
        attempts INTEGER NOT NULL DEFAULT 1,
        duplicate_of INTEGER REFERENCES intake_files(id),
        final_path TEXT,
        settled INTEGER NOT NULL DEFAULT 0,
        claimed_at TEXT NOT NULL,
        finished_at TEXT
    )""",
    "CREATE INDEX intake_files_sha ON intake_files (sha256)",
    # One open claim and one accepted copy per content: a second instance cannot slip in.
    "CREATE UNIQUE INDEX intake_files_claimed ON intake_files (sha256) WHERE status = 'claimed'",
    "CREATE UNIQUE INDEX intake_files_done ON intake_files (sha256) WHERE status = 'done'",
    "CREATE INDEX intake_files_unsettled ON intake_files (settled) WHERE settled = 0",
    "CREATE INDEX intake_files_claimed_at ON intake_files (claimed_at)",
]


# A content done before may be done again when other files were done since: an export that goes
# back to earlier values (1000 -> 1100 -> 1000) is the latest intent, not a duplicate.
_REPEATS = [
    "DROP INDEX intake_files_done",
    "CREATE INDEX intake_files_done ON intake_files (sha256) WHERE status = 'done'",
]


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    name: str
    path: Path
    size: int
    mtime_ns: int
    sha256: str
    as_of: datetime
    status: str
    detail: str
    hint: str
    counts: dict[str, int]
    attempts: int
    duplicate_of: int | None
    final_path: Path | None
    settled: bool
    claimed_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class FileFacts:
    """What the ledger records about a file when it is claimed."""

    path: Path
    size: int
    mtime_ns: int
    sha256: str
    as_of: datetime


def sha256_of(path: Path) -> str:
    """Streamed, so a 1 GB export never sits in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Ledger:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        migrate(conn, "intake_v1", _SCHEMA)
        migrate(conn, "intake_v2_repeats", _REPEATS)

    def get(self, entry_id: int) -> LedgerEntry:
        row = self.conn.execute("SELECT * FROM intake_files WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise KeyError(entry_id)
        return _entry(row)

    def find(self, sha256: str, status: str) -> LedgerEntry | None:
        row = self.conn.execute(
            "SELECT * FROM intake_files WHERE sha256 = ? AND status = ? ORDER BY id DESC LIMIT 1",
            (sha256, status),
        ).fetchone()
        return _entry(row) if row else None

    def duplicate_of(self, sha256: str) -> LedgerEntry | None:
        """The done file this content repeats, if it was the last file done: only then does
        processing it again change nothing. (If other files were done since, it may take
        values back to what it said, so it is processed.)"""
        original = self.find(sha256, "done")
        if original is None:
            return None
        last = self.conn.execute("SELECT MAX(id) FROM intake_files WHERE status = 'done'")
        return original if last.fetchone()[0] == original.id else None

    def claim(self, facts: FileFacts, now: datetime) -> LedgerEntry:
        """A new claim, or the open claim on the same content (a crashed run) taken up again."""
        with atomic(self.conn):
            open_claim = self.find(facts.sha256, "claimed")
            if open_claim is None:
                cursor = self.conn.execute(
                    "INSERT INTO intake_files (name, path, size, mtime_ns, sha256, as_of, status,"
                    " claimed_at) VALUES (?, ?, ?, ?, ?, ?, 'claimed', ?)",
                    (*_facts(facts), _iso(now)),
                )
                return self.get(_rowid(cursor))
            self.conn.execute(
                "UPDATE intake_files SET name = ?, path = ?, size = ?, mtime_ns = ?, sha256 = ?,"
                " as_of = ?, attempts = attempts + 1, claimed_at = ? WHERE id = ?",
                (*_facts(facts), _iso(now), open_claim.id),
            )
            return self.get(open_claim.id)

    def release(self, entry_id: int) -> None:
        """The run stopped cleanly during this claim (an outage, Ctrl+C): that attempt does not
        count; only attempts the process died in do (see ``Intake.process``)."""
        with atomic(self.conn):
            self.conn.execute(
                "UPDATE intake_files SET attempts = MAX(attempts - 1, 0)"
                " WHERE id = ? AND status = 'claimed'",
                (entry_id,),
            )

    def record_duplicate(
        self, facts: FileFacts, original: LedgerEntry, target: Path, now: datetime
    ) -> LedgerEntry:
        with atomic(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO intake_files (name, path, size, mtime_ns, sha256, as_of, status,"
                " detail, duplicate_of, final_path, claimed_at, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, 'duplicate', ?, ?, ?, ?, ?)",
                (
                    *_facts(facts),
                    f"same content as {original.name}, already processed",
                    original.id,
                    str(target),
                    _iso(now),
                    _iso(now),
                ),
            )
            return self.get(_rowid(cursor))

    def finish(
        self,
        entry_id: int,
        *,
        status: str,
        detail: str,
        hint: str,
        counts: dict[str, int],
        target: Path,
        now: datetime,
    ) -> LedgerEntry:
        """Record the outcome and where the file is about to go, before it moves."""
        with atomic(self.conn):
            self.conn.execute(
                "UPDATE intake_files SET status = ?, detail = ?, hint = ?, counts = ?,"
                " final_path = ?, finished_at = ? WHERE id = ? AND status = 'claimed'",
                (status, detail, hint, json.dumps(counts), str(target), _iso(now), entry_id),
            )
            return self.get(entry_id)

    def settle(self, entry_id: int, final_path: Path | None, detail: str | None = None) -> None:
        """The file reached its final place (or is known to be beyond reach)."""
        with atomic(self.conn):
            self.conn.execute(
                "UPDATE intake_files SET settled = 1, final_path = ?,"
                " detail = COALESCE(?, detail) WHERE id = ?",
                (str(final_path) if final_path else None, detail, entry_id),
            )

    def close_vanished(self, entry_id: int, now: datetime) -> None:
        """An interrupted claim whose file left the inbox: failed, with nothing left to move."""
        with atomic(self.conn):
            self.conn.execute(
                "UPDATE intake_files SET status = 'failed', settled = 1, finished_at = ?,"
                " detail = 'the file left the inbox before its processing finished; drop it"
                " again if its data is still wanted' WHERE id = ? AND status = 'claimed'",
                (_iso(now), entry_id),
            )

    def unsettled(self) -> list[LedgerEntry]:
        """Finished rows whose file has not reached its final place yet (moves still owed)."""
        rows = self.conn.execute(
            "SELECT * FROM intake_files WHERE settled = 0 AND status != 'claimed' ORDER BY id"
        ).fetchall()
        return [_entry(row) for row in rows]

    def claimed(self) -> list[LedgerEntry]:
        rows = self.conn.execute(
            "SELECT * FROM intake_files WHERE status = 'claimed' ORDER BY id"
        ).fetchall()
        return [_entry(row) for row in rows]

    def recent(self, days: float, *, now: datetime | None = None) -> list[LedgerEntry]:
        """Rows claimed in the last ``days`` days, newest first (for ``connector status``)."""
        since = (now or clock.now()) - timedelta(days=days)
        rows = self.conn.execute(
            "SELECT * FROM intake_files WHERE claimed_at >= ? ORDER BY id DESC", (_iso(since),)
        ).fetchall()
        return [_entry(row) for row in rows]

    def counts(self, *, days: float | None = None, now: datetime | None = None) -> dict[str, int]:
        """How many files per status (every status present, zero when none), plus ``unsettled``."""
        since = _iso((now or clock.now()) - timedelta(days=days)) if days else ""
        result = dict.fromkeys(STATUSES, 0)
        for row in self.conn.execute(
            "SELECT status, COUNT(*) AS n FROM intake_files WHERE claimed_at >= ? GROUP BY status",
            (since,),
        ):
            result[row["status"]] = row["n"]
        result["unsettled"] = self.conn.execute(
            "SELECT COUNT(*) FROM intake_files WHERE settled = 0 AND status != 'claimed'"
        ).fetchone()[0]
        return result


def _facts(facts: FileFacts) -> tuple[str, str, int, int, str, str]:
    return (
        facts.path.name,
        str(facts.path),
        facts.size,
        facts.mtime_ns,
        facts.sha256,
        _iso(facts.as_of),
    )


def _rowid(cursor: sqlite3.Cursor) -> int:
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        name=row["name"],
        path=Path(row["path"]),
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        sha256=row["sha256"],
        as_of=datetime.fromisoformat(row["as_of"]),
        status=row["status"],
        detail=row["detail"],
        hint=row["hint"],
        counts=json.loads(row["counts"]),
        attempts=row["attempts"],
        duplicate_of=row["duplicate_of"],
        final_path=Path(row["final_path"]) if row["final_path"] else None,
        settled=bool(row["settled"]),
        claimed_at=datetime.fromisoformat(row["claimed_at"]),
        finished_at=_when(row["finished_at"]),
    )
