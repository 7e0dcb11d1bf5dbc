"""What Alephee's answer to one batch means for the state, recorded set-wise.

The rules, per queued change (one product and group):

- an explicit Ok advances the accepted state (``snapshot.accept_many``) and leaves the queue
  only when the queue still holds exactly the value sent: a newer export may have replaced it
  while the batch was out, and that newer value must still go;
- a refusal is remembered (``refused``), reported once per value and reason, and the value
  stays queued, postponed to its retry time when it is still the queued one;
- an unclear answer (transient) counts an attempt, is reported, and stays due.

Each rule is one statement per batch (``executemany``), not a round trip per item: the first
1M-product run spent 94 s in per-item SQL. The caller holds the batch's transaction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from connector.alephee.results import ItemResult
from connector.products import pending, refusals, snapshot

Answered = tuple[pending.Queued, ItemResult]


@dataclass(frozen=True)
class Stamps:
    now: str  # when the answer was recorded
    retry_at: str  # when a refused value is due again


def record(conn: sqlite3.Connection, answered: list[Answered], stamps: Stamps) -> None:
    """Record one batch's answers (call inside ``atomic``). The items are distinct queue rows."""
    accepted = [item for item, result in answered if result.ok and not result.transient]
    refused = [(i, r.message) for i, r in answered if not r.ok and not r.transient]
    lines = [(i, r.message) for i, r in answered if r.transient or _new_refusal(conn, i, r)]
    refusals.note_many(conn, lines, stamps.now)  # in the batch's order
    pending.failed_attempts(conn, [(i, r.message) for i, r in answered if r.transient])
    snapshot.accept_many(conn, ((i.key, i.group, i.values, i.as_of) for i in accepted), stamps.now)
    pending.remove_unchanged(conn, accepted)
    for item, message in refused:  # refusals are few: the per-item rules as they are
        snapshot.refuse(conn, item.key, item.group, item.values, message, stamps.now)
        refusals.postpone(conn, item, message, stamps.retry_at)


def _new_refusal(conn: sqlite3.Connection, item: pending.Queued, result: ItemResult) -> bool:
    """A refusal not reported yet: the same value refused for the same reason again (a retry)
    is reported once."""
    if result.ok or result.transient:
        return False
    row = conn.execute(
        "SELECT signature, message FROM refused WHERE sku = ? AND brand = ? AND grp = ?",
        (item.sku, item.brand, item.group),
    ).fetchone()
    same_value = row is not None and row["signature"] == snapshot.signature(item.values, item.group)
    return not (same_value and row["message"] == result.message)
