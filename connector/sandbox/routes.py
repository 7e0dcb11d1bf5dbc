"""The API's route table: which handler serves which method and path."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from connector.sandbox import accounts, order_documents, order_writes, orders, products
from connector.sandbox.binding import ApiRequest, ApiResponse

Handler = Callable[[ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: str
    handler: Handler


def _route(method: str, template: str, handler: Handler) -> Route:
    regex = re.escape(template).replace(r"\{id\}", r"(?P<id>\d+)")
    return Route(method, re.compile(regex), f"{method} {template}", handler)


ROUTES = (
    _route("GET", "/v2/products", products.get_products),
    _route("POST", "/v2/products", products.post_products),
    _route("GET", "/v2/orders", orders.get_orders),
    _route("PUT", "/v2/orders", order_writes.update_statuses),
    _route("PUT", "/v2/orders/integrate", order_writes.integrate_orders),
    _route("POST", "/v2/orders/{id}/documents", order_documents.attach_document),
    _route("GET", "/v2/accounts", accounts.get_accounts),
    _route("GET", "/v2/accounts/{id}/pricelists", accounts.get_price_lists),
    _route("GET", "/v2/accounts/pricelists", accounts.get_price_lists),
    _route("GET", "/v2/accounts/{id}/marketplaces", accounts.get_marketplaces),
    _route("GET", "/v2/accounts/{id}/stores", accounts.get_stores),
)


def resolve(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """The route, its path parameters, and whether the path exists for some other method."""
    normal = path.rstrip("/").lower() or "/"  # ASP.NET routes ignore case
    path_known = False
    for route in ROUTES:
        found = route.pattern.fullmatch(normal)
        if found:
            if route.method == method:
                return route, found.groupdict(), True
            path_known = True
    return None, {}, path_known
