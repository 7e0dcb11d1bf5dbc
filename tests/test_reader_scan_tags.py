"""The scan's tag counts (``xlsx_tags``) are exactly what ``bytes.count`` and ``in`` say, for
any bytes: the grid guard's cell and row counts rest on them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.readers.xlsx_tags import tag_counts

PIECES = [b"<", b"c", b' r="', b"r", b"ow", b"<row", b'<c r="', b"<c", b"<f", b"<cols>", b"A1"]
PIECES += [b'"', b" ", b"=", b"o", b"w", b"f", b"\0", b"\xff"]
XML = st.lists(st.sampled_from(PIECES), max_size=60).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(XML, st.binary(max_size=80)))
def test_tag_counts_are_what_bytes_count_says(segment: bytes) -> None:
    counts = tag_counts(segment)
    assert counts.rows == segment.count(b"<row")
    assert counts.usual_cells == segment.count(b'<c r="')
    assert counts.c_tags == segment.count(b"<c")
    assert counts.formulas == (b"<f" in segment)


def test_a_tag_cut_at_the_end_of_the_chunk_is_not_counted() -> None:
    assert tag_counts(b'<row r="1"><c r').usual_cells == 0
    assert tag_counts(b"<ro") == (0, 0, 0, False)
    assert tag_counts(b"") == (0, 0, 0, False)
