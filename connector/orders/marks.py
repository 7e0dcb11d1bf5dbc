"""Marking written orders as integrated (PUT /v2/orders/integrate), and believing the answer
only when it is clear.

Results are matched by OrderId, never by position. The vendor's own example echoes the wrong
``OrderStatus`` beside each result, so a batch whose answer is mixed (any item not "200", or an
OrderId missing or unknown) is verified with GET orders: an order counts as marked when Alephee
lists it as integrated with our OwnOrderId. An order Alephee says it does not know stays
``written`` and is marked (and re-checked) again next cycle, up to ``NOT_FOUND_RECHECKS``
times; then it is ``not_found`` and ``connector status`` lists it as unresolved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connector.alephee.models import IntegrateMark, IntegrateResult, OrderHead
from connector.db import atomic
from connector.intake.crashpoints import crashpoint
from connector.orders import ledger as ledger
from connector.orders.paths import child
from connector.slots import iso

if TYPE_CHECKING:
    from connector.orders.cycles import Cycle

log = logging.getLogger(__name__)


def mark_written(cycle: Cycle) -> None:
    """PUT orders/integrate for every written order not yet acknowledged, in batches. An order
    is sent once per cycle: one whose answer was unclear waits for the next cycle's re-check."""
    pending = [(oid, own) for oid, own in ledger.unmarked(cycle.conn) if oid not in cycle.tried]
    cycle.tried.update(oid for oid, _ in pending)
    size = cycle.config.alephee.integrate_batch_size
    for start in range(0, len(pending), size):
        if start and cycle.stop():
            return  # the rest stays written: marked next run
        sent = dict(pending[start : start + size])
        marks = [
            IntegrateMark(
                order_id=oid,
                own_order_id=own,
                integrated=True,
                erp_status=cycle.config.orders.erp_status,
            )
            for oid, own in sent.items()
        ]
        results = cycle.client.integrate(marks)
        crashpoint("orders.after_integrate")
        verified = None if _clear(results, sent) else integrated_ids(cycle, sent)
        with atomic(cycle.conn):
            for oid in sent:
                _settle(cycle, oid, results.get(oid), verified)


def _clear(results: dict[int, IntegrateResult], sent: dict[int, str]) -> bool:
    """Every order we sent got exactly its own "200": nothing to doubt."""
    return set(results) == set(sent) and all(r.status == "200" for r in results.values())


def integrated_ids(cycle: Cycle, sent: dict[int, str]) -> set[int]:
    """The orders of ``sent`` that GET orders lists as integrated under our OwnOrderId."""
    query = {"Integrated": "true", "idFrom": str(min(sent)), "idTo": str(max(sent))}
    found: set[int] = set()
    for raw in cycle.client.iter_orders(query):
        oid = OrderHead.model_validate(raw).id
        if oid in sent and str(child(raw, "IntegratedOrderId") or "") == sent[oid]:
            found.add(oid)
    return found


def _settle(
    cycle: Cycle, order_id: int, result: IntegrateResult | None, verified: set[int] | None
) -> None:
    now = iso(cycle.now)
    message = result.message if result is not None else ""
    if verified is None or order_id in verified:
        ledger.set_marked(cycle.conn, order_id, "marked", message or "verified", now)
    elif "not found" in message.lower():
        count = ledger.count_not_found(cycle.conn, order_id, message, now)
        if count >= ledger.NOT_FOUND_RECHECKS:
            ledger.set_marked(cycle.conn, order_id, "not_found", message, now)
            cycle.not_found.append(order_id)
            log.error(
                "Alephee still does not know order %d after %d checks (%s): check it in Alephee",
                order_id,
                count,
                message,
            )
        else:
            log.warning(
                "Alephee said order %d was not found (%d of %d); checked again next cycle",
                order_id,
                count,
                ledger.NOT_FOUND_RECHECKS,
            )
    else:
        status = result.status if result is not None else "no answer"
        log.warning(
            "order %d not marked (%s %s); tried again next cycle", order_id, status, message
        )
