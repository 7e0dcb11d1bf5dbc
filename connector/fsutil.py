"""Files that appear whole or not at all, and never replace another file.

Excel holds open files locked and accountants keep old outbox files, so a published name is
never reused: ``publish`` writes ``.name.tmp``, fsyncs, then links it to a fresh final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"


def unique_path(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/stem-2.ext``, ``-3`` ... when taken."""
    candidate = folder / name
    stem, suffix = _split(name)
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate


def _split(name: str) -> tuple[str, str]:
    for double in (".error.txt", ".tar.gz"):
        if name.endswith(double):
            return name[: -len(double)], double
    path = Path(name)
    return path.stem, path.suffix


def timestamped_name(prefix: str, suffix: str, when: datetime) -> str:
    return f"{prefix}-{when.strftime('%Y%m%d-%H%M%S')}{suffix}"


def publish(folder: Path, name: str, write: Callable[[BinaryIO], None]) -> Path:
    """Write through ``write`` to a temp file, fsync, then give it a fresh final name."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{TMP_PREFIX}{name}.{os.getpid()}{TMP_SUFFIX}"
    try:
        with open(tmp, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        final = _link_unique(tmp, folder, name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(folder)
    return final


def _link_unique(tmp: Path, folder: Path, name: str) -> Path:
    # os.link fails if the target exists, so two writers can never overwrite each other.
    while True:
        final = unique_path(folder, name)
        try:
            os.link(tmp, final)
            return final
        except FileExistsError:
            continue
        except OSError:
            # File systems without hard links (some SMB shares): replace is still atomic.
            if final.exists():
                continue
            tmp.replace(final)
            return final


STAGED_SUFFIX = ".staged"


def staged_path(folder: Path, name: str) -> Path:
    """Where ``name`` waits, hidden from the ERP, until its commit is recorded elsewhere."""
    return folder / f"{TMP_PREFIX}{name}{STAGED_SUFFIX}"


def stage(folder: Path, name: str, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``name`` whole and durable under its staged (hidden) name; see ``promote``.

    Two-step publishing for files whose commit point must be a database row: stage, record the
    commit, then ``promote``. A crash after the record is finished by promoting again; a
    crash before it leaves only a staged file, which is deleted. Once promoted, the file may
    be moved away by anyone: the record, not the file, says it was written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    staged = staged_path(folder, name)
    with open(staged, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return staged


def promote(folder: Path, name: str) -> bool:
    """Give a staged file its final name (atomic rename); False when nothing was staged.

    The final name is reserved (unique by construction), so replacing is safe; when a final
    file is somehow there already, the staged copy is the same content and is dropped.
    """
    staged, final = staged_path(folder, name), folder / name
    if not staged.exists():
        return False
    if final.exists():
        staged.unlink()
    else:
        staged.replace(final)
    fsync_dir(folder)
    return True


def discard_staged(folder: Path, name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        staged_path(folder, name).unlink()


def move_unique(src: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``src`` into ``folder`` under a name that does not overwrite anything."""
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder, name or src.name)
    try:
        os.link(src, target)
        src.unlink()
    except OSError:
        shutil.move(str(src), str(target))
    fsync_dir(folder)
    return target


def fsync_dir(folder: Path) -> None:
    """Make a rename durable on POSIX; Windows has no directory fsync (and needs none)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def clean_stale_temps(folder: Path) -> list[Path]:
    """Remove temp files a crashed run left behind (they were never published)."""
    removed = []
    if folder.is_dir():
        for path in folder.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
