"""Run a reader in a child process, so no file can take the connector down with it.

python-calamine is Rust: when an allocation fails it aborts the process (SIGABRT), which no
``try`` can catch. The scan in ``xlsx_scan`` refuses or routes around every grid we know
of, but "no reader can take the process down" cannot be proved for a native parser, so the
XLSX reader (and any file whose earlier read was cut short by the process dying) runs in a
child process instead:

- POSIX: the child lowers its own address-space limit (``RLIMIT_AS``) to what it already
  uses plus ``memory_mb``, so a runaway allocation fails inside the child (MemoryError, or an
  abort) and the machine never swaps. The child comes from a fork server (started once per
  connector process, with the readers already imported): no fork of a threaded process.
- Windows: a spawned child, without a memory cap (that needs a Job Object, which the
  standard library does not offer); a crash still ends only the child.

Whatever happens in the child becomes, in the parent, either the child's result, the
child's own ``BadInputFile``, or a ``ReaderCrashed`` (a ``BadInputFile``) that says how the
reader ended: the file goes to failed/ with that reason and the run goes on.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from connector.errors import BadInputFile

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
        raise _crashed(name, None, memory_mb, timed_out=True) from None
    try:
        kind, value = pickle.loads(done.stdout)  # noqa: S301 - our own child's answer
    except Exception:  # noqa: BLE001 - no answer, or half of one: the child died
        raise _crashed(name, done.returncode, memory_mb, timed_out=False) from None
    if kind == "ok":
        result: T = value
        return result
    if kind == "memory":
        raise _out_of_memory(name, memory_mb)
    raise value


def _child_env() -> dict[str, str]:
    """The parent's environment, with this copy of the package first on the path."""
    env = dict(os.environ)
    paths = [_PACKAGE_ROOT, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def serve(stdin: Any, stdout: Any) -> None:
    """The child's side: read the call, cap the memory, run it, answer."""
    func, args, memory_mb = pickle.load(stdin)  # noqa: S301 - sent by our own parent
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
        answer = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        answer = pickle.dumps(("memory", None))
    stdout.write(answer)
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
