"""Logging: a rotating file in the state folder, a console when there is one, secrets masked.

Under ``pythonw.exe`` (a scheduled task with no console) ``sys.stderr`` is None; the console
handler is then simply left out.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from connector.redact import RedactingFormatter

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
NOISY = ("httpx", "httpcore", "urllib3", "watchdog", "asyncio")
_installed: list[logging.Handler] = []


def setup_logging(
    log_dir: Path | None,
    *,
    verbose: bool = False,
    console: bool = True,
    console_level: int = logging.WARNING,
) -> None:
    """Install the handlers once per process (calling again replaces them)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in NOISY:
        # httpx logs every full URL at INFO, key included: keep it quiet by default.
        logging.getLogger(name).setLevel(logging.WARNING)
    formatter = RedactingFormatter(LOG_FORMAT)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        file_handler = RotatingFileHandler(
            log_dir / "connector.log", maxBytes=5_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setFormatter(formatter)
        _install(root, file_handler)
    stream = sys.stderr
    if console and stream is not None and not getattr(stream, "closed", False):
        console_handler = logging.StreamHandler(stream)
        console_handler.setFormatter(ConsoleFormatter("%(levelname)s: %(message)s"))
        console_handler.addFilter(_not_file_only)
        console_handler.setLevel(logging.DEBUG if verbose else console_level)
        _install(root, console_handler)


class ConsoleFormatter(RedactingFormatter):
    """One plain line per record: tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def _not_file_only(record: logging.LogRecord) -> bool:
    """Records logged with ``extra={"console": False}`` are for the log file only."""
    return getattr(record, "console", True) is not False


def _install(root: logging.Logger, handler: logging.Handler) -> None:
    root.addHandler(handler)
    _installed.append(handler)
