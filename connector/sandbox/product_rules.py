"""Business rules of one POST /v2/products item (API reference, sections 5.2 to 5.5).

Works on an item whose keys were folded to lower case, so any casing binds. The result is the
list of rule violations plus the stock and price fields to apply, under their canonical names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connector.sandbox import model
from connector.sandbox.model import is_number
from connector.sandbox.options import SandboxOptions

STOCK_FIELDS = {
    "quantity": "Quantity",
    "movement": "Movement",
    "minpublicationquantity": "MinPublicationQuantity",
    "maxpublicationquantity": "MaxPublicationQuantity",
    "b2bquantity": "B2BQuantity",
    "measurablequantity": "MeasurableQuantity",
}
PRICE_FIELDS = {
    "price": "Price",
    "pricewithtaxes": "PriceWithTaxes",
    "suggestedretailprice": "SuggestedRetailPrice",
    "salesmargin": "SalesMargin",
    "cost": "Cost",
    "b2bdiscountrate": "B2BDiscountRate",
    "measurablepricewithtaxes": "MeasurablePriceWithTaxes",
}
MEASURABLE = frozenset({"MeasurableQuantity", "MeasurablePriceWithTaxes"})


@dataclass
class Message:
    level: int
    code: int
    text: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "Level": {"Id": self.level, "Name": model.LEVEL_NAMES[self.level]},
            "Code": self.code,
            "Message": self.text,
            "ValidatedValue": self.value,
        }


def error(code: int, text: str, value: Any) -> Message:
    return Message(model.LEVEL_ERROR, code, text, value)


@dataclass
class ItemChange:
    """What one valid item asks for: ``sku`` and ``brand`` to match, fields to set."""

    sku: str | None
    brand: str | None
    stock: dict[str, Any] = field(default_factory=dict)
    price: dict[str, Any] = field(default_factory=dict)
    errors: list[Message] = field(default_factory=list)


def check_item(item: Any, options: SandboxOptions) -> ItemChange:
    if not isinstance(item, dict):
        return ItemChange(
            None,
            None,
            errors=[error(model.CODE_INVALID_VALUE, "El elemento no es un objeto.", None)],
        )
    change = ItemChange(sku=_text(item.get("sku")), brand=_text(item.get("brand")))
    if change.sku is None:
        change.errors.append(
            error(model.CODE_REQUIRED, "El campo SKU es obligatorio.", item.get("sku"))
        )
    if item.get("stock") is not None:
        change.stock = _sent_fields(item["stock"], STOCK_FIELDS, "Stock", change.errors)
        change.errors += _stock_errors(change.stock)
    if item.get("price") is not None:
        change.price = _sent_fields(item["price"], PRICE_FIELDS, "Price", change.errors)
        change.errors += _price_errors(change.price, options)
    return change


def _text(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # Json.NET binds a number into a string property
    if isinstance(value, str) and value.strip():
        return value
    return None


def _sent_fields(
    obj: Any, names: dict[str, str], label: str, errors: list[Message]
) -> dict[str, Any]:
    """The known fields present (null counts as not sent); an empty object is an error."""
    if not isinstance(obj, dict):
        errors.append(error(model.CODE_INVALID_VALUE, f"{label} debe ser un objeto.", None))
        return {}
    sent = {canonical: obj[low] for low, canonical in names.items() if obj.get(low) is not None}
    if not sent:
        text = f"El objeto {label} debe informar al menos un campo."
        errors.append(error(model.CODE_EMPTY_OBJECT, text, None))
    return sent


def _stock_errors(stock: dict[str, Any]) -> list[Message]:
    errors = []
    if "Quantity" in stock and "Movement" in stock:
        text = "Quantity y Movement no pueden enviarse juntos."
        errors.append(error(model.CODE_EXCLUSIVE_FIELDS, text, stock["Quantity"]))
    if "MeasurableQuantity" in stock and len(stock) > 1:
        text = "MeasurableQuantity reemplaza a los demás campos de stock."
        errors.append(error(model.CODE_COMBINATION, text, None))
    for name, value in stock.items():
        if name in MEASURABLE:
            continue
        if not is_number(value) or not isinstance(value, int):
            errors.append(
                error(model.CODE_INVALID_VALUE, f"{name} debe ser un número entero.", value)
            )
        elif value < 0 and name != "Movement":
            errors.append(error(model.CODE_INVALID_VALUE, f"{name} no puede ser negativo.", value))
    return errors


def _price_errors(price: dict[str, Any], options: SandboxOptions) -> list[Message]:
    errors = [e for name, value in price.items() if (e := _price_value_error(name, value))]
    if "Price" in price and "PriceWithTaxes" in price:
        text = "Price y PriceWithTaxes no pueden enviarse juntos."
        errors.append(error(model.CODE_EXCLUSIVE_FIELDS, text, price["Price"]))
    elif "MeasurablePriceWithTaxes" in price:
        if len(price) > 1:
            text = "MeasurablePriceWithTaxes reemplaza a los demás campos de precio."
            errors.append(error(model.CODE_COMBINATION, text, None))
    elif price and frozenset(price) not in options.price_combinations:
        text = "Combinación de precios no permitida: " + ", ".join(sorted(price))
        errors.append(error(model.CODE_COMBINATION, text, None))
    errors += _account_type_errors(price, options.account_type)
    return errors


def _price_value_error(name: str, value: Any) -> Message | None:
    if name in MEASURABLE:
        return None
    if not is_number(value):
        return error(model.CODE_INVALID_VALUE, f"{name} debe ser un número.", _plain(value))
    places = 2 if name == "SalesMargin" else 4
    if value <= 0:
        return error(model.CODE_INVALID_VALUE, f"{name} debe ser mayor que 0.", _plain(value))
    if decimal_places(value) > places:
        text = f"{name} admite como máximo {places} decimales."
        return error(model.CODE_INVALID_VALUE, text, _plain(value))
    return None


def _account_type_errors(price: dict[str, Any], account_type: str) -> list[Message]:
    if "SalesMargin" in price and account_type != "seller":
        text = "SalesMargin solo puede informarse en cuentas vendedoras."
        return [error(model.CODE_NOT_ALLOWED, text, _plain(price["SalesMargin"]))]
    if account_type == "seller" and ({"Price", "PriceWithTaxes"} & set(price)):
        text = "Las cuentas vendedoras no pueden informar Price ni PriceWithTaxes."
        return [error(model.CODE_NOT_ALLOWED, text, None)]
    return []


def decimal_places(value: int | Decimal) -> int:
    if isinstance(value, int):
        return 0
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _plain(value: Any) -> Any:
    """A JSON-friendly echo of a sent value (Decimal -> float)."""
    return float(value) if isinstance(value, Decimal) else value
