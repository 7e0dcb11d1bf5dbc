"""Reading the next export while it settles (issue 14: the second ``once``).

``once`` waits for a new file to pass its stability checks (two checks a second apart by
default). Meanwhile a thread loads the data path and reads and validates the first products
CSV in processing order. The pass uses that read only when the content it then claims is the
content read: the file's sha256 before and after the read, both equal to the claim's, the
same size and modification time (the reader cuts rejected rows out of the file again later,
checking both), and the same mapping. Anything else (a file still being written, another
mapping, an error) leaves the file to the ordinary read after the claim, which reports any
problem as it always does.

Crash counting: the intake counts the attempts that died on a file (``max_read_attempts``,
then a read in a separate process). A read ahead comes before the claim, so a file that kills
the reader could kill every run uncounted. A marker in ``state/read-ahead/`` names the file
while it is read ahead; a marker left by a run that died means: never ahead for that file
again (same path, size and time), and the ordinary path counts its attempts.

Only CSV is read ahead: an XLSX is read in forked children, and those are not forked from a
thread. Only one file, so a pass never holds two exports in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connector.config import Config
from connector.intake.crashpoints import crashpoint
from connector.intake.ledger import sha256_of
from connector.intake.scan import Candidate

if TYPE_CHECKING:
    from connector.readers.export import Export
    from connector.readers.mapping import ProductMapping

log = logging.getLogger(__name__)
FOLDER = "read-ahead"


@dataclass(frozen=True)
class _Read:
    path: Path
    sha256: str
    stamp: tuple[int, int]  # size and modification time: the reader checks them again later
    export: Export


class ReadAhead:
    """One export read on a thread while the files settle; ``take`` it after the claim."""

    def __init__(
        self,
        config: Config,
        *,
        claimed: Iterable[Path] = (),
        warm_up: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.folder = config.folders.state / FOLDER
        self._claimed = set(claimed)  # an interrupted claim: the intake's careful path decides
        self._warm_up = warm_up
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._reading: Path | None = None
        self._late = False  # a claim came first: reading now would be an uncounted attempt
        self._read: _Read | None = None
        self._warmed = threading.Event()

    def start(self, waiting: list[Candidate]) -> None:
        """Called while ``waiting`` (in processing order) settle: warm up, then read ahead."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, args=(list(waiting),), name="read-ahead"
            )
            self._thread.start()

    def take(self, path: Path, sha256: str, mapping: ProductMapping | None) -> Export | None:
        """The export read ahead for this claimed content, else None (read it now). Called after
        the claim: from then on no read starts ahead (it would be an attempt the claim did not
        count), only one already under way is waited for."""
        with self._lock:
            self._late = True  # not yet reading: the caller reads it, after its claim
            reading = self._reading
        if self._thread is not None and reading in (None, path):
            self._thread.join()  # still warming up (needed anyway), or reading this very file
        read, self._read = self._read, None
        if read is None or read.path != path:
            self._read = read  # another file's: kept for its turn
            return None
        if (read.sha256, read.stamp) != (sha256, _stamp(path)) or read.export.mapping != mapping:
            log.debug("%s changed since it was read ahead; reading it again", path.name)
            return None
        return read.export

    def warmed(self) -> None:
        """Until the warm-up's imports are done, if it started: the pass then imports nothing
        at the same time as the thread (two threads importing may meet a circular import)."""
        if self._thread is not None:
            self._warmed.wait()

    def wait(self) -> None:
        """Until the thread is done (warm-up and read)."""
        if self._thread is not None:
            self._thread.join()

    def close(self) -> None:
        """End of the pass: wait for the thread (never leave it reading at exit), drop the rest."""
        self.wait()
        self._read = None

    def _work(self, waiting: list[Candidate]) -> None:
        try:
            try:
                self._warm_up()
            finally:
                self._warmed.set()
            chosen = self._choose(waiting)
            if chosen is None:
                return
            candidate, mapping = chosen
            with self._lock:
                if self._late:
                    return
                self._reading = candidate.path
            self._read = self._read_marked(candidate, mapping)
        except Exception:  # only a head start: the ordinary read reports any problem
            log.debug("reading ahead stopped; the file is read after its claim", exc_info=True)

    def _choose(self, waiting: list[Candidate]) -> tuple[Candidate, ProductMapping] | None:
        """The first waiting file the products handler will read in this process, if any."""
        from connector.documents.stage import without_documents
        from connector.readers.guard import file_kind
        from connector.readers.mapping import load_mappings, match_mapping
        from connector.shipping.stage import mappings_for

        died = self._died_before({c.path: c for c in waiting})
        status_mappings = mappings_for(self.config)
        mappings = load_mappings(self.config.folders.mappings)
        for candidate in without_documents(self.config, waiting):
            path = candidate.path
            if path in self._claimed or _key(candidate) in died:
                return None  # the file processed first is not ours to read ahead
            if match_mapping(path, status_mappings) is not None:
                continue  # a status file: small, read by the shipping stage
            mapping = match_mapping(path, mappings)
            if mapping is None or file_kind(path) != "csv":
                return None
            return candidate, mapping
        return None

    def _read_marked(self, candidate: Candidate, mapping: ProductMapping) -> _Read | None:
        from connector.readers import read_export

        path = candidate.path
        marker = self.folder / f"{_key(candidate)}.txt"
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_durably(marker, f"{path}\n{candidate.size}\n{candidate.mtime_ns}\n")
        try:
            stamp, before = _stamp(path), sha256_of(path)
            crashpoint("readahead.reading")
            export = read_export(path, mapping, memory_mb=self.config.intake.read_memory_mb)
            same = (_stamp(path), sha256_of(path)) == (stamp, before)
        finally:
            marker.unlink(missing_ok=True)  # left only when the process died reading
        return _Read(path, before, stamp, export) if same else None

    def _died_before(self, present: dict[Path, Candidate]) -> set[str]:
        """Markers left by runs that died reading ahead; forgets those whose file is gone."""
        died: set[str] = set()
        for marker in self.folder.glob("*.txt") if self.folder.is_dir() else ():
            still_there = any(_key(c) == marker.stem for c in present.values())
            if still_there:
                died.add(marker.stem)
            else:
                marker.unlink(missing_ok=True)
        return died


def _stamp(path: Path) -> tuple[int, int]:
    """Size and modification time: the same content written again (a new time) is read again,
    as the reader checks both when it cuts rejected rows out of the file later."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def _key(candidate: Candidate) -> str:
    """The file as it was when read ahead: a new export (new size or time) is a new key."""
    text = f"{candidate.path}|{candidate.size}|{candidate.mtime_ns}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
