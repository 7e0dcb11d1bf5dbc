"""GET /v2/orders: the filters of section 6.1 and the statusType groups of section 6.4."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from connector.sandbox.binding import ApiError, ApiRequest, ApiResponse, Query, page_response
from connector.sandbox.model import STATUS_GROUPS, ci_get, ci_path, parse_iso
from connector.sandbox.store import Order, Store

SORTS = {"id": "ID", "datecreated": "dateCreated"}
STATUS_TYPES = frozenset({0, 1, 2, 99})

OrderTest = Callable[[Order], bool]


def get_orders(request: ApiRequest) -> ApiResponse:
    store, query = request.store, request.query
    sort = SORTS.get((query.text("sort") or "id").lower(), "ID")  # unknown sorts are ignored
    tests = _filters(store, query, request.options.integrated_default_false)
    if query.boolean("includePendingPayments"):
        if not request.options.pending_payments_privilege:
            raise ApiError(403, "La cuenta no tiene el privilegio para ver pagos pendientes.")
    else:
        tests.append(lambda order: not store.is_pending_payment(order))
    found = [o for o in store.orders.values() if all(test(o) for test in tests)]
    found.sort(key=_sort_key(sort))
    response, window = page_response(
        query, found, cap=request.options.orders_page_cap, sort_id=sort, sorts=tuple(SORTS.values())
    )
    response.body["Results"] = [copy.deepcopy(o) for o in found[window]]
    return response


def _sort_key(sort: str) -> Callable[[Order], tuple[float, int]]:
    if sort == "dateCreated":
        return lambda o: (parse_iso(ci_get(o, "DateCreated")) or 0.0, ci_get(o, "Id"))
    return lambda o: (0.0, ci_get(o, "Id"))


def status_group(order: Order) -> Any:
    """The statusType group of the order's status code (section 6.4), else its StatusType."""
    code = ci_path(order, "Status", "Key")
    return STATUS_GROUPS.get(code, ci_path(order, "StatusType", "Key"))


def _filters(store: Store, query: Query, integrated_default_false: bool) -> list[OrderTest]:
    tests: list[OrderTest] = []
    integrated = query.boolean("Integrated")
    if integrated is None and integrated_default_false:
        integrated = False  # the documented default [INF: could mean "no filter"]
    if integrated is not None:
        tests.append(lambda o: bool(ci_get(o, "Integrated")) == integrated)
    status_type = query.integer("statusType")
    if status_type is not None:
        if status_type not in STATUS_TYPES:
            raise ApiError(400, "statusType debe ser 0, 1, 2 o 99.")
        tests.append(lambda o: status_group(o) == status_type)
    tests += _date_filters(store, query) + _id_filters(query)
    erp_status = query.text("erpStatus")
    if erp_status is not None:
        tests.append(lambda o: ci_get(o, "ErpStatus") == erp_status)
    marketplace = query.integer("marketplaceId")
    if marketplace is not None:
        tests.append(lambda o: store.marketplace_id(o) == marketplace)
    return tests


def _date_filters(store: Store, query: Query) -> list[OrderTest]:
    """Lower bounds only, all inclusive (>=) [INF]."""
    fields: dict[str, Callable[[Order], float | None]] = {
        "dateCreatedFrom": lambda o: parse_iso(ci_get(o, "DateCreated")),
        "saleDateFrom": store.sale_date,
        "statusDateFrom": lambda o: parse_iso(ci_get(o, "LastUpdated")),
    }
    tests: list[OrderTest] = []
    for name, date_of in fields.items():
        bound = query.date(name)
        if bound is not None:
            tests.append(_on_or_after(date_of, bound))
    return tests


def _on_or_after(date_of: Callable[[Order], float | None], bound: float) -> OrderTest:
    return lambda order: (date_of(order) or 0.0) >= bound


def _id_filters(query: Query) -> list[OrderTest]:
    tests: list[OrderTest] = []
    id_from, id_to = query.integer("idFrom"), query.integer("idTo")
    if id_from is not None:
        tests.append(lambda o: ci_get(o, "Id") >= id_from)
    if id_to is not None:
        tests.append(lambda o: ci_get(o, "Id") <= id_to)
    ext_from, ext_to = query.text("externalOrderIdFrom"), query.text("externalOrderIdTo")
    if ext_from is not None:
        tests.append(
            lambda o: _external_key(ci_get(o, "ExternalOrderId")) >= _external_key(ext_from)
        )
    if ext_to is not None:
        tests.append(lambda o: _external_key(ci_get(o, "ExternalOrderId")) <= _external_key(ext_to))
    return tests


def _external_key(value: Any) -> tuple[int, int, str]:
    """Marketplace ids compare as numbers when both are digits, else as text."""
    text = str(value or "")
    return (0, int(text), "") if text.isdigit() else (1, 0, text)
