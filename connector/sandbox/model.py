"""Domain constants of the Alephee model and small helpers shared by the sandbox modules.

Numeric values the vendor does not publish (item types, shipping methods, payment statuses,
ActionResult codes other than 6) are placeholders chosen here; they are module constants so the
connector and its tests can refer to them by name, never by number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Order item Type {Key, Value}: real numbers not public (section 6.3) -> placeholders.
ITEM_TYPE_PRODUCT = 1
ITEM_TYPE_KIT = 2
ITEM_TYPE_COMPONENT = 3
ITEM_TYPE_NAMES = {
    ITEM_TYPE_PRODUCT: "Product",
    ITEM_TYPE_KIT: "Kit",
    ITEM_TYPE_COMPONENT: "Component",
}

# Shipping.Method {Key, Value}: marketplace-managed shipping cannot take a PUT status (7.3).
SHIPPING_METHOD_OWN = 1
SHIPPING_METHOD_MARKETPLACE = 2
SHIPPING_METHOD_NAMES = {
    SHIPPING_METHOD_OWN: "Envío propio",
    SHIPPING_METHOD_MARKETPLACE: "Mercado Envíos",
}

# Payments[].Status {Key, Value}. The sandbox decides "pending payment" by DateApproved being
# empty on every payment; the Status pair only mirrors it.
PAYMENT_APPROVED = 1
PAYMENT_PENDING = 2
PAYMENT_STATUS_NAMES = {PAYMENT_APPROVED: "Aprobado", PAYMENT_PENDING: "Pendiente"}

# Order status codes and their statusType group (section 6.4, documented).
STATUS_NAMES = {
    0: "Sin estado",
    10: "Pendiente de envío",
    11: "Fraudulenta",
    17: "Lista para enviar en punto de retiro",
    20: "Enviada",
    30: "Asignada a distribuidor",
    31: "Asignada a retiro",
    70: "Eliminada",
    80: "Entregada",
    87: "Destinatario no encontrado",
    89: "No entregada por problemas logísticos",
    90: "Cancelada",
    91: "Esperando reembolso",
    92: "Reembolsada",
    93: "Cancelada por el comprador tras la entrega",
}
STATUS_GROUPS = {0: 0, 10: 1, 11: 99, 17: 1, 20: 1, 30: 1, 31: 1, 80: 2, 87: 1, 89: 1}
STATUS_GROUPS.update({90: 99, 91: 1, 92: 1, 93: 99})
GROUP_NAMES = {0: "Nueva", 1: "Pendiente", 2: "Cerrada", 99: "Cancelada"}
CANCELLED_STATUSES = frozenset({11, 90, 93})

# ActionResult levels (documented) and message codes (only 6 is documented).
LEVEL_OK, LEVEL_INFO, LEVEL_WARNING, LEVEL_ERROR = 99, 2, 1, 0
LEVEL_NAMES = {LEVEL_OK: "Ok", LEVEL_INFO: "Info", LEVEL_WARNING: "Warning", LEVEL_ERROR: "Error"}
CODE_REQUIRED = 1
CODE_INVALID_VALUE = 2
CODE_EXCLUSIVE_FIELDS = 3
CODE_COMBINATION = 4
CODE_EMPTY_OBJECT = 5
CODE_NOT_FOUND = 6  # documented, with the Spanish text below
CODE_AMBIGUOUS_BRAND = 7
CODE_NOT_ALLOWED = 8
CODE_UNCHANGED = 10
NOT_FOUND_MESSAGE = "No tiene asignado ningún producto con el marca-código ingresado"


def key_value(key: int, names: dict[int, str]) -> dict[str, Any]:
    return {"Key": key, "Value": names.get(key, str(key))}


def status_fields(code: int) -> dict[str, Any]:
    """The Status and StatusType pairs of an order or item in status ``code``."""
    group = STATUS_GROUPS.get(code, 0)
    return {"Status": key_value(code, STATUS_NAMES), "StatusType": key_value(group, GROUP_NAMES)}


def ci_get(mapping: Any, key: str, default: Any = None) -> Any:
    """``mapping[key]`` matching the key case-insensitively (Marketplace vs MarketPlace)."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    wanted = key.lower()
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == wanted:
            return value
    return default


def ci_set(mapping: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` replacing any existing spelling of it, so no duplicate keys appear."""
    wanted = key.lower()
    for name in [n for n in mapping if n.lower() == wanted and n != key]:
        del mapping[name]
    mapping[key] = value


def ci_path(mapping: Any, *keys: str) -> Any:
    for key in keys:
        mapping = ci_get(mapping, key)
    return mapping


def fold_keys(value: Any) -> Any:
    """A copy with every object key lower-cased, at every level (case-insensitive binding)."""
    if isinstance(value, dict):
        return {str(k).lower(): fold_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fold_keys(v) for v in value]
    return value


def iso_utc(timestamp: float) -> str:
    """``2023-10-12T11:56:55.687Z``: the response format of the sample."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso(text: Any) -> float | None:
    """Seconds since the epoch of an ISO date (with or without fraction / Z), else None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def is_number(value: Any) -> bool:
    """True for JSON numbers (int or Decimal), never for bool, NaN or infinity."""
    if isinstance(value, bool):
        return False
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int)
