"""Helpers for the intake tests: config, aged files, slow writers, handlers, a crash-run entry.

``python -m tests.intake_support crash-run ROOT`` runs one intake pass over ROOT/inbox (used by
the crash tests with CONNECTOR_CRASH_AT set).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.config import Config
from connector.db import connect
from connector.errors import BadInputFile
from connector.intake import Claim, Intake, Outcome

FAST = {"min_age_seconds": 0.0, "stable_checks": 1, "check_interval_seconds": 0.05}


def make_config(root: Path, *, inbox: str = "inbox", **intake: Any) -> Config:
    folders = {name: str(root / name) for name in ("outbox", "state", "archive", "failed")}
    folders["inbox"] = str(root / inbox)
    config = Config.model_validate(
        {
            "alephee": {"account_id": 1, "api_key": "intake-test-key-0000"},
            "folders": folders,
            "intake": intake,
        }
    )
    config.folders.inbox.mkdir(parents=True, exist_ok=True)
    return config


def open_intake(root: Path, *, conn: sqlite3.Connection | None = None, **kw: Any) -> Intake:
    intake_settings = kw.pop("settings", FAST)
    config = make_config(root, inbox=kw.pop("inbox", "inbox"), **intake_settings)
    return Intake(config, conn or connect(config.db_path), **kw)


def drop(path: Path, content: bytes | str, *, age: float = 3600.0) -> Path:
    """Write a file as if the ERP finished it ``age`` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def ledger(config: Config) -> list[sqlite3.Row]:
    """The intake ledger's rows, read from outside the connector."""
    conn = sqlite3.connect(config.db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM intake_files ORDER BY id").fetchall()
    finally:
        conn.close()


def sha(content: bytes | str) -> str:
    data = content.encode() if isinstance(content, str) else content
    return hashlib.sha256(data).hexdigest()


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


class SlowWriter(threading.Thread):
    """Appends ``chunks`` chunks to ``path`` with ``pause`` seconds between them, file held open."""

    def __init__(self, path: Path, chunk: bytes, chunks: int, pause: float) -> None:
        super().__init__(daemon=True)
        self.path, self.chunk, self.chunks, self.pause = path, chunk, chunks, pause
        self.finished_at: float | None = None

    def run(self) -> None:
        with open(self.path, "wb") as handle:
            for _ in range(self.chunks):
                handle.write(self.chunk)
                handle.flush()
                time.sleep(self.pause)
        self.finished_at = time.time()


class Recorder:
    """A handler that remembers what it was given; ``fail`` maps a file name to an exception."""

    def __init__(self, fail: dict[str, BaseException] | None = None) -> None:
        self.claims: list[Claim] = []
        self.fail = fail or {}

    def __call__(self, claim: Claim) -> Outcome:
        self.claims.append(claim)
        error = self.fail.get(claim.path.name)
        if error is not None:
            raise error
        return Outcome("done", f"{claim.size} bytes", {"rows": 1})

    @property
    def names(self) -> list[str]:
        return [claim.path.name for claim in self.claims]


def durable_handler(results: Path) -> Callable[[Claim], Outcome]:
    """Appends ``sha name`` to ``results`` and fsyncs: the durable effect the crash tests check."""

    def handle(claim: Claim) -> Outcome:
        if claim.path.read_bytes().startswith(b"BAD"):
            raise BadInputFile(f"{claim.path.name} has no header row", hint="Export it again.")
        with open(results, "a", encoding="utf-8") as out:
            out.write(f"{claim.sha256} {claim.path.name}\n")
            out.flush()
            os.fsync(out.fileno())
        return Outcome("done", "ok", {"rows": 1})

    return handle


def crash_run(root: Path) -> None:
    intake = open_intake(root, order_pattern=r"_(?P<seq>\d+)\.csv")
    intake.recover()
    handler = durable_handler(root / "results.txt")
    for candidate in intake.ready(wait=True):
        intake.process(candidate, handler)


if __name__ == "__main__":
    if sys.argv[1:2] == ["crash-run"]:
        crash_run(Path(sys.argv[2]))
    else:
        raise SystemExit("usage: python -m tests.intake_support crash-run ROOT")
