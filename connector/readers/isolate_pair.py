"""A check and a read in two child processes at once, the read trusting nothing before the
check's verdict: the machine's second core does the XLSX scan while calamine parses.

    run_checked(name, check, check_args, read, read_args, accepts) -> read's result, or None

``check(*check_args)`` runs in one forked child, ``read(*read_args, verdict)`` in another.
The read may parse the file before the check is done, but it calls ``verdict()`` before it
uses anything it parsed: the call blocks until the parent hands it the check's result, and
the parent only does so when the check ended well and ``accepts`` that result. Otherwise the
read is killed unheard: the check's error is raised, or ``None`` returned so that the caller
reads the file the careful way (one child, check first). A read that dies before the verdict
(a hostile file making the parser abort) is therefore only reported when the check said the
file was safe for it, exactly as when it ran after the check.

Each child has its own memory cap (``memory_mb``) and the one deadline; both end with this
call, whatever happens. Fork only (``isolate.can_fork``): the caller checks.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable
from typing import IO, Any, Generic, TypeVar

from connector.readers.isolate import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_SECONDS,
    answer_file,
    fork_child,
    outcome,
)

V = TypeVar("V")


class Verdict(Generic[V]):
    """The read's side: ``verdict()`` waits for the check's accepted result."""

    def __init__(self, signal_fd: int, carried: IO[bytes]) -> None:
        self._signal_fd, self._carried = signal_fd, carried

    def __call__(self) -> V:
        # One byte when the result is in the file; end of file when the parent gave up.
        if os.read(self._signal_fd, 1) != b"1":
            os._exit(0)  # unheard: the parent kills this child anyway
        self._carried.seek(0)
        value: V = pickle.load(self._carried)  # noqa: S301 - written by our own parent
        return value


def run_checked(
    name: str,
    check: Callable[..., V],
    check_args: tuple[Any, ...],
    read: Callable[..., Any],
    read_args: tuple[Any, ...],
    accepts: Callable[[V], bool],
    *,
    memory_mb: int = DEFAULT_MEMORY_MB,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> Any:
    """See the module docstring; ``name`` is the file, for messages."""
    deadline = time.monotonic() + timeout
    signal_read, signal_write = os.pipe()
    # A file, not the pipe, carries the result: writing it never waits for the reader.
    with answer_file() as carried:
        try:
            reader = fork_child(
                read, (*read_args, Verdict[V](signal_read, carried)), memory_mb, (signal_write,)
            )
        finally:
            os.close(signal_read)
        try:
            others = (signal_write, carried.fileno(), reader.done, reader.answer_file.fileno())
            scanner = fork_child(check, check_args, memory_mb, others)
            checked: V = outcome(name, *scanner.collect(deadline), memory_mb)
            if not accepts(checked):
                return None
            pickle.dump(checked, carried, protocol=pickle.HIGHEST_PROTOCOL)
            carried.flush()
            _signal(signal_write)
            return outcome(name, *reader.collect(deadline), memory_mb)
        finally:
            os.close(signal_write)
            reader.abandon()  # nothing when collected; killed unheard otherwise


def _signal(fd: int) -> None:
    try:
        os.write(fd, b"1")
    except BrokenPipeError:  # the read is gone already: its exit code tells why
        pass
