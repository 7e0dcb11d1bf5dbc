"""Numbers written as text, parsed exactly and vectorised: ``"1.234,50"`` -> 12_345_000 (x 10^4).

Prices travel as integers of ten-thousandths (Alephee allows at most 4 decimals), so a price
read today compares exactly with the one accepted yesterday; no float ever holds a price.

Parsing is whole-column work on the column's own Arrow strings, never per row in Python. A
stock column of plain digits is one Arrow cast. Short numbers with separators (prices) go
through ``connector.readers.digits``, an automaton swept over the bytes with numpy, one pass
per character position. Anything else (a space as thousands separator, very long values)
takes Arrow compute kernels (pandas' ``.str`` methods wrap the same kernels, but each call
re-boxes its result as a new Series: a third of the time, measured): a regex for the
pattern, separators removed only from columns that hold them, a cast; rare shapes (more
than 4 decimals) get their extra work on those rows alone. A million-row column parses in
0.03-0.3 s.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sized
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from connector.readers import digits
from connector.readers.arrowtext import longest_bytes, may_have_spaces_around

SCALE_DIGITS = 4
MAX_DIGITS = 18  # digits of value x 10^4 that always fit an int64 (9.2e18)
SPACES = " \t\u00a0\u202f"  # Excel and ERPs group thousands with no-break spaces too
_MARKER = re.compile(r"^'[=+\-@]")

_POWERS = 10 ** np.arange(SCALE_DIGITS + 1, dtype=np.int64)
PARALLEL_ROWS = 50_000  # below this, starting threads costs more than it saves
# Two at a time: each column in flight holds its own working copies (tens of MB per million
# rows), so more threads would buy little time for a lot of memory.
WORKERS = min(2, os.cpu_count() or 1)

Mask = npt.NDArray[np.bool_]
Column = TypeVar("Column", bound=Sized)
Result = TypeVar("Result")
Counts = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Numbers:
    """One column parsed. ``e4`` is NA wherever one of the masks is set."""

    text: pd.Series[str]
    e4: pd.Series[int]
    empty: Mask
    invalid: Mask
    too_precise: Mask
    too_large: Mask


def number_pattern(decimal: str, thousands: str) -> str:
    """Full-match pattern: optional sign, digits (grouped by 3 when there is a thousands
    separator, so "12.50" is not silently 1250), optional decimal part. ``[0-9]``, not
    ``\\d``: other scripts' digits are not numbers for Alephee."""
    point = re.escape(decimal)
    if thousands:
        group = "[ \u00a0\u202f]" if thousands == " " else re.escape(thousands)
        integer = rf"(?:[0-9]{{1,3}}(?:{group}[0-9]{{3}})+|[0-9]+)"
    else:
        integer = r"[0-9]+"
    return rf"[+-]?(?:{integer}(?:{point}[0-9]*)?|{point}[0-9]+)"


def side_by_side(work: Callable[[Column], Result], columns: list[Column]) -> list[Result]:
    """``work`` on each column, two at a time: Arrow's kernels release the GIL, so on two cores
    a million-row export's columns clean and parse in about 60 % of the time, measured."""
    if WORKERS < 2 or len(columns) < 2 or len(columns[0]) < PARALLEL_ROWS:
        return [work(column) for column in columns]
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="columns") as pool:
        return list(pool.map(work, columns))


def arrow_text(text: pd.Series[str]) -> Any:
    """The column's Arrow strings, without a copy when pandas already holds them as Arrow."""
    return pa.array(text.array)


def text_series(values: Any, like: pd.Series[str]) -> pd.Series[str]:
    return pd.Series(pd.array(values, dtype="str"), index=like.index, name=like.name)


def clean(text: pd.Series[str]) -> pd.Series[str]:
    """Surrounding spaces (no-break ones too) removed, and the apostrophe the connector's own
    reports put before = + - @ dropped (so a fixed rejects report reads back exactly); that
    apostrophe is never part of an ERP value. An unchanged column is returned as it is: it
    then takes no memory of its own."""
    original = arrow_text(text)
    values, changed = original, False
    if may_have_spaces_around(original):  # a look at two bytes a value spares the copy
        values = pc.utf8_trim(original, SPACES)
        changed = _total_length(values) != _total_length(original)
    if pc.any(pc.starts_with(values, "'")).as_py():
        marked = pc.match_substring_regex(values, _MARKER.pattern)
        values, changed = pc.if_else(marked, pc.utf8_slice_codeunits(values, 1), values), True
    return text_series(values, text) if changed else text


def _total_length(values: Any) -> int:
    return int(pc.sum(pc.binary_length(values)).as_py() or 0)


def parse_e4(text: pd.Series[str], decimal: str, thousands: str) -> Numbers:
    """Parse a column of cleaned text (see ``clean``) into value x 10^4."""
    values = arrow_text(text)
    empty = numpy_of(pc.equal(pc.binary_length(values), 0))
    plain = numpy_of(pc.ascii_is_decimal(values))
    # plain digits only (a stock column): one cast is the fastest; else the automaton
    swept = _plain(values, plain, empty) if (plain | empty).all() else None
    swept = swept or digits.parse(values, decimal, thousands)
    if swept is None:
        swept = parse_with_kernels(values, decimal, thousands, plain, empty)
    matches, e4, precise, small = swept
    too_precise, too_large = matches & ~precise, matches & precise & ~small
    good = matches & precise & small
    series = pd.Series(pd.arrays.IntegerArray(e4, ~good), index=text.index, copy=False)
    return Numbers(text, series, empty, ~empty & ~matches, too_precise, too_large)


def _plain(values: Any, plain: Mask, empty: Mask) -> digits.Parsed | None:
    """A column of plain digits (and empty cells) short enough for an int64 x 10^4: one cast
    (a seventh of the general path's time on a 1M-row stock column, measured). None when a
    value is too long: the general path says which."""
    if longest_bytes(values) > MAX_DIGITS - SCALE_DIGITS:
        return None
    if empty.any():
        values = pc.if_else(pa.array(empty), "0", values)
    e4 = numpy_of(pc.cast(values, pa.int64())) * _POWERS[SCALE_DIGITS]
    size = len(plain)
    return digits.Parsed(plain, e4, np.ones(size, dtype=bool), np.ones(size, dtype=bool))


def parse_with_kernels(
    values: Any, decimal: str, thousands: str, plain: Mask, empty: Mask
) -> digits.Parsed:
    """The general path (any separator, any length): Arrow's kernels, a pass each. ``plain``:
    which values are plain digits (always a number), ``empty``: which are empty."""
    size = len(values)
    matches = plain
    if not (plain | empty).all():
        pattern = f"^(?:{number_pattern(decimal, thousands)})$"
        matches = numpy_of(pc.match_substring_regex(values, pattern))
    precise, small = np.ones(size, dtype=bool), np.ones(size, dtype=bool)
    e4 = np.zeros(size, dtype=np.int64)
    if matches.all():
        e4, precise, small = _scaled(values, decimal, thousands)
    elif matches.any():
        rows = np.flatnonzero(matches)
        scaled, fine, short = _scaled(values.filter(pa.array(matches)), decimal, thousands)
        e4[rows[fine & short]] = scaled[fine & short]
        precise[rows], small[rows] = fine, short
    return digits.Parsed(matches, e4, precise, small)


def _scaled(values: Any, decimal: str, thousands: str) -> tuple[Counts, Mask, Mask]:
    """Value x 10^4 of numbers that all full-match the number pattern (0 where not precise or
    too large), and the masks saying which are precise and which small enough."""
    for separator in (SPACES[2:] + " ") if thousands == " " else thousands:
        values = _without(values, separator)
    values = _without(values, "+")  # Arrow's integer cast refuses a leading plus
    length = numpy_of(pc.binary_length(values))  # all ASCII now: bytes are characters
    point = numpy_of(pc.find_substring(values, decimal))
    has_point = point >= 0
    whole = np.where(has_point, point, length)  # sign and digits before the point
    del point
    decimals = length - whole - has_point
    if (decimals > SCALE_DIGITS).any():  # trailing zeros carry no value: "1,50000" is 1,5
        values = pc.if_else(pa.array(decimals > SCALE_DIGITS), pc.utf8_rtrim(values, "0"), values)
        length = numpy_of(pc.binary_length(values))
        decimals = length - whole - has_point
    if pc.any(pc.starts_with(values, "-")).as_py():
        whole -= numpy_of(pc.starts_with(values, "-"))
    precise = decimals <= SCALE_DIGITS
    small = whole <= MAX_DIGITS - SCALE_DIGITS
    ok = precise & small
    digits = _without(values, decimal) if has_point.any() else values
    if not ok.all():
        digits = pc.if_else(pa.array(ok), digits, "0")
    bare = (whole + decimals == 0) & ok  # ",00000" or "-,00000" lose every digit: zero
    if bare.any():
        digits = pc.if_else(pa.array(bare), "0", digits)
    parsed = numpy_of(pc.cast(digits, pa.int64()))
    return parsed * _POWERS[SCALE_DIGITS - np.where(ok, decimals, SCALE_DIGITS)], precise, small


def _without(values: Any, piece: str) -> Any:
    """``values`` with every ``piece`` removed; a cheap search first spares the rewrite."""
    if not pc.any(pc.match_substring(values, piece)).as_py():
        return values
    return pc.replace_substring(values, piece, "")


def numpy_of(values: Any) -> Any:
    """An Arrow result (array or chunked) as a numpy array."""
    if isinstance(values, pa.Array):
        return values.to_numpy(zero_copy_only=False)
    return values.to_numpy()
