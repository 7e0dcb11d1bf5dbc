"""Files that appear whole or not at all, and never replace another file.

Excel holds open files locked and accountants keep old outbox files, so a published name is
never reused: ``publish`` writes ``.name.tmp``, fsyncs, then links it to a fresh final name.

Every change the connector makes to a folder goes through here (publish, move, rename,
remove), so a dry run can rehearse a whole pass: inside ``rehearsal(scratch)`` published files
land in a scratch folder and moves, renames and removals are only recorded.

The one exception is a page meant to be replaced (``replace_file``), still whole or not at all.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = "."
TMP_SUFFIX = ".tmp"


@dataclass
class Rehearsal:
    """What a rehearsed pass would have done to the folders, in order."""

    scratch: Path
    effects: list[str] = field(default_factory=list)

    def stand_in(self, folder: Path) -> Path:
        """Where a file meant for ``folder`` is written instead (the folder's own name kept)."""
        return self.scratch / (folder.name or "root")


_rehearsing: ContextVar[Rehearsal | None] = ContextVar("rehearsing", default=None)


@contextlib.contextmanager
def rehearsal(scratch: Path) -> Iterator[Rehearsal]:
    """Publish into ``scratch`` and only record moves, renames and removals, until the end."""
    current = Rehearsal(scratch)
    token = _rehearsing.set(current)
    try:
        yield current
    finally:
        _rehearsing.reset(token)


def rehearsing() -> bool:
    """Is a dry run rehearsing the pass? (caches are then neither written nor removed)"""
    return _rehearsing.get() is not None


def remove(path: Path) -> None:
    """Delete a file (one whose identical copy is safe elsewhere)."""
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"remove {path}")
        return
    path.unlink()


def rename(path: Path, new: Path) -> Path:
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"rename {path} to {new.name}")
        return new
    path.rename(new)
    return new


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
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"write {folder / name}")
        folder = rehearsing.stand_in(folder)
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


def replace_file(path: Path, data: bytes) -> Path:
    """Replace ``path`` whole: temp file, fsync, rename over it. For a page that is rewritten
    after every run (the report), where a reader must see the old or the new one, never half."""
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"replace {path}")
        path = rehearsing.stand_in(path.parent) / path.name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f"{TMP_PREFIX}{path.name}.{os.getpid()}{TMP_SUFFIX}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    fsync_dir(path.parent)
    return path


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
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"write {folder / name}")
        folder = rehearsing.stand_in(folder)
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
    folder, recorded = _rehearsed(folder, name, "promote")
    if recorded:
        return True
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
    folder, recorded = _rehearsed(folder, name, "discard")
    if recorded:
        return
    with contextlib.suppress(FileNotFoundError):
        staged_path(folder, name).unlink()


def _rehearsed(folder: Path, name: str, verb: str) -> tuple[Path, bool]:
    """In a rehearsal: a file staged by it is handled in the scratch folder; a real one left by
    an earlier run is only recorded (True). Outside one: the folder itself, nothing recorded."""
    rehearsing = _rehearsing.get()
    if rehearsing is None:
        return folder, False
    scratch = rehearsing.stand_in(folder)
    if staged_path(scratch, name).exists():
        return scratch, False
    rehearsing.effects.append(f"{verb} {staged_path(folder, name)}")
    return folder, True


def move_unique(src: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``src`` into ``folder`` under a name that does not overwrite anything."""
    target = unique_path(folder, name or src.name)
    rehearsing = _rehearsing.get()
    if rehearsing is not None:
        rehearsing.effects.append(f"move {src} to {target}")
        return target
    folder.mkdir(parents=True, exist_ok=True)
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
    removed: list[Path] = []
    if _rehearsing.get() is not None:
        return removed
    if folder.is_dir():
        for path in folder.glob(f"{TMP_PREFIX}*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed
