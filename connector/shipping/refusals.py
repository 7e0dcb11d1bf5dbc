"""The report of status updates Alephee refused: which order, what was sent, from which file
and line, and Alephee's message (for example: shipping handled by the marketplace).

Written once per refusal to outbox/ as ``rejects-alephee-orders-<time>.csv`` in the outbox
locale, every text cell spreadsheet-safe. The same value is not sent again until the ERP
exports a different one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from connector.config import Config
from connector.fsutil import publish, timestamped_name
from connector.outbox.publish import write_csv
from connector.outbox.typed import Cell, Number, Text
from connector.shipping.state import QueuedStatus

HEADER = [
    "order",
    "Alephee order Id",
    "status",
    "tracking",
    "tracking status",
    "source file",
    "line",
    "Alephee says",
]


def write_status_refusals(
    config: Config, refused: list[tuple[QueuedStatus, str]], now: datetime
) -> Path:
    rows: list[list[Cell]] = [
        [
            Text(item.ref),
            Number(Decimal(item.order_id)),
            Number(Decimal(item.status)),
            Text(item.tracking),
            Text(item.tracking_status),
            Text(item.source),
            Number(Decimal(item.line)),
            Text(message),
        ]
        for item, message in refused
    ]
    local = now.astimezone(config.schedule.zone)
    name = timestamped_name("rejects-alephee-orders", ".csv", local)
    return publish(
        config.folders.outbox, name, lambda handle: write_csv(handle, HEADER, rows, config.outbox)
    )
