"""Alephee for a dry run: reads go to the real API, writes are recorded and never sent.

Each write is answered as a successful Alephee would answer it, so the rest of the pass
(state moves, order cycles) runs exactly as in a real run; the whole pass is rolled back
afterwards (``connector.dryrun.rehearse``). An order marked in the rehearsal leaves the
"not integrated" listing, as it would in Alephee, so the normal cycle ends as it would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from connector.alephee.client import JSON, AlephClient
from connector.alephee.models import (
    DocumentUpload,
    IntegrateMark,
    IntegrateResult,
    ProductItem,
    StatusUpdate,
)
from connector.alephee.results import ItemResult
from connector.errors import ConfigError

ANSWER = "not sent: dry run"


@dataclass(frozen=True)
class Write:
    """One request a real pass would have sent."""

    endpoint: str
    items: list[dict[str, Any]]


class RecordingClient(AlephClient):
    """An ``AlephClient`` whose writes are recorded in ``writes`` instead of being sent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[Write] = []
        self._marked: set[int] = set()

    def post_products(self, items: list[ProductItem]) -> dict[str, ItemResult]:
        self.writes.append(Write("POST /v2/products", [i.body() for i in items]))
        return {item.sku: ItemResult(ok=True, message=ANSWER) for item in items}

    def integrate(self, marks: list[IntegrateMark]) -> dict[int, IntegrateResult]:
        self.writes.append(Write("PUT /v2/orders/integrate", [m.body() for m in marks]))
        self._marked.update(m.order_id for m in marks)
        return {m.order_id: _ok(m.order_id) for m in marks}

    def update_status(self, updates: list[StatusUpdate]) -> dict[int, IntegrateResult]:
        self.writes.append(Write("PUT /v2/orders", [u.body() for u in updates]))
        return {u.order_id: _ok(u.order_id) for u in updates}

    def attach_document(
        self, order_id: int, document: DocumentUpload, attached: Callable[[], bool]
    ) -> None:
        body = {k: v for k, v in document.body().items() if k != "Content"}  # not the bytes
        self.writes.append(Write(f"POST /v2/orders/{order_id}/documents", [body]))

    def iter_orders(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        hide = self._marked if params.get("Integrated") == "false" else set()
        for raw in super().iter_orders(params):
            if raw.get("Id") not in hide:
                yield raw

    def _attempt(self, method: str, path: str, *args: Any) -> JSON:
        # The last line of defence: a write this class does not record never leaves the machine.
        if method != "GET":
            raise ConfigError(f"a dry run cannot send {method} {path}: it has no recorder")
        return super()._attempt(method, path, *args)

    def count(self, endpoint: str) -> tuple[int, int]:
        """(calls, items) recorded for ``endpoint``."""
        found = [w for w in self.writes if w.endpoint == endpoint]
        return len(found), sum(len(w.items) for w in found)


def _ok(order_id: int) -> IntegrateResult:
    return IntegrateResult.model_validate(
        {"Status": "200", "Message": ANSWER, "OrderStatus": {"OrderId": order_id}}
    )
