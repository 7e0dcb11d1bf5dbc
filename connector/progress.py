"""Progress for long work: a rich bar on a terminal, plain log lines otherwise.

A scheduled task (or ``pythonw.exe``) has no console: then nothing is drawn and a log line every
10 % tells the same story in the log file.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

log = logging.getLogger(__name__)


def _has_terminal() -> bool:
    stream = sys.stderr
    return stream is not None and not getattr(stream, "closed", False) and stream.isatty()


class Progress:
    def __init__(self, total: int, what: str, *, enabled: bool = True) -> None:
        self.total, self.what, self.done = total, what, 0
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._next_log = 0.1
        if enabled and total > 1 and _has_terminal():
            # imported here: rich.progress costs 0.1 s, and a pass with nothing to do has no bar
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(transient=True)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task(self.what, total=self.total)
        return self

    def advance(self, step: int = 1, note: str = "") -> None:
        """``note``: what the bar says beside the count (an estimate of the time left)."""
        self.done += step
        if self._bar is not None and self._task is not None:
            described = f"{self.what}: {self.total - self.done:,} left" + (
                f", {note}" if note else ""
            )
            self._bar.update(self._task, advance=step, description=described)
        elif self.total >= 10 and self.done / self.total >= self._next_log:
            log.info(
                "%s: %d of %d%s", self.what, self.done, self.total, f", {note}" if note else ""
            )
            self._next_log += 0.1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
