"""Text that is safe to put in a spreadsheet cell.

A cell that begins with ``= + - @``, tab, CR or LF can run as a formula in Excel or LibreOffice
(OWASP CSV injection). Buyer names and addresses come from marketplaces, so they are hostile
by default. The documented neutralisation: prefix such text with an apostrophe ``'``, which
Excel shows as a plain text marker; numbers the connector writes itself are left alone.
Control characters are dropped, and so is every other character XML 1.0 cannot hold (U+FFFE,
U+FFFF, lone surrogates), so the CSV and the XLSX file hold the same text and the XLSX stays
well-formed. Tabs and line breaks at the start go; inside the text they become one space.
The apostrophe is for CSV only: an XLSX text cell is typed as text and can never run.
"""

from __future__ import annotations

import re

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")
# C0 controls but tab, CR and LF (folded below), DEL, and what XML 1.0 has no room for
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_NEWLINES = re.compile(r"\s*(?:\r\n|\r|\n|\t)\s*")
_LEADING_BREAKS = "\t\r\n"
EXCEL_CELL_LIMIT = 32_767


def clean_text(text: str) -> str:
    """Drop control characters and leading tabs and line breaks, fold inner ones to a space;
    keep accents and everything printable."""
    text = _CONTROL.sub("", text).lstrip(_LEADING_BREAKS)
    if "\n" in text or "\r" in text or "\t" in text:
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
    """``neutralise(clean_text(text))``: the text of a CSV cell."""
    return neutralise(clean_text(text))
