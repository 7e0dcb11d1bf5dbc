"""How many ``<row``, ``<c r="`` and ``<c`` a chunk of sheet XML holds, and whether it has a
``<f``, in one pass over its ``<`` characters.

The scan (``xlsx_scan``) asked ``bytes.count`` and ``in`` for each of them: four passes over
every 4 MB chunk, 0.1 s of its 0.27 s on a 100k-row sheet (measured); CPython's substring
search is slow where the first byte (``<``) is everywhere. Each tag starts with ``<``, so no
two occurrences overlap and counting ``<`` positions by the bytes after them gives exactly
what ``bytes.count`` gives (``tests/test_reader_scan_tags.py`` holds them to it): a quarter
of the time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

_PAD = bytes(8)  # zero bytes after the chunk: a look past its end matches nothing


class TagCounts(NamedTuple):
    rows: int  # b"<row"
    usual_cells: int  # b'<c r="'
    c_tags: int  # b"<c": cells, and <cols>, <col>
    formulas: bool  # b"<f" somewhere


def tag_counts(segment: bytes) -> TagCounts:
    padded = np.frombuffer(segment + _PAD, dtype=np.uint8)
    opens = np.flatnonzero(padded[: len(segment)] == ord("<"))
    after = padded[opens + 1]
    c_tags = opens[after == ord("c")]
    rows = opens[after == ord("r")]
    return TagCounts(
        rows=_followed_by(padded, rows, b"ow"),
        usual_cells=_followed_by(padded, c_tags, b' r="'),
        c_tags=len(c_tags),
        formulas=bool((after == ord("f")).any()),
    )


def _followed_by(padded: npt.NDArray[np.uint8], starts: npt.NDArray[np.intp], text: bytes) -> int:
    """How many of ``starts`` (each ``<`` and one letter) have ``text`` right after them."""
    match = np.ones(len(starts), dtype=bool)
    for offset, byte in enumerate(text, start=2):
        match &= padded[starts + offset] == byte
    return int(match.sum())
