"""GET and POST /v2/products (API reference, sections 4 and 5)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from connector.sandbox import model
from connector.sandbox.binding import ApiError, ApiRequest, ApiResponse, page_response
from connector.sandbox.model import ci_get, ci_path, ci_set, fold_keys
from connector.sandbox.product_rules import ItemChange, Message, check_item, error
from connector.sandbox.store import Product, Store, brand_matches


def price_list_id(request: ApiRequest, *, required: bool) -> int | None:
    """The ``priceListId`` to use: optional when the account has exactly one price list."""
    lists = [ci_get(p, "Id") for p in request.options.price_lists]
    wanted = request.query.integer("priceListId")
    if wanted is None:
        if required and len(lists) != 1:
            raise ApiError(
                400, "priceListId es obligatorio: la cuenta tiene más de una lista de precios."
            )
        return lists[0] if required and lists else None
    if wanted not in lists:
        raise ApiError(400, f"La lista de precios {wanted} no pertenece a la cuenta.")
    return wanted


# -- GET ---------------------------------------------------------------------------------------


def get_products(request: ApiRequest) -> ApiResponse:
    store, query = request.store, request.query
    list_id = price_list_id(request, required=False)
    found = _candidates(request)
    if any(query.text(name) is not None for name in FILTERS):
        found = [i for i in found if _matches_filters(request, store.products[i])]
    quirks = request.options.quirks
    cap = request.options.products_page_cap
    if quirks.short_pages:
        cap = min(cap, quirks.page_cap)
    response, window = page_response(query, found, cap=cap, sort_id="ID", sorts=("ID",))
    response.body["Results"] = [_public_view(store.products[i], list_id) for i in found[window]]
    if quirks.short_pages:  # live: fewer rows than asked, the limit asked echoed, a plain 200
        response.status = 200
        response.body["Paging"]["Limit"] = query.integer("limit", 100)
    return response


FILTERS = ("SKU", "ownCode", "brand", "dateUpdatedFrom", "types", "catalogStatus")


def _candidates(request: ApiRequest) -> list[int]:
    """Product Ids in page order, from the store's indexes: a page of a million-product
    catalog is a slice, not a scan (a SKU filter starts from the SKU index)."""
    store, sku = request.store, request.query.text("SKU")
    if sku is None:
        return store.ids
    return sorted(store.ids_by_sku(sku))


def _matches_filters(request: ApiRequest, product: Product) -> bool:
    query, ident = request.query, ci_get(product, "Identification")
    checks = (
        ("SKU", lambda v: ci_get(ident, "SKU") == v),
        ("ownCode", lambda v: ci_get(ident, "OwnCode") == v),
        ("brand", lambda v: _brand_matches(ident, v)),
    )
    if any((v := query.text(name)) is not None and not test(v) for name, test in checks):
        return False
    updated_from = query.date("dateUpdatedFrom")
    if updated_from is not None:
        if request.store.product_updated_at.get(ci_get(ident, "Id"), 0.0) < updated_from:
            return False
    types = query.int_set("types")
    if types is not None and ci_path(ident, "ProductType", "Id") not in types:
        return False
    statuses = query.int_set("catalogStatus")
    status = ci_get(ident, "CatalogStatus")
    # The doc page says {Id, Name}, the Swagger sample {Key, Value}: accept both.
    return statuses is None or (ci_get(status, "Id", ci_get(status, "Key"))) in statuses


def _brand_matches(ident: Any, wanted: str) -> bool:
    return brand_matches({"Identification": ident}, wanted)


def _public_view(product: Product, list_id: int | None) -> Product:
    """What GET returns: Stock without Movement (never returned), Price filtered by list."""
    view = copy.deepcopy(product)
    _drop_movement(ci_get(view, "Stock"))
    for component in ci_get(view, "KitComponents") or []:
        _drop_movement(ci_get(component, "Stock"))
    prices = ci_get(view, "Price")
    if list_id is not None and isinstance(prices, list):
        ci_set(view, "Price", [p for p in prices if ci_path(p, "PriceList", "Id") == list_id])
    return view


def _drop_movement(stock: Any) -> None:
    if isinstance(stock, dict):
        for name in [n for n in stock if n.lower() == "movement"]:
            del stock[name]


# -- POST --------------------------------------------------------------------------------------


def post_products(request: ApiRequest) -> ApiResponse:
    items = request.json_array(request.options.products_max_items)
    if not items and request.options.refuse_empty_batch:
        raise ApiError(400, "La lista de productos no puede estar vacía.")
    list_id = price_list_id(request, required=True)
    poison = set(request.options.batch_poison_skus)
    if poison and any(ci_get(item, "SKU") in poison for item in items if isinstance(item, dict)):
        raise ApiError(400, "La solicitud contiene datos inválidos.")
    outcomes = [_apply_item(request.store, fold_keys(item), list_id) for item in items]
    body = action_result(outcomes, request.options.item_number)
    quantities = body["Quantities"]
    all_failed = quantities["Total"] > 0 and quantities["Error"] == quantities["Total"]
    return ApiResponse(request.options.all_failed_status if all_failed else 200, body)


def _apply_item(store: Store, item: Any, list_id: int | None) -> tuple[Any, list[Message]]:
    change = check_item(item, store.options)
    key_value = item.get("sku") if isinstance(item, dict) else None
    if change.errors or change.sku is None:
        return key_value, change.errors
    candidates = _match(store, change.sku, change.brand)
    if not candidates:
        return key_value, [error(model.CODE_NOT_FOUND, model.NOT_FOUND_MESSAGE, change.sku)]
    if len(candidates) > 1:
        text = "El código corresponde a productos de más de una marca: informe Brand."
        return key_value, [error(model.CODE_AMBIGUOUS_BRAND, text, change.sku)]
    return key_value, _update(store, candidates[0], change, list_id)


def _match(store: Store, code: str, brand: str | None) -> list[Product]:
    """SKU first, then OwnCode; a brand, when sent, narrows either (section 5.3)."""
    for found in (store.products_by_sku(code), store.products_by_own_code(code)):
        if brand is not None:
            found = [p for p in found if _brand_matches(ci_get(p, "Identification"), brand)]
        if found:
            return found
    return []


def _update(
    store: Store, product: Product, change: ItemChange, list_id: int | None
) -> list[Message]:
    before = copy.deepcopy(product)
    stock = ci_get(product, "Stock")
    if change.stock:
        if not isinstance(stock, dict):
            stock = {}
            ci_set(product, "Stock", stock)
        problem = _apply_stock(stock, change.stock, store.options.movement_below_zero)
        if problem is not None:
            product.clear()
            product.update(before)  # an item is applied whole or not at all
            return [problem]
    if change.price:
        _apply_price(product, change.price, list_id, store.options.tax_rate)
    store.mark_product_updated(product)
    if store.options.info_on_unchanged and product == before:
        return [Message(model.LEVEL_INFO, model.CODE_UNCHANGED, "Sin cambios.", change.sku)]
    return []


def _apply_stock(stock: dict[str, Any], sent: dict[str, Any], below_zero: str) -> Message | None:
    current = ci_get(stock, "Quantity") or 0
    for name, value in sent.items():
        if name == "Movement":
            value = current + value
            if value < 0 and below_zero == "reject":
                text = "El movimiento dejaría el stock en negativo."
                return error(model.CODE_INVALID_VALUE, text, sent["Movement"])
            name, value = "Quantity", max(0, value)
        ci_set(stock, name, value)
    quantity = ci_get(stock, "Quantity") or 0
    cap = ci_get(stock, "MaxPublicationQuantity") or 0
    ci_set(stock, "PublishQuantity", min(quantity, cap) if cap > 0 else quantity)
    return None


def _apply_price(product: Product, sent: dict[str, Any], list_id: int | None, tax: float) -> None:
    prices = ci_get(product, "Price")
    if not isinstance(prices, list):
        prices = []
        ci_set(product, "Price", prices)
    entry = next((p for p in prices if ci_path(p, "PriceList", "Id") == list_id), None)
    if entry is None:
        entry = {"PriceList": {"Id": list_id, "Name": f"Lista {list_id}", "DiscountRate": 0}}
        prices.append(entry)
    values = {name: _number(value) for name, value in sent.items()}
    if "Price" in values:
        values["PriceWithTaxes"] = round(values["Price"] * (1 + tax), 4)
    elif "PriceWithTaxes" in values:
        values["Price"] = round(values["PriceWithTaxes"] / (1 + tax), 4)
    if "PriceWithTaxes" in values:
        values["FinalPriceWithShippingCost"] = values["PriceWithTaxes"]
        values["PriceAutoCalculated"] = False
    for name, value in values.items():
        ci_set(entry, name, value)


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def action_result(outcomes: list[tuple[Any, list[Message]]], numbering: str) -> dict[str, Any]:
    """ActionResult: every item counted by its worst level; only non-Ok items listed."""
    counts = dict.fromkeys(("Ok", "Error", "Warning", "Info"), 0)
    listed: list[dict[str, Any]] = []
    for index, (key_value, messages) in enumerate(outcomes):
        level = min((m.level for m in messages), default=model.LEVEL_OK)
        counts[model.LEVEL_NAMES[level]] += 1
        if level == model.LEVEL_OK:
            continue
        listed.append(
            {
                "ItemNumber": index if numbering == "request" else len(listed),
                "ValidationLevel": {"Id": level, "Name": model.LEVEL_NAMES[level]},
                "KeyField": "SKU",
                "KeyValue": key_value,
                "Messages": [m.to_json() for m in messages],
            }
        )
    return {"Quantities": {**counts, "Total": len(outcomes)}, "Items": listed}
