"""The TOML schema of the orders mapping: pydantic models that check a file key by key.

``connector.orders.mapping`` documents every key, loads the file and compiles these specs into
the plain ``OrderMapping`` the row builder uses.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.orders.paths import FieldPath, Template

Format = Literal["text", "date", "decimal", "integer"]
DEFAULT_DATE_FORMAT = "%Y-%m-%d %H:%M"
PORTABLE_CODES = set("aAbBcdfHIjmMpSUwWxXyYzZ%")
_DIRECTIVE = re.compile(r"%(.?)")
SYLK_HINT = "a file starting with 'ID' is taken for SYLK by Excel: write 'Id' or another name"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)  # see ApiModel


class ColumnSpec(_Spec):
    name: str = Field(min_length=1)
    path: str | list[str] | None = None
    value: str | None = None
    format: Format = "text"
    pattern: str | None = None
    decimals: int | None = Field(default=None, ge=0, le=10)
    decimal_separator: Literal[",", "."] | None = None
    lookup: dict[str, str] | None = None
    default: str | None = None

    @field_validator("path")
    @classmethod
    def _paths_parse(cls, path: str | list[str] | None) -> str | list[str] | None:
        for text in [path] if isinstance(path, str) else path or []:
            FieldPath.parse(text)
        if path == []:
            raise ValueError("is an empty list: give at least one path")
        return path

    @field_validator("pattern")
    @classmethod
    def _pattern_works(cls, pattern: str | None) -> str | None:
        return None if pattern is None else check_date_format(pattern)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if (self.path is None) == (self.value is None):
            raise ValueError('give exactly one of path = "Order.Field" or value = "fixed text"')
        if self.lookup is not None and self.format != "text":
            raise ValueError("lookup gives text: remove format, or remove lookup")
        if self.pattern is not None and self.format != "date":
            raise ValueError('pattern is for date columns: add format = "date" or remove it')
        if self.decimals is not None and self.format != "decimal":
            raise ValueError('decimals needs format = "decimal"')
        if self.decimal_separator and self.format not in ("decimal", "integer"):
            raise ValueError('decimal_separator needs format = "decimal" or "integer"')
        return self


def _default_cancellation_columns() -> list[ColumnSpec]:
    spec: list[dict[str, Any]] = [
        {"name": "Pedido Alephee", "path": "Id"},
        {"name": "Pedido ERP", "path": "OwnOrderId"},
        {"name": "Pedido marketplace", "path": "ExternalOrderId"},
        {"name": "Fecha cancelación", "path": "LastUpdated", "format": "date"},
        # an item row shows the item's own status, not the order's ("Pendiente de envío")
        {"name": "Estado", "path": ["Item.Status.Value", "Status.Value"]},
        {
            "name": "Cancelado",
            "path": "Item.IsCancelled",
            "lookup": {"true": "Ítem cancelado"},
            "default": "Pedido cancelado",
        },
        {"name": "SKU", "path": "Item.Product.Sku"},
        {"name": "Cantidad", "path": "Item.Quantity", "format": "integer"},
    ]
    return [ColumnSpec.model_validate(column) for column in spec]


class CancellationSpec(_Spec):
    columns: list[ColumnSpec] = Field(default_factory=_default_cancellation_columns, min_length=1)


class MappingSpec(_Spec):
    kind: Literal["orders"]
    name: str = "orders"
    layout: Literal["lines", "header+lines"] = "lines"
    line_key: str | None = None
    own_order_id: str = "ALE-{Id}"
    date_format: str = DEFAULT_DATE_FORMAT
    kits: Literal["kit", "components"] = "kit"
    kit_type_keys: list[int] = Field(default_factory=lambda: [2])
    component_type_keys: list[int] = Field(default_factory=lambda: [3])
    skip_cancelled_items: bool = True
    columns: list[ColumnSpec] = Field(min_length=1)
    cancellations: CancellationSpec = Field(default_factory=CancellationSpec)

    @field_validator("own_order_id")
    @classmethod
    def _template_parses(cls, text: str) -> str:
        if any(path.item for path in Template.parse(text).paths):
            raise ValueError("uses an Item. path: the own order id can only use order fields")
        return text

    @field_validator("date_format")
    @classmethod
    def _date_format_works(cls, pattern: str) -> str:
        return check_date_format(pattern)

    @model_validator(mode="after")
    def _consistent(self) -> MappingSpec:
        if set(self.kit_type_keys) & set(self.component_type_keys):
            raise ValueError("kit_type_keys and component_type_keys share a value: keep them apart")
        for label, columns in (
            ("columns", self.columns),
            ("cancellations", self.cancellations.columns),
        ):
            names = [column.name for column in columns]
            if len(set(names)) != len(names):
                raise ValueError(f"{label}: two columns have the same name: rename one")
        if self.layout == "header+lines":
            _check_split(self.columns, self.line_key)
        return self


def check_date_format(pattern: str) -> str:
    """Only the strftime codes every platform has: Windows rejects what Linux passes through."""
    codes = _DIRECTIVE.findall(pattern)
    if not codes:
        raise ValueError(f"{pattern!r} has no %-field: write e.g. '%d/%m/%Y %H:%M'")
    unknown = [code for code in codes if code not in PORTABLE_CODES]
    if unknown:
        raise ValueError(
            f"{pattern!r} uses %{unknown[0]}: use the codes that work on every system "
            "(%d %m %Y %y %H %M %S %b %B %a %A %I %p %j ...; no %-d)"
        )
    return pattern


def _check_split(columns: list[ColumnSpec], line_key: str | None) -> None:
    items = [column for column in columns if is_item_column(column)]
    orders = [column for column in columns if not is_item_column(column)]
    if not items or not orders:
        raise ValueError(
            "layout header+lines needs order columns and Item. columns: "
            'use layout = "lines" or add the missing kind'
        )
    if line_key is not None and line_key not in {column.name for column in orders}:
        raise ValueError(f"line_key {line_key!r} is not the name of an order column")


def is_item_column(column: ColumnSpec) -> bool:
    paths = [column.path] if isinstance(column.path, str) else column.path or []
    return any(FieldPath.parse(path).item for path in paths)


def sylk_problems(spec: MappingSpec) -> list[str]:
    """The first column of every file this mapping writes must not start with ``ID``."""
    firsts = [("cancellations", spec.cancellations.columns[0].name)]
    if spec.layout == "header+lines":
        orders = [column for column in spec.columns if not is_item_column(column)]
        firsts += [("columns", orders[0].name), ("line_key", split_key(spec).name)]
    else:
        firsts += [("columns", spec.columns[0].name)]
    return [
        f"{label}: first column {name!r}: {SYLK_HINT}"
        for label, name in firsts
        if name.startswith("ID")
    ]


def split_key(spec: MappingSpec) -> ColumnSpec:
    orders = [column for column in spec.columns if not is_item_column(column)]
    if spec.line_key is not None:
        return next(column for column in orders if column.name == spec.line_key)
    by_id = [
        column
        for column in orders
        if isinstance(column.path, str) and column.path.casefold() == "id"
    ]
    return (by_id or orders)[0]
