"""Readiness: is the ERP done writing this file?

No single test is reliable (notes/file-intake.md, pitfall 1), so a file must pass all of them:
old enough since its last change; size and modification time unchanged over ``stable_checks``
checks spaced ``check_interval_seconds`` apart (remembered between scans, in memory); it opens
for reading and no program holds it open for writing (``locks``: what each platform can see);
an ``.xlsx`` is a whole zip, a CSV ends with a line break; and, when ``done_marker`` is on,
``name.done`` or ``name.ok`` sits beside it. An empty file, a CSV whose last line has no line
break (cut short?) or a broken ``.xlsx`` waits ``incomplete_grace`` seconds, then is passed on
so the reader fails it with a clear reason instead of waiting for ever.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from connector.config import IntakeSettings
from connector.intake.locks import SHARING_VIOLATIONS, held_for_writing
from connector.intake.scan import Candidate, marker_paths

ZIP_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
LINE_ENDS = (b"\n", b"\r", b"\n\x00", b"\r\x00", b"\x00\n", b"\x00\r")  # UTF-16 too
DEFAULT_INCOMPLETE_GRACE = 300.0
AGE_MARGIN = 0.02  # seconds past a file's minimum age before looking again (clock granularity)


@dataclass
class _Sighting:
    size: int
    mtime_ns: int
    since: float  # when this size and time were first seen
    last_check: float
    stable: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str = ""


class Readiness:
    """Remembers what each inbox file looked like, so a watcher's scans add up to the checks."""

    def __init__(
        self, settings: IntakeSettings, *, incomplete_grace: float = DEFAULT_INCOMPLETE_GRACE
    ) -> None:
        self.settings = settings
        self.incomplete_grace = max(incomplete_grace, settings.min_age_seconds)
        self._seen: dict[Path, _Sighting] = {}

    def check(self, candidate: Candidate, now: float) -> Verdict:
        sighting = self._observe(candidate, now)
        verdict = self._judge(candidate, sighting, now)
        sighting.reason = verdict.reason
        return verdict

    def forget_except(self, present: set[Path]) -> None:
        """Drop files no longer listed (processed, renamed, removed)."""
        for path in set(self._seen) - present:
            del self._seen[path]

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def waiting(self) -> dict[Path, str]:
        """Files seen but not ready yet, with the reason in plain words."""
        return {path: seen.reason for path, seen in self._seen.items() if seen.reason}

    def next_check_in(self, now: float) -> float:
        """Seconds until a waiting file may pass: when its next stability check counts, or the
        moment it reaches its minimum age (a scan a moment early would cost a whole interval),
        else the check interval (a lock, a marker, a cut-short file)."""
        settings = self.settings
        due = [settings.check_interval_seconds]
        for seen in self._seen.values():
            if not seen.reason:
                continue
            if seen.stable < settings.stable_checks:
                due.append(seen.last_check + settings.check_interval_seconds - now)
            elif (left := settings.min_age_seconds - _age(seen, now)) > 0:
                due.append(left + AGE_MARGIN)
        return max(min(due), AGE_MARGIN)

    def _observe(self, candidate: Candidate, now: float) -> _Sighting:
        seen = self._seen.get(candidate.path)
        if seen is None or (seen.size, seen.mtime_ns) != (candidate.size, candidate.mtime_ns):
            seen = _Sighting(candidate.size, candidate.mtime_ns, since=now, last_check=now)
            self._seen[candidate.path] = seen
        elif now - seen.last_check >= 0.9 * self.settings.check_interval_seconds:
            # Only checks spaced by the interval count: a burst of events proves nothing.
            seen.stable += 1
            seen.last_check = now
        return seen

    def _judge(self, candidate: Candidate, seen: _Sighting, now: float) -> Verdict:
        age = _age(seen, now)
        settings = self.settings
        if age < settings.min_age_seconds:
            return Verdict(
                False,
                f"changed {age:.0f} s ago; waits until it is {settings.min_age_seconds:g} s old",
            )
        if seen.stable < settings.stable_checks:
            return Verdict(False, "checking that its size and time have stopped changing")
        if settings.done_marker and not marker_paths(candidate.path):
            name = candidate.path.name
            return Verdict(False, f"waiting for its done marker {name}.done or {name}.ok")
        locked = _open_problem(candidate.path) or held_for_writing(candidate.path)
        if locked:
            return Verdict(False, locked)
        incomplete = _incomplete(candidate)
        # Counted like the minimum age (file time or our own sightings, the larger): a scheduled
        # `once` keeps no sightings between runs, so an old empty file must not wait forever.
        if incomplete and age < self.incomplete_grace:
            return Verdict(
                False,
                f"{incomplete}; waits up to {self.incomplete_grace:g} s for the ERP to finish it",
            )
        return Verdict(True)


def _age(seen: _Sighting, now: float) -> float:
    """Seconds since the last change: the file's own time, or how long it has looked the same.

    A file server's clock may run ahead of ours; a time in the future counts as "just now".
    """
    by_mtime = now - seen.mtime_ns / 1e9
    by_sighting = now - seen.since
    return max(by_sighting, by_mtime) if by_mtime >= 0 else by_sighting


def _open_problem(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except PermissionError as exc:
        if getattr(exc, "winerror", None) in SHARING_VIOLATIONS:
            return "open in another program (the ERP may still be writing it)"
        return "cannot be opened for reading yet (permission denied)"
    except OSError as exc:
        return f"cannot be opened for reading yet ({exc.strerror or exc})"
    return ""


def _incomplete(candidate: Candidate) -> str:
    if candidate.size == 0:
        return "the file is empty"
    suffix = candidate.path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return _cut_short(candidate.path)
    if suffix not in ZIP_SUFFIXES:
        return ""
    try:
        # Opening reads the central directory, written last: a half-copied workbook fails here.
        with zipfile.ZipFile(candidate.path) as archive:
            archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return "the workbook is not a complete .xlsx (zip) file yet"
    return ""


def _cut_short(path: Path) -> str:
    """A text file whose last line has no line break may be cut mid-value ("1005,50" -> "10")."""
    try:
        with open(path, "rb") as handle:
            handle.seek(-2, 2)
            end = handle.read(2)
    except OSError:
        return ""  # a one-byte file, or gone: the reader decides
    if end.endswith(LINE_ENDS[:2]) or end in LINE_ENDS:
        return ""
    return "its last line has no line break (the file may be cut short)"
