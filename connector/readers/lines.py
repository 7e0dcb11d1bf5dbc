"""The whole rows of a CSV read for its mapped columns, cut out of the file again on demand.

A narrow read (``connector.readers.csv_narrow``) parses only the mapped columns; a rejects
report still shows each rejected row exactly as written. While the read runs, those rows are
cut out of the file's bytes in memory. Once it is done (``LineSource.detached``) the bytes are
let go (79 MB on a 1M-row export, kept until the end of the file's way before) and a later
request (ingest's "not in the Alephee catalog" rows) reads the file again, in blocks.

The file is the one that was parsed only if nothing changed it: its size and modification
time are those of the read, and the CRC-32 of all its bytes (taken while they were in memory)
matches. Otherwise ``BadInputFile``: the rows the report would show are not the ones read, so
the file is refused as a whole (nothing of it is queued yet when ingest asks).

Lines end as Arrow's reader ends them: CR LF, LF, or a lone CR. A body without quotes is the
only kind read narrowly, so a record is exactly one physical line.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from connector.errors import BadInputFile

BLOCK = 1 << 23  # bytes read at a time when the file is read again


@dataclass(frozen=True)
class Stamp:
    """The file as it was read: its size and modification time."""

    size: int
    mtime_ns: int


def read_stamped(path: Path) -> tuple[bytes, Stamp]:
    """The file's bytes, and its stamp taken from the same open file."""
    with path.open("rb") as handle:
        data = handle.read()
        stat = os.fstat(handle.fileno())
    return data, Stamp(len(data), stat.st_mtime_ns)


@dataclass(frozen=True, eq=False)
class LineSource:
    """The body's physical lines (bytes ``begin``..``end`` of the file, starting at line
    ``first_line``), split into ``width`` fields at ``delimiter``. ``data``: the file's bytes
    while they are kept; else the file at ``path`` is read again, and must still be the one
    ``stamp`` and ``crc`` describe."""

    path: Path
    stamp: Stamp | None  # None: ``data`` is not the file's own bytes (a transcoded UTF-16)
    begin: int
    end: int
    first_line: int
    codec: str
    delimiter: str
    width: int
    data: bytes | None = field(default=None, repr=False)
    crc: int = 0  # of the whole file, once detached

    def detached(self) -> LineSource:
        """The same lines, the bytes let go (read again from the file when asked for). The
        CRC-32 of the bytes, taken now, tells the same file later (0.03 s per 80 MB)."""
        if self.stamp is None or self.data is None:
            return self  # bytes that are not the file's must stay
        return replace(self, data=None, crc=zlib.crc32(self.data))

    def cells_at(self, lines: Sequence[int]) -> Iterator[tuple[str, ...]]:
        """The fields of each of ``lines`` (ascending lines of the body that exist)."""
        wanted = np.asarray(lines, dtype=np.int64) - self.first_line
        if self.data is not None:
            texts = _cut(self.data, self.begin, self.end, wanted)
        else:
            texts = self._read_again(wanted)
        for raw in texts:
            fields = raw.decode(self.codec).rstrip("\r\n").split(self.delimiter)[: self.width]
            yield tuple(fields + [""] * (self.width - len(fields)))

    def _read_again(self, wanted: npt.NDArray[np.int64]) -> list[bytes]:
        try:
            with self.path.open("rb") as handle:
                stat = os.fstat(handle.fileno())
                if self.stamp != Stamp(stat.st_size, stat.st_mtime_ns):
                    raise _changed(self.path)
                found, crc = _scan(handle, self.begin, self.end, wanted)
        except OSError as error:
            raise _changed(self.path, f" ({error.strerror or error})") from None
        if crc != self.crc:
            raise _changed(self.path)
        return found


def _changed(path: Path, why: str = "") -> BadInputFile:
    return BadInputFile(
        f"{path.name} changed while the connector was reading it{why}; nothing from it was used",
        hint="let the ERP finish writing the file, then drop it again",
    )


def _cut(
    data: bytes | memoryview, begin: int, end: int, wanted: npt.NDArray[np.int64]
) -> list[bytes]:
    """Lines ``wanted`` (indices into the lines of ``data[begin:end]``, ascending)."""
    starts = line_starts(data, begin, end)
    return [bytes(data[starts[i] : starts[i + 1]]) for i in wanted.tolist()]


def line_starts(data: bytes | memoryview, begin: int, end: int) -> npt.NDArray[np.int64]:
    """Where each physical line of ``data[begin:end]`` starts, then ``end`` (CR LF, LF or a
    lone CR ends a line), found a block at a time: bounded temporary memory."""
    buffer = np.frombuffer(data, dtype=np.uint8, count=end - begin, offset=begin)
    found = [np.array([begin], dtype=np.int64)]
    for start in range(0, len(buffer), BLOCK):
        block = buffer[start : start + BLOCK + 1]  # one byte more: a CR's next byte
        own = min(BLOCK, len(buffer) - start)
        is_lf = block == 10
        carriage = np.flatnonzero(block[:own] == 13)
        after = carriage + 1
        lone = carriage[(after >= len(block)) | ~is_lf[np.minimum(after, len(block) - 1)]]
        breaks = np.flatnonzero(is_lf[:own])
        if len(lone):  # lone CRs (old Mac files) end lines too
            breaks = np.sort(np.concatenate((breaks, lone)))
        found.append(breaks.astype(np.int64) + (begin + start + 1))
    starts = np.concatenate(found)
    if starts[-1] != end:
        starts = np.append(starts, end)
    return starts


def _scan(
    handle: BinaryIO, begin: int, end: int, wanted: npt.NDArray[np.int64]
) -> tuple[list[bytes], int]:
    """Read the whole file a block at a time: its CRC-32, and lines ``wanted`` of bytes
    ``begin``..``end`` (a line cut by a block is carried into the next)."""
    crc, offset = 0, 0  # offset: where the next block starts in the file
    found: list[bytes] = []
    pending = b""  # the unfinished last line of the body read so far
    line = 0  # the index of the line ``pending`` starts
    targets, nxt = wanted.tolist(), 0
    while block := handle.read(BLOCK):
        crc = zlib.crc32(block, crc)
        block_start, offset = offset, offset + len(block)
        low, high = max(begin, block_start), min(end, offset)
        if low >= high:
            continue
        chunk = pending + block[low - block_start : high - block_start]
        starts = line_starts(chunk, 0, len(chunk))
        # Before the end of the body, the last line may go on, and a final CR may be half a CR LF.
        whole = high == end or chunk.endswith(b"\n")
        complete = len(starts) - 1 if whole else len(starts) - 2
        while nxt < len(targets) and targets[nxt] < line + complete:
            index = targets[nxt] - line
            found.append(chunk[int(starts[index]) : int(starts[index + 1])])
            nxt += 1
        pending, line = chunk[int(starts[complete]) :], line + complete
    return found, crc
