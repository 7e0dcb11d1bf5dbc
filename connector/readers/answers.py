"""A reader child's answer on its way to the parent: pickled with its arrays out of band.

An ``Export`` is mostly column buffers (numpy arrays, Arrow buffers: 28 MB for a 100k-row
XLSX). Pickled whole, the child copies them into one big bytes object and the parent copies
them back out (a tenth of a second each side, measured in a forked child). With pickle's
protocol 5 (PEP 574) the buffers are written beside a small pickle of the objects around
them, and the parent maps the answer file and unpickles onto its pages: no copy, and the
mapping is private (``ACCESS_COPY``), so the arrays stay writable as before.

    [head: magic, pickle length, buffer count][each buffer's length][pickle][buffers, each
    at a 64-byte boundary][end mark]

A child killed while writing leaves a short answer: ``read`` raises ``ValueError`` and the
caller reports the crash, as it does for any answer it cannot unpickle.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct
from typing import IO, Any

MAGIC = b"CXA1"
END = b"CXA."  # the last bytes written: an answer without them was cut short
ALIGN = 64  # numpy and Arrow read their buffers fastest on such boundaries
_HEAD = struct.Struct("<4sQQ")  # magic, pickle length, buffer count
_LENGTH = struct.Struct("<Q")

Received = bytes | bytearray | mmap.mmap


def write(value: Any, stream: IO[bytes]) -> None:
    """Pickle ``value`` into ``stream``, its large buffers out of band. May raise
    MemoryError before anything is written."""
    buffers: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        try:
            buffers.append(buffer.raw())
        except BufferError:  # not contiguous: it travels inside the pickle
            return True
        return False

    main = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
    lengths = b"".join(_LENGTH.pack(buffer.nbytes) for buffer in buffers)
    stream.write(_HEAD.pack(MAGIC, len(main), len(buffers)) + lengths)
    stream.write(main)
    position = _HEAD.size + len(lengths) + len(main)
    for buffer in buffers:
        padding = -position % ALIGN
        stream.write(bytes(padding))
        stream.write(buffer)
        position += padding + buffer.nbytes
    stream.write(END)


def read(data: Received) -> Any:
    """The value ``write`` wrote into ``data``; its buffers are views of ``data``."""
    view = memoryview(data)
    if view.readonly:  # bytes: arrays on it would be read-only, unlike the child's
        view = memoryview(bytearray(view))
    magic, main_length, count = _HEAD.unpack_from(view, 0)
    position = _HEAD.size + count * _LENGTH.size
    if magic != MAGIC or position + main_length > len(view):
        raise ValueError("not a complete answer")
    lengths = struct.unpack_from(f"<{count}Q", view, _HEAD.size)
    main = view[position : position + main_length]
    position += main_length
    buffers = []
    for length in lengths:
        position += -position % ALIGN
        if position + length > len(view):
            raise ValueError("the answer was cut short")
        buffers.append(view[position : position + length])
        position += length
    if view[position:] != END:
        raise ValueError("the answer was cut short")
    return pickle.loads(main, buffers=buffers)  # noqa: S301 - our own child's answer


def mapped(handle: IO[bytes]) -> Received:
    """The answer file's content, mapped rather than read (b"" when the child wrote none)."""
    size = os.fstat(handle.fileno()).st_size
    if not size:
        return b""
    return mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY)
