"""The connector's one clock: every decision about time (slots, cadence, status) asks it.

``now()`` is the wall clock in UTC. Tests that start the connector as a separate process set
``CONNECTOR_TEST_NOW`` to an ISO instant: the process's clock then starts at that instant and
runs on (like ``faketime -f '@...'``), so a subprocess test never depends on the hour or the
date it runs at. In-process code takes an injected ``now`` callable instead (``Options.now``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

Clock = Callable[[], datetime]
TEST_NOW = "CONNECTOR_TEST_NOW"


@cache
def _start() -> tuple[datetime, float] | None:
    given = os.environ.get(TEST_NOW, "").strip()
    if not given:
        return None
    instant = datetime.fromisoformat(given.replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC), time.monotonic()


def now() -> datetime:
    """The current time, aware and in UTC."""
    start = _start()
    if start is None:
        return datetime.now(UTC)
    instant, began = start
    return instant + timedelta(seconds=time.monotonic() - began)
