"""Named points where a test can kill the process, to prove a restart finishes the job.

``CONNECTOR_CRASH_AT=intake.after_done`` kills the process the first time that point is reached;
``CONNECTOR_CRASH_AT=intake.after_done@3`` the third time. Unset (production), a crash point is a
dictionary look-up and nothing else.
"""

from __future__ import annotations

import os
import signal
import threading

ENV_VAR = "CONNECTOR_CRASH_AT"
_hits: dict[str, int] = {}
_lock = threading.Lock()


def crashpoint(name: str) -> None:
    """Kill this process here (SIGKILL: no cleanup, no flush) when the environment asks for it."""
    wanted = os.environ.get(ENV_VAR)
    if not wanted:
        return
    point, _, nth = wanted.partition("@")
    if point != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        count = _hits[name]
    if count >= (int(nth) if nth else 1):
        _die()


def _die() -> None:
    kill = getattr(signal, "SIGKILL", None)
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)  # Windows has no SIGKILL; _exit skips cleanup just the same
