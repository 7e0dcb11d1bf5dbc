"""The byte-level fast paths agree with the general ones on any generated input: the number
automaton with Arrow's kernels, the cp1252 table with Python's codec, the buffer checks with
the kernels they spare."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import example, given, settings
from hypothesis import strategies as st

from connector.readers import arrowtext, digits
from connector.readers.duplicates import _repeated
from connector.readers.numbers import SPACES, numpy_of, parse_with_kernels
from connector.readers.text import _undefined_bytes
from connector.readers.transcode import Utf8Blocks, single_byte_to_utf8

SEPARATORS = [(",", "."), (".", ","), (",", ""), (".", ""), (",", "'")]
NUMBERISH = st.text(alphabet="0123456789.,+-' x\u00e9", max_size=digits.MAX_WIDTH)
SHAPES = st.builds(  # runs of 0-5 digits between marks: every grouping, right or wrong
    lambda sign, runs, marks: (
        sign + "".join(run + mark for run, mark in zip(runs, marks, strict=False))
    ),
    st.sampled_from(["", "-", "+", "--"]),
    st.lists(st.text(alphabet="1290", max_size=5), min_size=1, max_size=4),
    st.lists(st.sampled_from(["", ".", ",", "'"]), min_size=4, max_size=4),
)
WRITTEN = st.builds(
    lambda sign, whole, point, fraction: f"{sign}{whole:,}{point}{fraction}",
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 10**16),
    st.sampled_from(["", ",", "."]),
    st.text(alphabet="0123456789", max_size=7),
)


TRICKY = [
    "1234.567",
    "1.2345",
    "12.34.567",
    "1.234.567,5",
    ",",
    "-",
    "+,5",
    "-,00000",
    "1,",
    "1,00000",
    "1,000001",
    "0" * 15,
    "9" * 14 + ",5",
    "1" * 15,
    ".5",
    "1,2,3",
    "1..234",
]


@settings(deadline=None)  # two parsers a case: slow on a loaded machine
@given(
    st.lists(st.one_of(NUMBERISH, SHAPES, WRITTEN), min_size=1, max_size=60),
    st.sampled_from(SEPARATORS),
)
@example(TRICKY, (",", "."))
@example(TRICKY, (".", ","))
def test_the_number_automaton_agrees_with_the_kernels(
    texts: list[str], separators: tuple[str, str]
) -> None:
    decimal, thousands = separators
    values = pa.array(texts, pa.large_string())
    swept = digits.parse(values, decimal, thousands)
    if max(len(text.encode("utf-8")) for text in texts) > digits.MAX_WIDTH:
        assert swept is None  # the general path takes it
        return
    _agrees_with_the_kernels(swept, values, decimal, thousands)


def _agrees_with_the_kernels(
    swept: digits.Parsed | None, values: pa.Array, decimal: str, thousands: str
) -> None:
    assert swept is not None
    plain = numpy_of(pc.ascii_is_decimal(values))
    empty = numpy_of(pc.equal(pc.binary_length(values), 0))
    general = parse_with_kernels(values, decimal, thousands, plain, empty)
    assert swept.matches.tolist() == general.matches.tolist()
    found = general.matches
    assert swept.precise[found].tolist() == general.precise[found].tolist()
    assert swept.small[found].tolist() == general.small[found].tolist()
    good = found & general.precise & general.small
    assert swept.e4[good].tolist() == general.e4[good].tolist()


@st.composite
def _one_shape(draw: st.DrawFn, decimal: str, thousands: str) -> list[str]:
    """A column as an ERP writes it (every value with the same decimals, grouped when a
    separator is mapped), here and there a value of another shape or a wrong one."""
    decimals = draw(st.sampled_from([None, 0, 1, 2, 3, 4]))

    def written(sign: str, whole: int, fraction: int) -> str:
        text = f"{whole:,}".replace(",", thousands)
        if decimals is not None:
            text += decimal + str(fraction).zfill(decimals)[:decimals]
        return sign + text

    shaped = st.builds(
        written,
        st.sampled_from(["", "", "-", "+"]),
        st.one_of(st.integers(0, 999_999), st.integers(0, 10**17)),
        st.integers(0, 9999),
    )
    near = st.text(alphabet="0189:/.,'+-", max_size=9)  # ":" and "/" are next to the digits
    # one character of a well-shaped value replaced, or taken out: almost the shape
    spoilt = st.builds(
        lambda text, at, mark: text[: at % len(text)] + mark + text[at % len(text) + 1 :],
        shaped,
        st.integers(0, 30),
        st.sampled_from(["", ":", "/", ".", ",", "'", "-", "5"]),
    )
    other = st.one_of(SHAPES, WRITTEN, near, spoilt, st.sampled_from(TRICKY), st.just(""))
    return draw(st.lists(st.one_of(shaped, shaped, shaped, other), min_size=1, max_size=40))


def test_a_column_in_one_shape_is_read_by_its_shape_and_only_it() -> None:
    """The shape path must take the usual values (else the speed is gone) and no wrong one
    (the automaton decides those)."""
    usual = ["75.906,69", "1,50", "-1.234.567,00", "+12,30", "0,05", "99.999.999.999.999,99"]
    wrong = ["12.34,50", "1234,50", "1.2345,00", ",50", "-.123,45", "1,5", "1.234,500", "--1,50"]
    wrong += ["999.999.999.999.999,99", "1.234", "12,3x", "", "-", "1,50,00", "7:,50", "1/,50"]
    values = pa.array(usual + wrong, pa.large_string())
    shaped = digits._shaped(values, digits._classes(",", "."), ",")
    assert shaped is not None
    fits, e4 = shaped
    assert fits.tolist() == [True] * len(usual) + [False] * len(wrong)
    assert e4[: len(usual)].tolist() == [
        759066900,
        15000,
        -12345670000,
        123000,
        500,
        999999999999999900,
    ]


@settings(deadline=None)
@given(st.data(), st.sampled_from(SEPARATORS), st.integers(1, 9))
def test_values_read_by_their_shape_agree_with_the_kernels(
    data: st.DataObject, separators: tuple[str, str], block_rows: int
) -> None:
    """The block's usual shape is read from the end, the rest by the automaton: the same
    results in blocks of any size (each block takes its first value's shape)."""
    decimal, thousands = separators
    texts = data.draw(_one_shape(decimal, thousands))
    values = pa.array(texts, pa.large_string())
    with mock.patch.object(digits, "BLOCK_ROWS", block_rows):
        swept = digits.parse(values, decimal, thousands)
    if max(len(text.encode("utf-8")) for text in texts) > digits.MAX_WIDTH:
        assert swept is None
        return
    _agrees_with_the_kernels(swept, values, decimal, thousands)


def test_the_automaton_declines_what_it_does_not_cover() -> None:
    assert digits.parse(pa.array(["1 234,5"]), ",", " ") is None  # no-break spaces too
    assert digits.parse(pa.array(["1" * (digits.MAX_WIDTH + 1)]), ",", ".") is None
    assert digits.parse(pa.array(["1", None]), ",", ".") is None


@given(st.binary(max_size=200), st.sampled_from(["cp1252", "iso8859-1", "iso8859-15", "cp1250"]))
def test_single_byte_codepages_become_the_utf8_python_writes(data: bytes, codec: str) -> None:
    for undefined in _undefined_bytes(codec) or ():
        data = data.replace(undefined, b"?")
    assert single_byte_to_utf8(data, codec) == data.decode(codec).encode("utf-8")


@given(
    st.binary(max_size=300),
    st.lists(st.integers(-1, 40), min_size=1, max_size=30),
    st.integers(1, 7),
)
def test_blocks_read_in_any_sizes_make_the_whole_utf8(
    data: bytes, sizes: list[int], block: int
) -> None:
    for undefined in _undefined_bytes("cp1252") or ():
        data = data.replace(undefined, b"?")
    begin = len(data) // 5
    stream = Utf8Blocks(data, begin, len(data), "cp1252", block)
    read = b"".join(stream.read(size) for size in sizes) + stream.read()
    assert read == data[begin:].decode("cp1252").encode("utf-8")
    assert stream.read(5) == b""


@given(st.lists(st.text(alphabet="ab " + SPACES[1:] + "\u00e9\u20ac", max_size=5), max_size=20))
def test_no_space_at_the_ends_means_trimming_changes_nothing(texts: list[str]) -> None:
    values = pa.chunked_array([pa.array(texts, pa.large_string())])
    if not arrowtext.may_have_spaces_around(values):
        assert pc.utf8_trim(values, SPACES).to_pylist() == texts


@given(st.lists(st.text(max_size=6), min_size=1, max_size=20), st.integers(0, 5))
def test_longest_bytes_bounds_the_longest_text(texts: list[str], cut: int) -> None:
    values = pa.array(texts, pa.large_string()).slice(min(cut, len(texts) - 1))
    lengths = [len(text.encode("utf-8")) for text in values.to_pylist()]
    assert arrowtext.longest_bytes(values) == max(lengths, default=0)
    assert arrowtext.empty_text(3).to_pylist() == ["", "", ""]
    assert np.all(numpy_of(pc.binary_length(arrowtext.empty_text(4))) == 0)


@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="a\u00e9", max_size=2)), max_size=20),
    st.integers(0, 5),
)
def test_empty_values_read_from_the_offsets_are_the_equal_ones(
    texts: list[str | None], cut: int
) -> None:
    values = pa.array(texts, pa.large_string()).slice(min(cut, len(texts)))
    series = pd.Series(pd.array(values, dtype="str"))
    expected = (series == "").to_numpy(dtype=bool).tolist()
    assert arrowtext.empty_mask(series).tolist() == expected
    assert arrowtext.empty_mask(pa.chunked_array([values, values])).tolist() == expected * 2
    binary = values.cast(pa.large_binary())
    assert arrowtext.empty_mask(binary).tolist() == [t == b"" for t in binary.to_pylist()]


@settings(deadline=None)
@given(st.lists(st.text(alphabet="0A7", max_size=3), max_size=30))
def test_sorted_skus_skip_the_hashing_and_agree_with_it(skus: list[str]) -> None:
    for ordered in (sorted(skus), sorted(set(skus))):
        series = pd.Series(ordered, dtype="str")
        expected = series.duplicated(keep=False).to_numpy(dtype=bool)
        named = np.ones(len(ordered), dtype=bool)
        assert _repeated(series, named).tolist() == expected.tolist()
