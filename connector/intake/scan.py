"""Discovery: which files in the inbox are candidates, in which order, and how old their data is.

Only the inbox itself is listed (no sub-folders). Temp, partial and Office helper files are
skipped by the ``ignore`` patterns, and done markers always are: they belong to another file.
Order comes from the file name when ``order_pattern`` says how (a sequence number or a date and
time the ERP wrote there), else from the modification time, then the name.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path

from connector.errors import ConfigError

log = logging.getLogger(__name__)

MARKER_SUFFIXES = (".done", ".ok")
OrderKey = tuple[int, int, int, str]
# as_of of a file ordered by sequence number only: a fixed origin plus the number, so that
# "newer" means "higher sequence" (and such files sort before dated ones, as in the order key).
SEQ_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    """An inbox file as it was last seen. ``as_of`` is when the ERP exported it (UTC)."""

    path: Path
    size: int
    mtime_ns: int
    as_of: datetime
    order_key: OrderKey


class NameOrder:
    """Reads ``seq``, ``date`` (YYYYMMDD) and ``time`` (HHMMSS) groups from file names."""

    def __init__(self, pattern: str | None, zone: tzinfo) -> None:
        self.zone = zone
        self.regex: re.Pattern[str] | None = None
        if pattern:
            try:
                self.regex = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ConfigError(
                    f"intake.order_pattern is not a valid regular expression: {exc}"
                ) from None
            groups = set(self.regex.groupindex)
            if not groups & {"seq", "date"}:
                raise ConfigError(
                    "intake.order_pattern needs a (?P<seq>...) or a (?P<date>...) group, "
                    r"for example stock_(?P<seq>\d+)\.csv or (?P<date>\d{8})(?P<time>\d{6})?"
                )

    def place(self, name: str, mtime_ns: int) -> tuple[datetime, OrderKey]:
        """``as_of`` and the sort key; files the pattern does not fit sort after those it does."""
        mtime = datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC)
        found = self.regex.search(name) if self.regex else None
        if found is None:
            return mtime, (1, mtime_ns, 0, name)
        groups = found.groupdict()
        seq = int(groups["seq"]) if groups.get("seq") else 0
        stamp = self._stamp(groups.get("date"), groups.get("time"), name)
        if stamp is None and groups.get("seq"):
            # Sequence only: the number, not the file time, says which export is newer.
            return SEQ_EPOCH + timedelta(seconds=seq), (0, 0, seq, name)
        if stamp is None:
            return mtime, (1, mtime_ns, 0, name)
        return stamp, (0, int(stamp.timestamp()), seq, name)

    def _stamp(self, day: str | None, clock: str | None, name: str) -> datetime | None:
        if not day:
            return None
        try:
            naive = datetime.strptime(day + (clock or "000000"), "%Y%m%d%H%M%S")  # noqa: DTZ007
        except ValueError:
            log.warning(
                "%s: %s is not a valid date and time; ordering it by its file time", name, day
            )
            return None
        # The ERP writes its local time into names; the schedule's time zone is the site's.
        return naive.replace(tzinfo=self.zone).astimezone(UTC)


def is_ignored(name: str, patterns: Sequence[str]) -> bool:
    """Case-insensitive, as on Windows: ``~$STOCK.XLSX`` is an Office owner file too."""
    lowered = name.lower()
    if lowered.endswith(MARKER_SUFFIXES):
        return True
    return any(fnmatch.fnmatchcase(lowered, pattern.lower()) for pattern in patterns)


def list_inbox(inbox: Path, ignore: Sequence[str], order: NameOrder) -> list[Candidate] | None:
    """Every candidate file, sorted; ``None`` when the inbox itself cannot be listed (an outage)."""
    try:
        entries = list(os.scandir(inbox))
    except OSError:
        return None
    found = []
    for entry in entries:
        if is_ignored(entry.name, ignore):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # gone between listing and stat: the next scan decides
        as_of, key = order.place(entry.name, info.st_mtime_ns)
        found.append(Candidate(Path(entry.path), info.st_size, info.st_mtime_ns, as_of, key))
    return sorted(found, key=lambda candidate: candidate.order_key)


def marker_paths(path: Path) -> list[Path]:
    """The done markers an ERP may write beside ``path`` (``stock.csv.done``, ``stock.csv.ok``)
    that exist. A name too long to have a marker (NAME_MAX) has none, rather than an error."""
    found = []
    for suffix in MARKER_SUFFIXES:
        marker = path.with_name(path.name + suffix)
        try:
            if marker.is_file():
                found.append(marker)
        except OSError:
            continue
    return found
