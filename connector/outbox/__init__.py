"""Files that people open in Excel: Excel-safe cells, typed values, CSV and XLSX writers.

Owns: neutralising text (``cells``), typed cells (``typed``), the XLSX writer (``xlsx``) and
publishing a new outbox file atomically (``publish``).

May import: the shared ground only (``connector.config``, ``connector.fsutil``). Every stage that
writes a file for people (products' reports, orders, the dry-run list) imports it.
"""
