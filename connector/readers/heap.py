"""Hand the memory a big read freed back to the system (glibc's ``malloc_trim``).

A 1M-row file is parsed and validated in many large temporary arrays, some of them in worker
threads. glibc keeps what they freed in its heaps for reuse rather than returning it: after
a read, about 80 MB of a 440 MB process was such free memory (measured), and every later
step added its own peak on top of it. ``malloc_trim(0)`` returns it in a few milliseconds.
Elsewhere (Windows, macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from typing import Any

import pyarrow as pa


def give_back() -> None:
    """Return the free memory of the C heap to the system, where glibc can, and what Arrow's
    memory pools keep for reuse."""
    trim = _trim()
    if trim is not None:
        trim(0)
    pa.default_memory_pool().release_unused()
    try:
        pa.jemalloc_memory_pool().release_unused()  # where a CSV body was parsed
    except NotImplementedError:  # a wheel without jemalloc (Windows)
        pass


@lru_cache(maxsize=1)
def _trim() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
