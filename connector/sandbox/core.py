"""The sandbox's state and the operations tests drive it with.

Shared by the Python API (``Sandbox``) and the HTTP control API (``/_sandbox/...``), so both
behave the same. Every operation holds the store lock for its whole duration.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from connector.sandbox import order_documents, order_writes
from connector.sandbox.gcra import RateLimiter
from connector.sandbox.model import CANCELLED_STATUSES
from connector.sandbox.options import Fault, RequestRecord, SandboxOptions
from connector.sandbox.quirks import Quirks, StreakGate
from connector.sandbox.store import Store


class SandboxCore:
    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.store = Store(options)
        self.limiter = RateLimiter(
            rate_per_window=options.rate_per_minute,
            burst=options.burst,
            window_seconds=options.window_seconds,
            clock=options.clock,
            overrides=options.rate_limits,
            second_grace=options.gcra_second_grace,
        )
        self.stopping = threading.Event()  # wakes requests held by delay/timeout faults
        self.streaks = StreakGate()
        # Seconds spent handling API requests (read, apply, write the answer): a benchmark
        # subtracts the sandbox's own time from a client's wall time.
        self.busy_seconds = 0.0
        self.busy_lock = threading.Lock()

    def set_quirks(self, switches: dict[str, Any]) -> Quirks:
        """Switch quirks on or off (``{"streak_429": false}``, ``{"profile": "kind"}``)."""
        switches = dict(switches)
        profile = switches.pop("profile", None)
        base = Quirks.profile(str(profile)) if profile is not None else self.options.quirks
        self.options.quirks = base.with_switches(switches)
        return self.options.quirks

    def load_catalog(
        self, products: list[dict[str, Any]], *, replace: bool = False, owned: bool = False
    ) -> None:
        self.store.load_catalog(products, replace=replace, owned=owned)

    def add_orders(self, orders: list[dict[str, Any]], *, created_via_post: bool = False) -> None:
        self.store.add_orders(orders, created_via_post=created_via_post)

    def cancel_order(
        self, order_id: int, status: int = 90, item_ids: list[int] | None = None
    ) -> None:
        if status not in CANCELLED_STATUSES:
            raise ValueError(f"status {status} is not a cancellation (use 90, 93 or 11)")
        with self.store.lock:
            self._require_order(order_id)
            order_writes.cancel_order(self.store, order_id, status, item_ids)

    def forget_order(self, order_id: int, times: int = 1) -> None:
        """PUT orders/integrate answers "Order not found" for this order ``times`` times."""
        with self.store.lock:
            self._require_order(order_id)
            self.store.not_found_left[order_id] = times

    def approve_payment(self, order_id: int) -> None:
        with self.store.lock:
            self._require_order(order_id)
            order_writes.approve_payment(self.store, order_id)

    def _require_order(self, order_id: int) -> None:
        if order_id not in self.store.orders:
            raise KeyError(f"no order {order_id} in the sandbox")

    def inject(self, fault: Fault) -> None:
        with self.store.lock:
            self.store.faults.append(copy.copy(fault))  # the queue counts down its own copy

    def requests(self) -> list[RequestRecord]:
        with self.store.lock:
            return list(self.store.requests)

    def product(self, sku: str, brand: str | None = None) -> dict[str, Any]:
        return self.store.product(sku, brand)

    def order(self, order_id: int) -> dict[str, Any]:
        return self.store.get_order(order_id)

    def documents(self, order_id: int) -> list[dict[str, Any]]:
        with self.store.lock:
            return order_documents.documents_of(self.store, order_id)

    def tracking(self, order_id: int) -> Any:
        with self.store.lock:
            self._require_order(order_id)
            return copy.deepcopy(self.store.tracking.get(order_id))

    def updates(self, sku: str) -> int:
        with self.store.lock:
            return self.store.updates[sku]

    def reset_requests(self) -> None:
        with self.store.lock:
            self.store.requests.clear()

    def clear_faults(self) -> None:
        with self.store.lock:
            self.store.faults.clear()

    def reset_limits(self) -> None:
        self.limiter.reset()
        self.streaks.reset()
