"""Request binding the way the real API (ASP.NET) does it, and the response envelope.

Query names are case-insensitive and unknown ones are ignored; dates come as
``yyyy-mm-dd HH:mm`` or ``yyyy-mm-dd``; bools as true/false in any case. JSON bodies keep their
decimals exact (``Decimal``) so "at most 4 decimals" can be checked on what was really sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from connector.sandbox.options import SandboxOptions
from connector.sandbox.store import Store

DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
)
SECRET_PARAMS = frozenset({"api_key"})
MASK = "***"


class ApiError(Exception):
    """Ends a request with ``{"Status": status, "Message": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Query:
    """Query-string parameters, looked up case-insensitively (first value wins)."""

    def __init__(self, raw: str, *, utc_offset_hours: float = 0.0) -> None:
        self._values: dict[str, str] = {}
        self._pairs = parse_qsl(raw, keep_blank_values=True)
        for name, value in self._pairs:
            self._values.setdefault(name.lower(), value)
        self._offset = timedelta(hours=utc_offset_hours)

    def masked(self) -> dict[str, str]:
        """The parameters as sent, with the API key's value replaced by ``***``."""
        return {n: MASK if n.lower() in SECRET_PARAMS else v for n, v in self._pairs}

    def text(self, name: str) -> str | None:
        value = self._values.get(name.lower())
        return value if value else None  # an empty value counts as not sent

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise ApiError(400, f"El parámetro {name} debe ser un número entero.") from None

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        lowered = value.strip().lower()
        if lowered not in ("true", "false"):
            raise ApiError(400, f"El parámetro {name} debe ser true o false.")
        return lowered == "true"

    def date(self, name: str) -> float | None:
        """Seconds since the epoch; the value is read as UTC shifted by the configured offset."""
        value = self.text(name)
        if value is None:
            return None
        for pattern in DATE_FORMATS:
            try:
                moment = datetime.strptime(value.strip(), pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
            return (moment - self._offset).timestamp()
        raise ApiError(400, f"El parámetro {name} debe tener el formato yyyy-mm-dd HH:mm.")

    def int_set(self, name: str) -> set[int] | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            return {int(part) for part in value.split(",") if part.strip()}
        except ValueError:
            raise ApiError(400, f"El parámetro {name} debe ser una lista de enteros.") from None


@dataclass
class ApiRequest:
    method: str
    endpoint: str
    query: Query
    body: bytes
    store: Store
    account_id: int
    path_params: dict[str, str] = field(default_factory=dict)

    @property
    def options(self) -> SandboxOptions:
        return self.store.options

    def json_array(self, max_items: int) -> list[Any]:
        """The body as a JSON array: 400 when malformed or not an array, 413 over the cap."""
        try:
            data = json.loads(self.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "El cuerpo de la solicitud no es un JSON válido.") from None
        if not isinstance(data, list):
            raise ApiError(400, "El cuerpo de la solicitud debe ser un arreglo JSON.")
        if len(data) > max_items:
            raise ApiError(
                413, f"Demasiados elementos: se enviaron {len(data)}, el máximo es {max_items}."
            )
        return data


@dataclass
class ApiResponse:
    status: int
    body: Any  # JSON-able, or a str sent as text/plain
    plain_text: bool = False


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"Status": status, "Message": message}


def page_response(
    query: Query, items: list[Any], *, cap: int, sort_id: str, sorts: tuple[str, ...]
) -> tuple[ApiResponse, slice]:
    """The list envelope of GET endpoints; ``limit`` above ``cap`` -> 206 with the cap applied.

    Returns the response without its Results (the caller copies only the page) and the slice.
    """
    offset = query.integer("offset", 0) or 0
    limit = query.integer("limit", 100)
    if offset < 0 or limit is None or limit < 1:
        raise ApiError(400, "offset debe ser >= 0 y limit >= 1.")
    status = 200
    if limit > cap:
        limit, status = cap, 206
    body = {
        "Paging": {"Limit": limit, "Offset": offset, "Total": len(items)},
        "SortBy": {"Id": sort_id, "Name": sort_id},
        "AvailableSorts": [{"Id": s, "Name": s} for s in sorts],
        "Total": len(items),
        "Results": [],
    }
    return ApiResponse(status, body), slice(offset, offset + limit)


def json_default(value: Any) -> Any:
    """Decimals parsed from request bodies go back out as JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, default=json_default).encode("utf-8")
