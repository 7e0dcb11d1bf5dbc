"""Text that is safe to put in a spreadsheet cell.

A cell that begins with ``= + - @``, tab, CR or LF can run as a formula in Excel or LibreOffice
(OWASP CSV injection). Buyer names and addresses come from marketplaces, so they are hostile
by default. The documented neutralisation: prefix such text with an apostrophe ``'``, which
Excel shows as a plain text marker; numbers the connector writes itself are left alone.
Control characters are dropped and embedded newlines become a single space.
"""

from __future__ import annotations

import re

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NEWLINES = re.compile(r"\s*(?:\r\n|\r|\n)\s*")
EXCEL_CELL_LIMIT = 32_767


def clean_text(text: str) -> str:
    """Drop control characters and fold newlines; keep accents and everything printable."""
    text = _CONTROL.sub("", text)
    if "\n" in text or "\r" in text:
        text = _NEWLINES.sub(" ", text)
    if len(text) > EXCEL_CELL_LIMIT:
        text = text[: EXCEL_CELL_LIMIT - 3] + "..."
    return text


def neutralise(text: str) -> str:
    """Make buyer-supplied text inert in a spreadsheet (see the module docstring)."""
    if text.startswith(DANGEROUS_START):
        return "'" + text
    return text


def safe_text(text: str) -> str:
    """``neutralise(clean_text(text))``, checking the raw start too (a leading tab or newline)."""
    if text.startswith(DANGEROUS_START):
        return "'" + clean_text(text)
    return neutralise(clean_text(text))
