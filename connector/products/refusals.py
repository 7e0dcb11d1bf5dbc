"""The report of changes Alephee refused: which product (SKU, brand), what was sent, from which
file, and why.

Written to outbox/ as ``rejects-alephee-<time>.csv`` in the outbox locale, every text cell made
spreadsheet-safe. These products are not sent again until the ERP exports a different value.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from connector.config import Config
from connector.fsutil import publish, timestamped_name
from connector.outbox.cells import safe_text
from connector.products import pending

HEADER = ["sku", "brand", "what", "values sent", "source file", "line", "Alephee says"]


def write_refusals(
    config: Config, refused: list[tuple[pending.Queued, str]], now: datetime
) -> Path:
    delimiter = "," if config.outbox.locale == "en-US" else ";"
    decimal = "." if config.outbox.locale == "en-US" else ","
    rows = [
        [
            item.sku,
            item.brand,
            item.group,
            _values(item.values, decimal),
            item.source,
            str(item.line),
            message,
        ]
        for item, message in refused
    ]

    def write(handle: BinaryIO) -> None:
        text = io.StringIO(newline="")
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(HEADER)
        writer.writerows([[safe_text(cell) for cell in row] for row in rows])
        handle.write(text.getvalue().encode("utf-8-sig"))

    local = now.astimezone(config.schedule.zone)
    return publish(config.folders.outbox, timestamped_name("rejects-alephee", ".csv", local), write)


def _values(values: dict[str, int], decimal: str) -> str:
    parts = []
    for col, value in sorted(values.items()):
        if col == "quantity":
            parts.append(f"stock {value}")
        else:
            amount = f"{value / 10_000:.4f}".rstrip("0").rstrip(".").replace(".", decimal)
            parts.append(f"{col.removesuffix('_e4').replace('_', ' ')} {amount}")
    return " / ".join(parts)
