"""A CSV export's bytes, its encoding, and the few parts that must be decoded in Python.

A UTF-8 export is never decoded in Python, and no export is split into Python strings. The
encoding is decided the way Excel
and the mapping say (a BOM always decides; "auto" is strict UTF-8, else cp1252), then checked
without building a string: Arrow validates UTF-8 in one fast pass, and a single-byte codepage
only needs a search for the few bytes it leaves undefined. Only the head (title rows, header,
the sample the delimiter is sniffed from) and the tail (trailing blank lines) are decoded
here; the body goes to Arrow's CSV reader as bytes (a single-byte codepage turned into UTF-8
block by block as Arrow reads it: ``connector.readers.transcode``).

That split needs a codec in which a line break, a quote and the delimiters are the ASCII
bytes themselves: UTF-8 and the single-byte Windows / ISO 8859 codepages. Any other codec
(UTF-16, Asian multi-byte codepages) is decoded whole once and re-encoded as UTF-8.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from connector.errors import BadInputFile

HEAD_BYTES = 1 << 18
SAMPLE_CHARS = 65536  # what check_text and the delimiter sniffing look at
TAIL_BYTES = 1 << 12
_ASCII = "".join(map(chr, range(128)))
_MAX_UNDEFINED = 8
# A character as UTF-8 writes it (é = C3 A9): in cp1252 text that would read "Ã©", which no
# export holds. A file whose bytes above 127 are mostly such sequences is UTF-8 with a
# stray byte (a cp1252 "é" pasted in), not a cp1252 file.
UTF8_SHARE = 0.75
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)  # more undefined bytes than this and searching for them costs too much


@dataclass(frozen=True)
class SourceText:
    """The file's bytes from ``start`` (after any BOM) in ``codec``; ``encoding`` is what the
    file was written in, as a rejects report must write it back."""

    data: bytes
    start: int
    codec: str
    encoding: str

    def decode(self, begin: int, end: int) -> str:
        return self.data[begin:end].decode(self.codec)

    def text_bytes(self, text: str) -> int:
        """How many bytes ``text`` takes in the file (it was decoded from it)."""
        return len(text.encode(self.codec))


def open_text(path: Path, data: bytes, encoding: str) -> SourceText:
    """Decide the codec, check the whole file decodes in it, and keep the bytes as they are
    whenever the codec allows it. Raises BadInputFile naming the line of the first bad byte."""
    if data.startswith(codecs.BOM_UTF8):
        return _checked(path, data, 3, "utf-8", "utf-8-sig")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(path, data, 0, "utf-16", "utf-16")
    if encoding != "auto":
        return _checked(path, data, 0, codecs.lookup(encoding).name, encoding)
    if _valid_utf8(data):
        return SourceText(data, 0, "utf-8", "utf-8")
    if _mostly_utf8(data):
        _decode_whole(path, data, "utf-8")  # UTF-8 with a stray byte: say where
    return _checked(path, data, 0, "cp1252", "cp1252")


def _checked(path: Path, data: bytes, start: int, codec: str, encoding: str) -> SourceText:
    if codec == "utf-8":
        if not _valid_utf8(data, start):
            _decode_whole(path, data[start:], encoding)  # raises, naming the line
        return SourceText(data, start, codec, encoding)
    undefined = _undefined_bytes(codec)
    if undefined is None:  # not byte-for-byte ASCII: decode once, carry on in UTF-8
        text = _decode_whole(path, data, codec)
        return SourceText(text.encode("utf-8"), 0, "utf-8", encoding)
    if any(data.find(byte) >= 0 for byte in undefined):
        _decode_whole(path, data, encoding)  # raises, naming the line
    return SourceText(data, start, codec, encoding)


def _decode_whole(path: Path, data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        if codecs.lookup(codec).name == "utf-8" and byte >= 0x80:
            letter = bytes([byte]).decode("cp1252", errors="replace")
            raise BadInputFile(
                f"{path.name} is written in UTF-8, but line {line} holds a byte that is not "
                f"UTF-8 (0x{byte:02X}, a cp1252 {letter!r}?): the file mixes two encodings",
                hint="export the file again in one encoding (UTF-8 or cp1252), or fix that "
                "line; the mapping's 'encoding' names the one the ERP uses",
            ) from None
        raise BadInputFile(
            f"{path.name} is not a text file in {codec} (bad byte at line {line})",
            hint="check the mapping's 'encoding' (auto, cp1252, utf-8) or export the file again",
        ) from None


def _mostly_utf8(data: bytes) -> bool:
    """Whether the bytes above 127 are mostly UTF-8 sequences; the head decides first, so a
    cp1252 export with accents near the top costs no full scan."""
    head = _utf8_share(data[:HEAD_BYTES])
    if head is not None and head < UTF8_SHARE:
        return False
    whole = head if len(data) <= HEAD_BYTES else _utf8_share(data)
    return whole is not None and whole >= UTF8_SHARE


def _utf8_share(data: bytes) -> float | None:
    high = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80))
    if not high:
        return None
    return sum(map(len, _UTF8_SEQUENCE.findall(data))) / high


def _valid_utf8(data: bytes, start: int = 0) -> bool:
    """Strict UTF-8 (as Python's decoder: no surrogates, no overlong forms), checked by Arrow
    on the bytes in place: several times faster than decoding, and no copy."""
    offsets = pa.py_buffer(np.array([0, len(data) - start], dtype=np.int64))
    text = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)[start:]])
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


@lru_cache(maxsize=16)
def _undefined_bytes(codec: str) -> tuple[bytes, ...] | None:
    """The bytes a single-byte, ASCII-compatible codepage cannot decode (cp1252: five of
    them); None for any other codec. Stateful codecs (ISO-2022, HZ) are excluded by name:
    in them an ASCII byte can be half of another character."""
    if not codec.startswith(("cp125", "iso8859-")):
        return None
    table = bytes(range(256)).decode(codec, errors="replace")
    if len(table) != 256 or table[:128] != _ASCII:
        return None
    undefined = []
    for value in range(128, 256):
        try:
            bytes([value]).decode(codec)
        except UnicodeDecodeError:
            undefined.append(bytes([value]))
    return tuple(undefined) if len(undefined) <= _MAX_UNDEFINED else None


def decoded_head(source: SourceText, size: int = HEAD_BYTES) -> tuple[str, bool]:
    """The text of the first ``size`` bytes after the BOM (a character cut at the end is left
    out), and whether that is the whole file."""
    end = min(len(source.data), source.start + size)
    whole = end == len(source.data)
    decoder = codecs.getincrementaldecoder(source.codec)()
    return decoder.decode(source.data[source.start : end], final=whole), whole


def body_end(source: SourceText, begin: int) -> tuple[int, bool]:
    """Where the body from ``begin`` ends once trailing blank lines are dropped, and whether it
    is nothing but white space. Only a tail is decoded, widened while it is all white space."""
    window = TAIL_BYTES
    while True:
        start = _char_start(source, max(begin, len(source.data) - window))
        kept = drop_trailing_blank_lines(source.decode(start, len(source.data)))
        if kept.strip() or start == begin:
            return start + source.text_bytes(kept), not kept.strip()
        window *= 4


def drop_trailing_blank_lines(body: str) -> str:
    """Remove empty or whitespace-only lines at the end; trailing spaces or tabs of the last
    real line are kept, they may be empty fields."""
    end = len(body.rstrip())
    tail = body[end:]
    breaks = [found for found in (tail.find("\n"), tail.find("\r")) if found >= 0]
    return body[: end + min(breaks)] if breaks else body


def _char_start(source: SourceText, position: int) -> int:
    """The first character boundary at or after ``position`` (UTF-8 continuation bytes are
    0b10xxxxxx; single-byte codecs have a boundary everywhere)."""
    if source.codec != "utf-8":
        return position
    while position < len(source.data) and 0x80 <= source.data[position] < 0xC0:
        position += 1
    return position
