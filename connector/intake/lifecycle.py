"""Where a file goes after processing: ``archive/YYYY-MM-DD/`` or ``failed/`` with a report.

Order of operations (each step durable before the next), and what a restart does after a kill
between two steps:

    1. claim row written            -> the file is still in the inbox: processed again (idempotent)
    2. callback done and committed  -> same: the claim is taken up again
    3. outcome + planned target     -> ``settle`` moves the file to the planned target
    4. file moved                   -> ``settle`` finds it at the target (or by sha256)
    5. report written, row settled  -> nothing left to do

``settle`` is idempotent, so it serves both the normal path and recovery. Nothing is deleted,
except an inbox file whose identical copy already sits at its target (a move cut in half).
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import BinaryIO

from connector.fsutil import move_unique, publish, remove, unique_path
from connector.intake.crashpoints import crashpoint
from connector.intake.ledger import Ledger, LedgerEntry, sha256_of
from connector.intake.scan import marker_paths
from connector.redact import redact

log = logging.getLogger(__name__)

REPORT_SUFFIX = ".error.txt"
NAME_MAX = 255
WINDOWS_PATH_MAX = 259
TEMP_ROOM = 16  # publish() writes ".<name>.<pid>.tmp" first
DEFAULT_HINT = (
    "Correct the file (or its mapping in the mappings folder) and drop it into the inbox again. "
    "'connector check' tests a mapping against a file before you do."
)


@dataclass(frozen=True)
class Destinations:
    archive: Path
    failed: Path
    zone: tzinfo  # the site's time zone: the archive folder is the operator's processing day

    def target(self, status: str, name: str, now: datetime) -> Path:
        if status == "failed":
            folder = self.failed
        else:
            folder = self.archive / now.astimezone(self.zone).date().isoformat()
        return unique_path(folder, fitted_name(folder, name, room=len(REPORT_SUFFIX) + 4))


def fitted_name(folder: Path, name: str, *, room: int = 0) -> str:
    """``name``, or a shorter one that still fits the file system with ``room`` characters to
    spare (a report suffix, a collision number): NAME_MAX is 255 bytes, and a Windows path,
    shares included, 259 characters. The cut keeps the start, the extension and a hash of
    the whole name, so two long names never shorten to the same one."""
    limit = NAME_MAX - TEMP_ROOM - room
    if os.name == "nt":
        limit = min(limit, WINDOWS_PATH_MAX - len(str(folder)) - 1 - TEMP_ROOM - room)
    if len(name.encode("utf-8")) <= limit:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix) <= 16 else ""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    stem = name[: len(name) - len(suffix)]
    budget = max(limit - len(suffix.encode("utf-8")) - len(digest) - 1, 1)
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return f"{cut}~{digest}{suffix}"


def settle(ledger: Ledger, entry: LedgerEntry, destinations: Destinations) -> Path | None:
    """Bring a finished entry's file (and its done markers) to the planned target; record it."""
    assert entry.final_path is not None, "a finished entry always has a planned target"
    final = _place_file(entry, entry.final_path)
    crashpoint("intake.after_move")
    if final is None:
        log.warning(
            "%s was %s, but the file is neither in the inbox nor in %s; its data was "
            "processed, only the file itself is missing",
            entry.name,
            entry.status,
            entry.final_path.parent,
        )
        ledger.settle(entry.id, None, detail=entry.detail + " (file missing after processing)")
        return None
    _move_markers(entry.path, final)
    if entry.status == "failed":
        _ensure_report(entry, final, destinations.zone)
    ledger.settle(entry.id, final)
    return final


def _place_file(entry: LedgerEntry, target: Path) -> Path | None:
    source = entry.path
    if source.exists() and _same_content(source, entry):
        if target.exists() and _same_content(target, entry):
            remove(source)  # the move was cut in half: the copy at the target is whole
            return target
        return move_unique(source, target.parent, target.name)
    if target.exists() and _same_content(target, entry):
        return target
    return _find_by_content(target.parent, entry)


def _same_content(path: Path, entry: LedgerEntry) -> bool:
    try:
        info = path.stat()
        if info.st_size != entry.size:
            return False
        if info.st_mtime_ns == entry.mtime_ns:
            return True  # moves keep the time; hashing again would cost a full read
        return sha256_of(path) == entry.sha256
    except OSError:
        return False


def _find_by_content(folder: Path, entry: LedgerEntry) -> Path | None:
    """The file left the inbox but its new name was not recorded: look for it by sha256."""
    if not folder.is_dir():
        return None
    # Only this file's own name and its collision variants: an identical earlier copy (the
    # original of a duplicate) must not be taken for it.
    names = [entry.name] + ([entry.final_path.name] if entry.final_path else [])
    for name in dict.fromkeys(names):  # the planned name may be a shortened one
        stem, suffix = Path(name).stem, Path(name).suffix
        for path in sorted(folder.glob(f"{glob.escape(stem)}*{glob.escape(suffix)}")):
            if path.is_file() and _same_content(path, entry):
                return path
    return None


def _move_markers(source: Path, final: Path) -> None:
    for marker in marker_paths(source):
        suffix = marker.name[len(source.name) :]
        move_unique(marker, final.parent, final.name + suffix)


def report_name(final: Path) -> str:
    """``<name>.error.txt``, shortened when that would be too long (see ``fitted_name``)."""
    return fitted_name(final.parent, final.name, room=len(REPORT_SUFFIX)) + REPORT_SUFFIX


def _ensure_report(entry: LedgerEntry, final: Path, zone: tzinfo) -> None:
    name = report_name(final)
    if (final.parent / name).exists():
        return
    text = error_report(entry, final, zone).replace("\n", "\r\n")  # readable in old Notepad too

    def write(handle: BinaryIO) -> None:
        handle.write(text.encode("utf-8-sig"))

    publish(final.parent, name, write)


def error_report(entry: LedgerEntry, final: Path, zone: tzinfo) -> str:
    """The plain-language note left beside a failed file."""
    when = (entry.finished_at or entry.claimed_at).astimezone(zone)
    lines = [
        f"File: {entry.name}",
        f"Moved to: {final}",
        f"When: {when:%Y-%m-%d %H:%M:%S} ({zone})",
        f"SHA-256: {entry.sha256}",
        "",
        "What is wrong:",
        f"  {entry.detail}",
        "",
        "What to do:",
        f"  {entry.hint or DEFAULT_HINT}",
        "",
    ]
    return redact("\n".join(lines))
