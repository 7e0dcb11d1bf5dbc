"""Pydantic models of the Alephee API v2 payloads the connector uses.

Alephee's casing drifts (``Marketplace`` vs ``MarketPlace``, ``SKU`` vs ``Sku``), so every model
reads JSON keys case-insensitively; requests are sent in the documented PascalCase.
Unknown fields are kept out (``extra="ignore"``): we read only what the integration needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def code_text(value: Any) -> Any:
    """A SKU or key sent as a JSON number (``1234``) read as its digits, never a crash."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


Code = Annotated[str, BeforeValidator(code_text)]


def _fold(cls: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    lookup: dict[str, str] = {}
    for name, field in cls.model_fields.items():
        lookup[name.lower()] = field.alias or name
        if field.alias:
            lookup[field.alias.lower()] = field.alias
    return {lookup.get(str(key).lower(), key): value for key, value in data.items()}


class ApiModel(BaseModel):
    """Base: case-insensitive keys in, PascalCase aliases out."""

    # defer_build: each model's validator is built at its first use, not at import (0.1 s of
    # every run; a pass with nothing to do uses none of them).
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive(cls, data: Any) -> Any:
        return _fold(cls, data)


class Paging(ApiModel):
    limit: int = Field(0, alias="Limit")
    offset: int = Field(0, alias="Offset")
    total: int = Field(0, alias="Total")


class Account(ApiModel):
    id: int = Field(alias="Id")
    name: str | None = Field(None, alias="Name")
    business_name: str | None = Field(None, alias="BusinessName")


class PriceList(ApiModel):
    id: int = Field(alias="Id")
    name: str | None = Field(None, alias="Name")


class NamedRef(ApiModel):
    """Both enum shapes: ``{Id, Name}`` and ``{Key, Value}``."""

    id: int | str | None = Field(None, alias="Id")
    name: str | None = Field(None, alias="Name")
    key: int | str | None = Field(None, alias="Key")
    value: str | None = Field(None, alias="Value")


class Identification(ApiModel):
    id: int | None = Field(None, alias="Id")
    sku: Code = Field(alias="SKU")
    own_code: Code | None = Field(None, alias="OwnCode")
    brand: NamedRef | None = Field(None, alias="Brand")
    name: str | None = Field(None, alias="Name")


class CatalogProduct(ApiModel):
    identification: Identification = Field(alias="Identification")


class ProductStock(ApiModel):
    quantity: int | None = Field(None, alias="Quantity")


class ProductPrice(ApiModel):
    price: float | None = Field(None, alias="Price")
    price_with_taxes: float | None = Field(None, alias="PriceWithTaxes")
    suggested_retail_price: float | None = Field(None, alias="SuggestedRetailPrice")
    cost: float | None = Field(None, alias="Cost")


class ProductUpdate(ApiModel):
    """One item of POST /v2/products. Stock is always absolute (``Quantity``, never Movement)."""

    sku: str = Field(alias="SKU")
    brand: str | None = Field(None, alias="Brand")
    stock: ProductStock | None = Field(None, alias="Stock")
    price: ProductPrice | None = Field(None, alias="Price")

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


PRICE_NAMES = {name: info.alias or name for name, info in ProductPrice.model_fields.items()}


@dataclass(frozen=True)
class PlainProductUpdate:
    """A POST /v2/products item built from values the connector already holds as checked
    integers (its own queue): the same ``body()`` as ``ProductUpdate``, without validating and
    dumping a model per item (17 s of a 1M-product first run). ``prices`` by field name
    (``price_with_taxes``), in currency units; None: no price in this item."""

    sku: str
    brand: str | None = None
    quantity: int | None = None
    prices: dict[str, float] | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"SKU": self.sku}
        if self.brand is not None:
            body["Brand"] = self.brand
        if self.quantity is not None:
            body["Stock"] = {"Quantity": self.quantity}
        if self.prices is not None:
            body["Price"] = {PRICE_NAMES[k]: v for k, v in self.prices.items() if v is not None}
        return body


ProductItem = ProductUpdate | PlainProductUpdate  # what POST /v2/products takes


class Message(ApiModel):
    level: NamedRef | None = Field(None, alias="Level")
    code: int | None = Field(None, alias="Code")
    message: str = Field("", alias="Message")


LEVEL_OK, LEVEL_INFO, LEVEL_WARNING, LEVEL_ERROR = 99, 2, 1, 0
LEVEL_BY_NAME = {"ok": LEVEL_OK, "info": LEVEL_INFO, "warning": LEVEL_WARNING, "error": LEVEL_ERROR}


def _level_of(ref: NamedRef | None) -> int | None:
    """A level from ``{Id, Name}`` or ``{Key, Value}``; None when it says nothing usable."""
    if ref is None:
        return None
    for raw in (ref.id, ref.key):
        if raw is not None and str(raw).strip().lstrip("-").isdigit():
            return int(str(raw).strip())
    for name in (ref.name, ref.value):
        if name and name.strip().lower() in LEVEL_BY_NAME:
            return LEVEL_BY_NAME[name.strip().lower()]
    return None


class ResultItem(ApiModel):
    key_value: Code = Field("", alias="KeyValue")
    validation_level: NamedRef | None = Field(None, alias="ValidationLevel")
    messages: list[Message] = Field(default_factory=list, alias="Messages")

    @property
    def level(self) -> int | None:
        """The item's level; without ``ValidationLevel`` (the vendor's own example) the worst
        level of its messages; None when nothing says (never assumed Ok)."""
        own = _level_of(self.validation_level)
        if own is not None:
            return own
        found = [lvl for m in self.messages if (lvl := _level_of(m.level)) is not None]
        return min(found) if found else None

    @property
    def text(self) -> str:
        return "; ".join(m.message for m in self.messages if m.message) or "rejected by Alephee"


class Quantities(ApiModel):
    ok: int = Field(0, alias="Ok")
    error: int = Field(0, alias="Error")
    warning: int = Field(0, alias="Warning")
    info: int = Field(0, alias="Info")
    total: int = Field(0, alias="Total")


class ActionResult(ApiModel):
    quantities: Quantities | None = Field(None, alias="Quantities")
    items: list[ResultItem] = Field(default_factory=list, alias="Items")


class IntegrateMark(ApiModel):
    order_id: int = Field(alias="OrderId")
    own_order_id: str = Field(alias="OwnOrderId")
    integrated: bool = Field(True, alias="Integrated")
    erp_status: str = Field("", alias="ErpStatus")

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class StatusUpdate(ApiModel):
    """One item of PUT /v2/orders (order status and tracking)."""

    order_id: int = Field(alias="OrderId")
    status: int = Field(alias="Status")
    tracking: dict[str, str] | None = Field(None, alias="Tracking")

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class DocumentUpload(ApiModel):
    """The body of POST /v2/orders/{orderId}/documents in its JSON form. Alephee does not publish
    the field names [UNK, section 9]: these are the sandbox's; confirm them before go-live."""

    document_type: int = Field(alias="DocumentType")  # 0 invoice, 1 receipt, 2 e-fiscal invoice
    document_format: str = Field(alias="DocumentFormat")  # pdf | xml
    file_name: str = Field(alias="FileName")
    content: str = Field(alias="Content")  # base64

    def body(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


class IntegrateEcho(ApiModel):
    order_id: int | None = Field(None, alias="OrderId")


class IntegrateResult(ApiModel):
    """A per-order result: integrate sends Status as a string, PUT orders as an integer."""

    status: Annotated[str, BeforeValidator(str)] = Field("", alias="Status")
    message: str = Field("", alias="Message")
    order_status: IntegrateEcho | None = Field(None, alias="OrderStatus")


class IntegrateResponse(ApiModel):
    results: list[IntegrateResult] = Field(default_factory=list, alias="Results")


class OrderHead(ApiModel):
    """The few header fields the cycles decide on; the raw dict goes to the mapping."""

    id: int = Field(alias="Id")
    is_complete_pack_order: bool | None = Field(None, alias="IsCompletePackOrder")
    is_cancelled: bool | None = Field(None, alias="IsCancelled")
    status: NamedRef | None = Field(None, alias="Status")
    status_type: NamedRef | None = Field(None, alias="StatusType")
    last_updated: str | None = Field(None, alias="LastUpdated")

    @property
    def cancelled(self) -> bool:
        key = self.status_type.key if self.status_type else None
        return bool(self.is_cancelled) or key in (99, "99")


class Page(ApiModel):
    paging: Paging = Field(default_factory=Paging, alias="Paging")
    total: int = Field(0, alias="Total")
    results: list[dict[str, Any]] = Field(default_factory=list, alias="Results")
