"""``SandboxControl``: drive a sandbox that runs in another process, over its control API.

Mirrors the ``Sandbox`` data methods, so a test written against one works with the other.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from urllib.parse import quote

import httpx

from connector.sandbox.options import Fault, RequestRecord


class SandboxControl:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url + "/_sandbox", timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._client.request(method, path, json=body)
        if response.status_code == 404:
            raise KeyError(response.json().get("Message", path))
        if response.status_code != 200:
            raise ValueError(f"sandbox control {method} {path}: {response.text}")
        return response.json()

    def load_catalog(self, products: list[dict[str, Any]], *, replace: bool = False) -> None:
        self._call("POST", "/catalog", {"products": products, "replace": replace})

    def add_orders(self, orders: list[dict[str, Any]], *, created_via_post: bool = False) -> None:
        self._call("POST", "/orders", {"orders": orders, "created_via_post": created_via_post})

    def cancel_order(
        self, order_id: int, status: int = 90, item_ids: list[int] | None = None
    ) -> None:
        self._call("POST", f"/orders/{order_id}/cancel", {"status": status, "item_ids": item_ids})

    def approve_payment(self, order_id: int) -> None:
        self._call("POST", f"/orders/{order_id}/approve")

    def forget_order(self, order_id: int, times: int = 1) -> None:
        """PUT orders/integrate answers "Order not found" for this order ``times`` times."""
        self._call("POST", f"/orders/{order_id}/not-found", {"times": times})

    def inject(self, fault: Fault) -> None:
        self._call("POST", "/faults", asdict(fault))

    def set_quirks(self, **switches: Any) -> dict[str, Any]:
        """Switch live-API quirks (``streak_429=False``, ``profile="kind"``); returns them all."""
        result: dict[str, Any] = self._call("POST", "/quirks", switches)
        return result

    @property
    def requests(self) -> list[RequestRecord]:
        return [RequestRecord(**record) for record in self._call("GET", "/requests")]

    def reset(self) -> None:
        """Clears the request log, pending faults and rate-limit state."""
        self._call("POST", "/reset")

    def product(self, sku: str, brand: str | None = None) -> dict[str, Any]:
        query = f"?brand={quote(brand, safe='')}" if brand is not None else ""
        result: dict[str, Any] = self._call("GET", f"/products/{quote(sku, safe='')}{query}")
        return result

    def order(self, order_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/orders/{order_id}")
        return result

    def updates(self, sku: str) -> int:
        return int(self._call("GET", f"/updates/{quote(sku, safe='')}")["Updates"])

    def documents(self, order_id: int) -> list[dict[str, Any]]:
        """What POST /v2/orders/{id}/documents stored (``Content`` in base64, ``Sha256``)."""
        result: list[dict[str, Any]] = self._call("GET", f"/orders/{order_id}/documents")
        return result

    def tracking(self, order_id: int) -> Any:
        return self._call("GET", f"/orders/{order_id}/tracking")
