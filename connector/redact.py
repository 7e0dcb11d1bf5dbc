"""Keep the API key out of every text the connector produces.

The key travels in the query string (Alephee has no auth header), so any URL is dangerous.
Two defences: a registry of known secrets replaced wherever they appear, and a pattern that
masks ``api_key=...`` in any URL. The logging formatter applies both to the *final* text,
traceback included: a filter on ``msg``/``args`` would miss ``exc_info`` (see notes 4).
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
_QUERY_KEY = re.compile(r"(?i)(api_key=)[^&\s\"'#]*")
_lock = threading.Lock()
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that every later ``redact()`` masks it."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    text = _QUERY_KEY.sub(r"\1" + MASK, text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks secrets in the whole record, traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
