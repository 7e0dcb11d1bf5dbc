"""The sandbox's in-memory state: catalog, orders, counters, request log and fault queue.

One re-entrant lock guards all of it. The HTTP handlers and the Python/control API take it for
the whole of each operation, so a request is applied completely or not at all as seen by others.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, deque
from typing import Any

from connector.sandbox.model import ci_get, ci_path, ci_set, iso_utc, parse_iso
from connector.sandbox.options import Fault, RequestRecord, SandboxOptions

Product = dict[str, Any]
Order = dict[str, Any]


def brand_matches(product: Product, wanted: str) -> bool:
    """Brand given by Id or by Name (names compared without regard to case)."""
    brand = ci_get(ci_get(product, "Identification"), "Brand")
    name, brand_id = ci_get(brand, "Name"), ci_get(brand, "Id")
    if wanted.strip().isdigit() and brand_id == int(wanted):
        return True
    return isinstance(name, str) and name.casefold() == wanted.strip().casefold()


class Store:
    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.lock = threading.RLock()
        self.products: dict[int, Product] = {}  # by Identification.Id
        self.product_updated_at: dict[int, float] = {}
        self.updates: Counter[str] = Counter()  # applied POST items per catalog SKU
        self.orders: dict[int, Order] = {}
        self.post_created: set[int] = set()  # orders created through POST /v2/orders
        self.tracking: dict[int, Any] = {}
        self.documents: dict[int, list[dict[str, Any]]] = {}  # POST orders/{id}/documents
        self.requests: list[RequestRecord] = []
        self.faults: deque[Fault] = deque()
        self.not_found_left: Counter[int] = Counter()  # integrate says "Order not found" n times
        self.ids: list[int] = []  # every product Id, sorted: GET pages slice it (an index)
        self._by_sku: dict[str, list[int]] = {}
        self._by_own_code: dict[str, list[int]] = {}

    def now(self) -> float:
        return self.options.clock()

    # -- catalog -----------------------------------------------------------------------------

    def load_catalog(
        self, products: list[Product], *, replace: bool = False, owned: bool = False
    ) -> None:
        """Add ProductCatalog dicts (copied unless ``owned``). A product whose Id is already
        loaded replaces it."""
        with self.lock:
            if replace:
                self.products.clear()
                self.product_updated_at.clear()
            next_id = max(self.products, default=0) + 1
            for product in products:
                product = product if owned else copy.deepcopy(product)
                next_id = max(next_id, self._put_product(product, next_id) + 1)
            self._reindex()

    def _put_product(self, product: Product, next_id: int) -> int:
        ident = ci_get(product, "Identification")
        if not isinstance(ident, dict):
            ident = {}
            ci_set(product, "Identification", ident)
        product_id = ci_get(ident, "Id")
        if not isinstance(product_id, int) or product_id <= 0:
            product_id = next_id  # the next free Id, known without scanning the catalog
            ci_set(ident, "Id", product_id)
        self.products[product_id] = product
        self.product_updated_at[product_id] = self.now()
        return product_id

    def _reindex(self) -> None:
        self._by_sku.clear()
        self._by_own_code.clear()
        self.ids = sorted(self.products)
        for product_id in self.ids:
            ident = ci_get(self.products[product_id], "Identification")
            for index, field in ((self._by_sku, "SKU"), (self._by_own_code, "OwnCode")):
                code = ci_get(ident, field)
                if isinstance(code, str) and code:
                    index.setdefault(code, []).append(product_id)

    def match_products(self, code: str) -> list[Product]:
        """Products whose SKU is ``code``; if none, those whose OwnCode is (section 5.3)."""
        ids = self._by_sku.get(code) or self._by_own_code.get(code) or []
        return [self.products[i] for i in ids]

    def ids_by_sku(self, code: str) -> list[int]:
        return list(self._by_sku.get(code, []))

    def products_by_sku(self, code: str) -> list[Product]:
        return [self.products[i] for i in self._by_sku.get(code, [])]

    def products_by_own_code(self, code: str) -> list[Product]:
        return [self.products[i] for i in self._by_own_code.get(code, [])]

    def mark_product_updated(self, product: Product) -> None:
        ident = ci_get(product, "Identification")
        self.product_updated_at[ci_get(ident, "Id")] = self.now()
        self.updates[str(ci_get(ident, "SKU"))] += 1

    def product(self, sku: str, brand: str | None = None) -> Product:
        with self.lock:
            found = []
            for candidates in (self.products_by_sku(sku), self.products_by_own_code(sku)):
                if brand is not None:
                    candidates = [p for p in candidates if brand_matches(p, brand)]
                if candidates:
                    found = candidates
                    break
            if not found:
                under = f" under brand {brand!r}" if brand is not None else ""
                raise KeyError(
                    f"no product with SKU or OwnCode {sku!r}{under} in the sandbox catalog"
                )
            return copy.deepcopy(found[0])

    # -- orders ------------------------------------------------------------------------------

    def add_orders(self, orders: list[Order], *, created_via_post: bool = False) -> None:
        """Add GET-orders-model dicts (copied); an order with a known Id replaces it."""
        with self.lock:
            for order in orders:
                stored = copy.deepcopy(order)
                order_id = ci_get(stored, "Id")
                if not isinstance(order_id, int) or isinstance(order_id, bool):
                    order_id = max(self.orders, default=0) + 1
                    ci_set(stored, "Id", order_id)
                for field in ("DateCreated", "LastUpdated"):
                    if parse_iso(ci_get(stored, field)) is None:
                        ci_set(stored, field, iso_utc(self.now()))
                self.orders[order_id] = stored
                if created_via_post:
                    self.post_created.add(order_id)
                else:
                    self.post_created.discard(order_id)

    def get_order(self, order_id: int) -> Order:
        with self.lock:
            if order_id not in self.orders:
                raise KeyError(f"no order {order_id} in the sandbox")
            return copy.deepcopy(self.orders[order_id])

    def touch(self, order: Order) -> None:
        """Bump LastUpdated, strictly later than before even if the clock stands still."""
        previous = parse_iso(ci_get(order, "LastUpdated")) or 0.0
        ci_set(order, "LastUpdated", iso_utc(max(self.now(), previous + 0.001)))

    def is_pending_payment(self, order: Order) -> bool:
        """Payments exist and none is approved (no DateApproved on any of them)."""
        payments = ci_get(order, "Payments")
        if not isinstance(payments, list) or not payments:
            return False
        return all(not ci_get(payment, "DateApproved") for payment in payments)

    def sale_date(self, order: Order) -> float | None:
        """When the marketplace sold it: the first payment's DateCreated, else DateCreated."""
        dates = [parse_iso(ci_get(p, "DateCreated")) for p in ci_get(order, "Payments") or []]
        known = [d for d in dates if d is not None]
        return min(known) if known else parse_iso(ci_get(order, "DateCreated"))

    def marketplace_id(self, order: Order) -> Any:
        return ci_path(order, "MarketPlace", "Key")

    # -- requests and faults -----------------------------------------------------------------

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)

    def take_fault(self, endpoint: str) -> Fault | None:
        """The first queued fault for ``endpoint``; consumes one of its ``count``."""
        with self.lock:
            for fault in self.faults:
                if fault.matches(endpoint):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return copy.copy(fault)
            return None
