"""PUT /v2/orders/integrate (section 8) and PUT /v2/orders, the status update (section 7).

Both answer 200 with one result per item. The integrate results come back shuffled (seeded), as
in the vendor's own example, so a client that matches by position instead of OrderId fails here.
"""

from __future__ import annotations

import random
from typing import Any, TypeGuard

from connector.sandbox import model
from connector.sandbox.binding import ApiRequest, ApiResponse
from connector.sandbox.model import ci_get, ci_path, ci_set, fold_keys, status_fields
from connector.sandbox.store import Order, Store

SETTABLE_STATUSES = frozenset({10, 17, 20, 80, 90})
# Suggested transitions of section 6.4 [INF], used when enforce_transitions is on.
TRANSITIONS = {
    10: {17, 20, 90},
    17: {20, 90},
    20: {80, 87, 89, 90},
    87: {90},
    89: {90},
    0: {10, 90},
}


def integrate_orders(request: ApiRequest) -> ApiResponse:
    items = request.json_array(request.options.integrate_max_items)
    results = [_integrate_one(request.store, item) for item in items]
    if request.options.misaligned_integrate_echo and len(results) > 1:
        # The vendor's example: each OrderStatus echo sits beside another item's result.
        echoes = [r["OrderStatus"] for r in results]
        for result, echo in zip(results, echoes[1:] + echoes[:1], strict=True):
            result["OrderStatus"] = echo
    if request.options.shuffle_integrate_results and len(results) > 1:
        shuffled = results[:]
        random.Random(request.options.shuffle_seed + len(request.store.requests)).shuffle(shuffled)
        # Never hand back request order: a client matching by position must fail here.
        results = shuffled if shuffled != results else results[1:] + results[:1]
    return ApiResponse(200, {"Total": len(results), "Results": results})


def _integrate_one(store: Store, item: Any) -> dict[str, Any]:
    fields: dict[str, Any] = fold_keys(item) if isinstance(item, dict) else {}
    order_id, integrated = fields.get("orderid"), fields.get("integrated")
    if not _is_int(order_id):
        return _integrate_result(item, "400", "OrderId debe ser un número entero")
    order = store.orders.get(order_id)
    if order is None:
        return _integrate_result(item, "400", "Order not found")
    if store.not_found_left[order_id] > 0:  # a test made Alephee forget it for a while
        store.not_found_left[order_id] -= 1
        return _integrate_result(item, "400", "Order not found")
    if not isinstance(integrated, bool):
        return _integrate_result(item, "400", "Integrated debe ser true o false")
    ci_set(order, "Integrated", integrated)
    if fields.get("ownorderid") is not None:
        ci_set(order, "IntegratedOrderId", str(fields["ownorderid"]))
    if fields.get("erpstatus") is not None:
        ci_set(order, "ErpStatus", str(fields["erpstatus"]))
    store.touch(order)
    return _integrate_result(item, "200", "Ok")


def _integrate_result(item: Any, status: str, message: str) -> dict[str, Any]:
    return {"Status": status, "Message": message, "OrderStatus": item}


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- PUT /v2/orders (status) -------------------------------------------------------------------


def update_statuses(request: ApiRequest) -> ApiResponse:
    items = request.json_array(request.options.order_status_max_items)
    results = []
    for item in items:
        status, message = _update_one(request, item)
        results.append({"OrderStatus": item, "Status": status, "Message": message})
    return ApiResponse(200, {"Total": len(results), "Results": results})


def _update_one(request: ApiRequest, item: Any) -> tuple[int, str]:
    store = request.store
    fields: dict[str, Any] = fold_keys(item) if isinstance(item, dict) else {}
    order_id, status = fields.get("orderid"), fields.get("status")
    if not _is_int(order_id):
        return 400, "OrderId debe ser un número entero."
    order = store.orders.get(order_id)
    if order is None:
        return 404, "Order not found"
    if not _is_int(status) or status not in SETTABLE_STATUSES:
        return 400, "Status debe ser 10, 17, 20, 80 o 90."
    problem = _status_problem(request, order, status)
    if problem is not None:
        return problem
    _set_status(order, status)
    if fields.get("tracking") is not None:
        store.tracking[order_id] = ci_get(item, "Tracking")
    store.touch(order)
    return 200, "Ok"


def _status_problem(request: ApiRequest, order: Order, status: int) -> tuple[int, str] | None:
    if status == 90 and ci_get(order, "Id") not in request.store.post_created:
        return 400, "El estado 90 solo se admite en órdenes creadas por la API (POST orders)."
    if ci_path(order, "Shipping", "Method", "Key") == model.SHIPPING_METHOD_MARKETPLACE:
        return 412, "El envío lo gestiona el marketplace: el estado se actualiza automáticamente."
    current = ci_path(order, "Status", "Key")
    if request.options.enforce_transitions and status not in TRANSITIONS.get(current, set()):
        return 412, f"No se permite pasar del estado {current} al {status}."
    return None


def _set_status(order: Order, status: int) -> None:
    """Order and active items take the new status; 90 also cancels them."""
    for name, value in status_fields(status).items():
        ci_set(order, name, value)
    cancelled = status in model.CANCELLED_STATUSES
    if cancelled:
        ci_set(order, "IsCancelled", True)
    for item in ci_get(order, "Items") or []:
        if isinstance(item, dict) and not ci_get(item, "IsCancelled"):
            for name, value in status_fields(status).items():
                ci_set(item, name, value)
            if cancelled:
                ci_set(item, "IsCancelled", True)


def cancel_order(store: Store, order_id: int, status: int, item_ids: list[int] | None) -> None:
    """A late cancellation by the marketplace; with ``item_ids`` only those items (and the
    components of a cancelled kit). The order itself is cancelled when no item is left."""
    order = store.orders[order_id]
    items = [i for i in ci_get(order, "Items") or [] if isinstance(i, dict)]
    chosen = set(item_ids) if item_ids is not None else {ci_get(i, "Id") for i in items}
    chosen |= {ci_get(i, "Id") for i in items if ci_get(i, "ParentItemId") in chosen}
    for item in items:
        if ci_get(item, "Id") in chosen:
            for name, value in status_fields(status).items():
                ci_set(item, name, value)
            ci_set(item, "IsCancelled", True)
    if all(ci_get(i, "IsCancelled") for i in items):
        for name, value in status_fields(status).items():
            ci_set(order, name, value)
        ci_set(order, "IsCancelled", True)
    store.touch(order)


def approve_payment(store: Store, order_id: int) -> None:
    """The payment of a pending order is approved: the order becomes visible by default."""
    order = store.orders[order_id]
    when = model.iso_utc(store.now())
    for payment in ci_get(order, "Payments") or []:
        if isinstance(payment, dict) and not ci_get(payment, "DateApproved"):
            ci_set(payment, "DateApproved", when)
            ci_set(
                payment,
                "Status",
                model.key_value(model.PAYMENT_APPROVED, model.PAYMENT_STATUS_NAMES),
            )
    store.touch(order)
