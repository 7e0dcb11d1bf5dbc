"""Run a reader in a child process, so no file can take the connector down with it.

python-calamine is Rust: when an allocation fails it aborts the process (SIGABRT), which no
``try`` can catch. The scan in ``xlsx_scan`` refuses or routes around every grid we know
of, but "no reader can take the process down" cannot be proved for a native parser, so the
XLSX reader (and any file whose earlier read was cut short by the process dying) runs in a
child process instead:

- POSIX: the child lowers its own address-space limit (``RLIMIT_AS``) to what it already
  uses plus ``memory_mb``, so a runaway allocation fails inside the child (MemoryError, or an
  abort) and the machine never swaps.
- How the child starts: a fork of this process when it runs no other thread (``once``, the
  benchmark): the child has every module the parent imported and costs milliseconds, where a
  fresh interpreter spends 0.5-0.7 s importing pandas and the readers. A fork of a process
  with other threads (``run``'s inbox watcher, a test's sandbox) could copy a lock one of them
  holds, so such a process, and Windows, start a fresh interpreter (``python -m
  connector.readers.child``) instead. Native thread pools (Arrow's) reset themselves in a
  forked child; the child never writes to the parent's streams or logs and leaves by
  ``os._exit``, so no parent buffer, ``atexit`` hook or database connection runs twice.
- Windows: no memory cap (that needs a Job Object, which the standard library does not
  offer); a crash still ends only the child.

Whatever happens in the child becomes, in the parent, either the child's result, the
child's own ``BadInputFile``, or a ``ReaderCrashed`` (a ``BadInputFile``) that says how the
reader ended: the file goes to failed/ with that reason and the run goes on.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import pickle
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

from connector.errors import BadInputFile
from connector.readers import answers

T = TypeVar("T")
DEFAULT_MEMORY_MB = 2048
DEFAULT_TIMEOUT_SECONDS = 1800.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class ReaderCrashed(BadInputFile):
    """The reader's child process died, ran out of its memory or out of time."""


def run_isolated(
    name: str,
    func: Callable[..., T],
    *args: Any,
    memory_mb: int = DEFAULT_MEMORY_MB,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> T:
    """``func(*args)`` in a child process; ``name`` is the file, for messages."""
    if can_fork():
        child = fork_child(func, args, memory_mb)
        received, exitcode = child.collect(time.monotonic() + timeout)
    else:
        received, exitcode = _spawned(func, args, memory_mb, timeout)
    result: T = outcome(name, received, exitcode, memory_mb)
    return result


def outcome(
    name: str, received: answers.Received | None, exitcode: int | None, memory_mb: int
) -> Any:
    """The child's result from its answer, or the error it raised or died of."""
    if received is None:
        raise _crashed(name, None, memory_mb, timed_out=True)
    try:
        kind, value = answers.read(received)
    except Exception:  # noqa: BLE001 - no answer, or half of one: the child died
        raise _crashed(name, exitcode, memory_mb, timed_out=False) from None
    if kind == "ok":
        return value
    if kind == "memory":
        raise _out_of_memory(name, memory_mb)
    raise value


def can_fork() -> bool:
    """Whether the child may be a fork of this process (see the module docstring)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def _spawned(
    func: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, timeout: float
) -> tuple[bytes | None, int | None]:
    """A fresh interpreter; (its answer, its exit code), or (None, None) when out of time."""
    request = pickle.dumps((func, args, memory_mb), protocol=pickle.HIGHEST_PROTOCOL)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "connector.readers.child"],
            input=request,
            capture_output=True,
            timeout=timeout,
            env=_child_env(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            check=False,
        )
    except subprocess.TimeoutExpired:  # run() has killed the child
        return None, None
    return done.stdout, done.returncode


class ForkedChild:
    """A forked child running ``answer``: its pid, its answer file, and the read end of a
    pipe that closes when it ends (the answer travels in a file in memory: a pipe moved 28 MB
    of a 100k-row export in a quarter of a second, 64 KB at a time; the parent maps the file
    and unpickles onto its pages, ``answers``)."""

    def __init__(self, pid: int, done: int, answer_file: IO[bytes]) -> None:
        self.pid, self.done, self.answer_file = pid, done, answer_file
        self.status: int | None = None

    def collect(self, deadline: float) -> tuple[answers.Received | None, int | None]:
        """Wait for the child (killed when out of time); (its answer, its exit code), or
        (None, exit code) when out of time."""
        with self.answer_file:
            finished = False
            try:
                finished = _wait_closed(self.done, deadline)
            finally:  # out of time, or this process interrupted: the child goes too
                self.stop(kill=not finished)
            received = answers.mapped(self.answer_file) if finished else None
        assert self.status is not None
        return received, os.waitstatus_to_exitcode(self.status)

    def stop(self, *, kill: bool = True) -> None:
        """Kill (unless told not to) and reap the child, once."""
        if self.status is not None:
            return
        os.close(self.done)
        if kill:
            os.kill(self.pid, signal.SIGKILL)
        _, self.status = os.waitpid(self.pid, 0)

    def abandon(self) -> None:
        """Kill the child and drop whatever it answered."""
        self.stop()
        self.answer_file.close()


def fork_child(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    memory_mb: int,
    close_in_child: tuple[int, ...] = (),
) -> ForkedChild:
    """Start ``func(*args)`` in a fork of this process; ``close_in_child``: this process's
    file descriptors the child must not keep (another child's pipes)."""
    answers = answer_file()
    readable, writable = os.pipe()
    try:
        pid = os.fork()
    except OSError:  # no process left to make (EAGAIN, ENOMEM): nothing started
        os.close(readable)
        os.close(writable)
        answers.close()
        raise
    if pid == 0:
        closed = (readable, *close_in_child)
        _forked_child(closed, writable, answers.fileno(), func, args, memory_mb)
    os.close(writable)
    return ForkedChild(pid, readable, answers)


def answer_file() -> IO[bytes]:
    if hasattr(os, "memfd_create"):  # Linux: never on disk
        return open(os.memfd_create("connector-reader-answer"), "w+b")
    return tempfile.TemporaryFile()


def _forked_child(
    closed: tuple[int, ...],
    writable: int,
    answer_fd: int,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    memory_mb: int,
) -> NoReturn:
    """The forked child: answer, then leave without ever returning into the parent's code."""
    code = 1
    try:
        # The parent's objects are never collected here: a parent's unreachable database
        # connection must not be closed (and its WAL checkpointed) by the child.
        gc.freeze()
        faulthandler.disable()  # a crash here is the parent's to report, not the parent's stack
        for fd in closed:  # the parent's ends of this child's pipe and of other children's
            os.close(fd)
        _silence_output()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # not the parent's stop handlers
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with open(answer_fd, "wb", closefd=False) as stdout:
            answer(func, args, memory_mb, stdout)
        code = 0
    finally:
        os._exit(code)  # closes ``writable``: the parent's signal that the child is gone


def _silence_output() -> None:
    """The child's own stdout and stderr go nowhere, as a spawned child's are captured: what a
    dying native parser prints (Rust's "memory allocation failed" and its backtrace) must not
    reach the operator's console, which shows the parent's plain reason instead."""
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, 1)
    os.dup2(nowhere, 2)
    os.close(nowhere)


def _wait_closed(fd: int, deadline: float) -> bool:
    """Wait until the child's end of the pipe closes; False when out of time first."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return False
            if not os.read(fd, 4096):
                return True


def _child_env() -> dict[str, str]:
    """The parent's environment, with this copy of the package first on the path."""
    env = dict(os.environ)
    paths = [_PACKAGE_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The spawned child's side: read the call, then ``answer`` it."""
    func, args, memory_mb = pickle.load(stdin)  # noqa: S301 - sent by our own parent
    answer(func, args, memory_mb, stdout)


def answer(
    func: Callable[..., Any], args: tuple[Any, ...], memory_mb: int, stdout: IO[bytes]
) -> None:
    """In the child: cap the memory, run the call, write the pickled outcome."""
    limit_memory(memory_mb)
    try:
        outcome: tuple[str, Any] = ("ok", func(*args))
    except MemoryError:
        outcome = ("memory", None)
    except BadInputFile as exc:
        outcome = ("error", exc)
    except Exception as exc:  # noqa: BLE001 - carried to the parent, which decides
        outcome = ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))
    try:
        answers.write(outcome, stdout)
    except MemoryError:  # most likely while pickling, before anything was written
        if stdout.seekable():
            stdout.seek(0)
            stdout.truncate()
        answers.write(("memory", None), stdout)
    stdout.flush()


def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at what it uses now plus ``memory_mb`` (POSIX)."""
    try:
        import resource
    except ImportError:  # Windows: no rlimits (see the module docstring)
        return
    limit = _address_space() + (memory_mb << 20)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _address_space() -> int:
    """Bytes of address space in use (Linux); elsewhere 0, and the cap is the budget alone."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _crashed(name: str, exitcode: int | None, memory_mb: int, *, timed_out: bool) -> ReaderCrashed:
    if timed_out:
        how = "did not finish in time"
    elif exitcode is not None and exitcode < 0:
        how = f"was stopped by signal {-exitcode}"
        if -exitcode == 6:
            how += f" (an abort: it most likely needed more than its {memory_mb} MB of memory)"
    else:
        how = f"ended abruptly (exit code {exitcode})"
    return ReaderCrashed(
        f"{name}: the reader {how} on this file; nothing from it was used",
        hint="open it in Excel and save it again as .xlsx, or export it again from the ERP; "
        "a normal stock export never does this",
    )


def _out_of_memory(name: str, memory_mb: int) -> ReaderCrashed:
    return ReaderCrashed(
        f"{name}: reading it needs more than {memory_mb} MB of memory; nothing from it was used",
        hint="export fewer columns or split the export into several files "
        "(or raise [intake] read_memory_mb)",
    )
