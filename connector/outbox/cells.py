"""Moved to ``connector.cells`` (ground level: the rejects report in ``readers`` needs it too).

Kept so branches written against the old place still import; new code imports
``connector.cells``.
"""

from connector.cells import (
    DANGEROUS_START,
    EXCEL_CELL_LIMIT,
    clean_text,
    neutralise,
    safe_text,
)

__all__ = ["DANGEROUS_START", "EXCEL_CELL_LIMIT", "clean_text", "neutralise", "safe_text"]
