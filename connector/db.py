"""The SQLite state store: one connection helper, one ``atomic()``, named migrations.

Every concern (ledger, snapshot, queue, orders) owns its tables and calls ``migrate()`` with
its own named steps, so modules stay independent. WAL journaling plus ``synchronous=FULL``:
a committed transaction survives a process kill and a power cut.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from connector.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

_savepoints = threading.local()


def connect(path: Path | str) -> sqlite3.Connection:
    """Open the state database (creating its folder), in autocommit mode; use ``atomic()``."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT "
            "NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"the state database {path} cannot be opened ({exc}); move it aside and run again "
            "(the connector then starts from an empty state)"
        ) from None
    return conn


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction; nested calls become savepoints. Commits on success, rolls back on error."""
    depth: dict[int, int] = getattr(_savepoints, "depth", {})
    _savepoints.depth = depth
    level = depth.get(id(conn), 0)
    name = f"sp{level}"
    conn.execute("BEGIN IMMEDIATE" if level == 0 else f"SAVEPOINT {name}")
    depth[id(conn)] = level + 1
    try:
        yield conn
    except BaseException:
        if level == 0:
            conn.execute("ROLLBACK")
        else:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    else:
        conn.execute("COMMIT" if level == 0 else f"RELEASE {name}")
    finally:
        depth[id(conn)] = level


class _RolledBack(Exception):
    """Raised at the end of ``rolled_back`` so that ``atomic`` undoes the work."""


@contextmanager
def rolled_back(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A transaction that is always undone: work that must leave no trace (dry run, check)."""
    try:
        with atomic(conn):
            yield conn
            raise _RolledBack
    except _RolledBack:
        pass


def migrate(conn: sqlite3.Connection, name: str, statements: Sequence[str]) -> None:
    """Apply a named migration once; statements run in one transaction."""
    if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
        return
    with atomic(conn):
        if conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (name,)).fetchone():
            return
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations (name) VALUES (?)", (name,))


def frame(
    conn: sqlite3.Connection, sql: str, params: Sequence[object] = (), *, chunk: int = 100_000
) -> pd.DataFrame:
    """A query as a DataFrame, fast: plain tuples in chunks (``read_sql_query`` goes through
    the Row factory, several times slower and larger on a million rows)."""
    import pandas as pd  # here: opening the state must not load pandas (an idle pass never does)

    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(sql, params)
    names = [d[0] for d in cursor.description]
    parts = []
    while batch := cursor.fetchmany(chunk):
        parts.append(pd.DataFrame.from_records(batch, columns=names))
    cursor.close()
    if not parts:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def frames(
    conn: sqlite3.Connection, sql: str, params: Sequence[object] = (), *, chunk: int = 100_000
) -> Iterator[pd.DataFrame]:
    """``frame`` a chunk at a time (nothing when there are no rows): a caller can make each
    chunk compact before the next is read."""
    import pandas as pd

    cursor = conn.cursor()
    cursor.row_factory = None
    cursor.execute(sql, params)
    names = [d[0] for d in cursor.description]
    try:
        while batch := cursor.fetchmany(chunk):
            yield pd.DataFrame.from_records(batch, columns=names)
    finally:
        cursor.close()
