"""The control API under ``/_sandbox/``: the Python API over HTTP, for a sandbox running in
another process (``connector sandbox``). No API key, no rate limit, not recorded, and only
answered on loopback addresses.

    POST /_sandbox/catalog              [products] or {"products": [...], "replace": bool}
    POST /_sandbox/orders               [orders] or {"orders": [...], "created_via_post": bool}
    GET  /_sandbox/orders/{id}
    GET  /_sandbox/orders/{id}/documents   what POST orders/{id}/documents stored (base64)
    GET  /_sandbox/orders/{id}/tracking    the last Tracking of PUT /v2/orders
    POST /_sandbox/orders/{id}/cancel   {"status": 90, "item_ids": [..]}  (body optional)
    POST /_sandbox/orders/{id}/approve
    POST /_sandbox/orders/{id}/not-found  {"times": n}: integrate answers "Order not found" n times
    POST /_sandbox/faults               a Fault object or a list of them
    GET  /_sandbox/requests             the request log (API key masked)
    GET  /_sandbox/products/{sku}       the SKU's current ProductCatalog dict (?brand=name or id)
    GET  /_sandbox/updates/{sku}        {"SKU": sku, "Updates": n}
    POST /_sandbox/reset                clears the request log, pending faults and rate limits
    GET  /_sandbox/quirks               the live-API quirks and whether each is on
    POST /_sandbox/quirks               {"streak_429": false, ...} or {"profile": "kind"}
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from connector.errors import ConfigError
from connector.sandbox.binding import ApiError, ApiResponse, error_body
from connector.sandbox.core import SandboxCore
from connector.sandbox.options import Fault

PREFIX = "/_sandbox/"
LOOPBACK = ("127.", "::1", "::ffff:127.")
Action = Callable[[SandboxCore, Any, str], Any]


def _body_list(body: Any, key: str) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(body, list):
        return body, {}
    if isinstance(body, dict) and isinstance(body.get(key), list):
        return body[key], body
    raise ApiError(400, f"expected a JSON array or an object with a {key!r} array")


def _catalog(core: SandboxCore, body: Any, _: str) -> Any:
    products, extra = _body_list(body, "products")
    core.load_catalog(products, replace=bool(extra.get("replace")))
    return {"Loaded": len(products)}


def _orders(core: SandboxCore, body: Any, _: str) -> Any:
    orders, extra = _body_list(body, "orders")
    core.add_orders(orders, created_via_post=bool(extra.get("created_via_post")))
    return {"Added": len(orders)}


def _cancel(core: SandboxCore, body: Any, order_id: str) -> Any:
    options = body if isinstance(body, dict) else {}
    core.cancel_order(int(order_id), options.get("status", 90), options.get("item_ids"))
    return core.order(int(order_id))


def _approve(core: SandboxCore, _: Any, order_id: str) -> Any:
    core.approve_payment(int(order_id))
    return core.order(int(order_id))


def _not_found(core: SandboxCore, body: Any, order_id: str) -> Any:
    times = body.get("times", 1) if isinstance(body, dict) else 1
    core.forget_order(int(order_id), int(times))
    return {"OrderId": int(order_id), "NotFoundTimes": int(times)}


def _faults(core: SandboxCore, body: Any, _: str) -> Any:
    specs = body if isinstance(body, list) else [body]
    try:
        faults = [Fault(**spec) for spec in specs]
    except (TypeError, ConfigError) as problem:
        raise ApiError(400, f"bad fault: {problem}") from None
    for fault in faults:
        core.inject(fault)
    return {"Queued": len(faults)}


def _reset(core: SandboxCore, _: Any, __: str) -> Any:
    core.reset_requests()
    core.clear_faults()
    core.reset_limits()
    return {"Reset": True}


def _quirks(core: SandboxCore, body: Any, _: str) -> Any:
    if not isinstance(body, dict):
        raise ApiError(400, 'expected an object such as {"streak_429": false}')
    try:
        return core.set_quirks(body).to_json()
    except ConfigError as problem:
        raise ApiError(400, str(problem)) from None


ACTIONS: tuple[tuple[str, re.Pattern[str], Action], ...] = (
    ("POST", re.compile(r"catalog"), _catalog),
    ("POST", re.compile(r"orders"), _orders),
    ("GET", re.compile(r"orders/(-?\d+)"), lambda core, _, oid: core.order(int(oid))),
    ("GET", re.compile(r"orders/(-?\d+)/documents"), lambda core, _, oid: core.documents(int(oid))),
    ("GET", re.compile(r"orders/(-?\d+)/tracking"), lambda core, _, oid: core.tracking(int(oid))),
    ("POST", re.compile(r"orders/(-?\d+)/cancel"), _cancel),
    ("POST", re.compile(r"orders/(-?\d+)/approve"), _approve),
    ("POST", re.compile(r"orders/(-?\d+)/not-found"), _not_found),
    ("POST", re.compile(r"faults"), _faults),
    ("GET", re.compile(r"requests"), lambda core, _, __: [r.to_json() for r in core.requests()]),
    ("GET", re.compile(r"products/(.+)"), lambda core, q, sku: core.product(sku, q.get("brand"))),
    (
        "GET",
        re.compile(r"updates/(.+)"),
        lambda core, _, sku: {"SKU": sku, "Updates": core.updates(sku)},
    ),
    ("POST", re.compile(r"reset"), _reset),
    ("GET", re.compile(r"quirks"), lambda core, _, __: core.options.quirks.to_json()),
    ("POST", re.compile(r"quirks"), _quirks),
)


def handle(
    core: SandboxCore, method: str, target: str, body: bytes | None, host: str
) -> ApiResponse:
    if not host.startswith(LOOPBACK):
        return ApiResponse(403, error_body(403, "the control API answers loopback clients only"))
    parts = urlsplit(target)
    rest = unquote(parts.path[len(PREFIX) :]).rstrip("/")
    try:
        data = json.loads(body.decode("utf-8")) if body else None
        if method == "GET":
            data = dict(parse_qsl(parts.query))  # a GET action reads its query as its body
        for verb, pattern, action in ACTIONS:
            found = pattern.fullmatch(rest)
            if found and verb == method:
                argument = found.group(1) if pattern.groups else ""
                return ApiResponse(200, action(core, data, argument))
        raise ApiError(404, f"no control action {method} {PREFIX}{rest}")
    except ApiError as problem:
        return ApiResponse(problem.status, error_body(problem.status, problem.message))
    except KeyError as missing:
        return ApiResponse(404, error_body(404, str(missing.args[0] if missing.args else missing)))
    except (ValueError, TypeError) as problem:
        return ApiResponse(400, error_body(400, str(problem)))
