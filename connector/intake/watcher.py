"""The inbox watcher: file-system events as hints that wake the intake loop early.

Events are never trusted for correctness (they are lost in bursts, absent on network shares,
and stop when a share drops: notes/file-intake.md, pitfalls 2 to 7); the intake's full scan at
start-up and every ``rescan_seconds`` is what finds files. This module only makes a drop
noticed within seconds, and keeps doing so: a supervisor thread re-creates the observer when
its threads die or the inbox folder disappears and comes back (a share outage, which is never
read as "the files were deleted").
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import Literal

from watchdog.events import (
    DirModifiedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from connector.config import IntakeSettings

log = logging.getLogger(__name__)

ObserverKind = Literal["native", "polling"]
NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "afs", "9p", "ncpfs", "fuse.sshfs", "davfs"}
)
# Our own reads (readiness probe, hashing) raise opened/closed-no-write events: not listened to.
WAKING_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirModifiedEvent,
]


def choose_observer(
    inbox: Path | str, setting: str = "auto", *, mounts: str | None = None
) -> ObserverKind:
    """Polling for network shares (native events do not cross them), else the OS observer."""
    if setting in ("native", "polling"):
        return "polling" if setting == "polling" else "native"
    text = str(inbox)
    if text.startswith(("\\\\", "//")):
        return "polling"  # UNC path: \\server\share\inbox
    if sys.platform == "win32":
        return "polling" if _windows_remote_drive(Path(inbox)) else "native"
    if mounts is None and sys.platform.startswith("linux"):
        try:
            mounts = Path("/proc/mounts").read_text(encoding="utf-8", errors="replace")
        except OSError:
            mounts = ""
    return "polling" if mount_type(Path(inbox), mounts or "") in NETWORK_FILESYSTEMS else "native"


def mount_type(path: Path, mounts: str) -> str:
    """The file-system type of the mount holding ``path``, from /proc/mounts text."""
    target = str(path.absolute())
    best, best_type = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = _unescape(fields[1])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fields[2]
    return best_type


def _unescape(field: str) -> str:
    # /proc/mounts writes a space as \040, a tab as \011, a backslash as \134.
    return field.encode("latin-1").decode("unicode_escape")


if sys.platform == "win32":
    import ctypes

    def _windows_remote_drive(path: Path) -> bool:
        root = path.absolute().drive + "\\"
        return bool(ctypes.windll.kernel32.GetDriveTypeW(root) == 4)  # DRIVE_REMOTE


class _Wake(FileSystemEventHandler):
    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._event.set()


class Watcher:
    """``with Watcher(inbox, settings) as w: while ...: w.wait(timeout); intake.ready(...)``."""

    def __init__(
        self, inbox: Path, settings: IntakeSettings, *, health_interval: float = 1.0
    ) -> None:
        self.inbox = inbox
        self.kind = choose_observer(inbox, settings.observer)
        self.poll_interval = max(1.0, settings.check_interval_seconds)
        self.health_interval = health_interval
        self.healthy = False
        self.restarts = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._identity: tuple[int, int] | None = None
        self._supervisor: threading.Thread | None = None
        self._outage_logged = False

    def start(self) -> None:
        if self._supervisor is not None:
            return
        self._stopping.clear()
        self._check()  # watching before start() returns: a drop right after is not missed
        self._supervisor = threading.Thread(
            target=self._supervise, name="connector-inbox-watcher", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join()
            self._supervisor = None
        with self._lock:
            self._stop_observer()
        self.healthy = False

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True when a file-system event cut it short."""
        woken = self._wake.wait(timeout)
        self._wake.clear()
        return woken

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _supervise(self) -> None:
        while not self._stopping.wait(self.health_interval):
            try:
                self._check()
            except Exception as exc:  # the supervisor must outlive anything the observer throws
                log.warning("the inbox watcher hit an unexpected error (%s); retrying", exc)
                log.info("details of the inbox watcher error", exc_info=True)

    def _check(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            identity = _folder_identity(self.inbox)
            if identity is None:
                self._outage()
                return
            if self._observer is not None and identity == self._identity and self._alive():
                return
            if self._observer is not None:
                log.warning("the watcher of %s stopped; starting it again", self.inbox)
                self._stop_observer()
                self.restarts += 1
            self._start_observer(identity)

    def _outage(self) -> None:
        if not self._outage_logged:
            log.warning(
                "the inbox folder %s is not reachable (missing, or the share is "
                "disconnected); watching again as soon as it is back",
                self.inbox,
            )
            self._outage_logged = True
        self._stop_observer()
        self.healthy = False

    def _start_observer(self, identity: tuple[int, int]) -> None:
        observer: BaseObserver = (
            PollingObserver(timeout=self.poll_interval) if self.kind == "polling" else Observer()
        )
        try:
            observer.schedule(
                _Wake(self._wake), str(self.inbox), recursive=False, event_filter=WAKING_EVENTS
            )
            observer.start()
        except OSError as exc:
            _halt(observer)
            if self.kind == "native":
                # e.g. the inotify watch limit: polling always works, only slower.
                log.warning(
                    "native watching of %s is unavailable (%s); polling instead",
                    self.inbox,
                    exc.strerror or exc,
                )
                self.kind = "polling"
                self._start_observer(identity)
            elif not self._outage_logged:
                log.warning("cannot watch %s yet (%s); retrying", self.inbox, exc.strerror or exc)
                self._outage_logged = True
            return
        self._observer, self._identity = observer, identity
        if self._outage_logged:
            log.info("the inbox folder %s is back; watching it again", self.inbox)
            self._outage_logged = False
            self._wake.set()  # files may have arrived while it was away: rescan now
        self.healthy = True

    def _alive(self) -> bool:
        observer = self._observer
        return (
            observer is not None
            and observer.is_alive()
            and all(emitter.is_alive() for emitter in observer.emitters)
        )

    def _stop_observer(self) -> None:
        if self._observer is not None:
            _halt(self._observer)
        self._observer, self._identity = None, None


def _halt(observer: BaseObserver) -> None:
    observer.stop()
    if observer.is_alive():
        observer.join(timeout=10)


def _folder_identity(folder: Path) -> tuple[int, int] | None:
    """Device and inode: a folder deleted and made again is a new folder to watch."""
    try:
        info = folder.stat()
    except OSError:
        return None
    if not folder.is_dir():
        return None
    return info.st_dev, info.st_ino
