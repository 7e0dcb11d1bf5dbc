"""The orders mapping (``mappings/orders.toml``): which order fields become which outbox columns.

Top-level keys (all optional except ``kind`` and ``columns``; full guide in
``docs/mapping-orders.md``):

``kind = "orders"``
    Marks the file as the orders mapping (stock/price mappings say ``"products"``).
``name``
    A label for messages. Default ``"orders"``.
``layout = "lines" | "header+lines"``
    ``lines`` (default): one file, one row per booked item, the order's fields repeated.
    ``header+lines``: two files, ``orders-*`` with one row per order (the columns whose path does
    not start with ``Item.``) and ``order-lines-*`` with one row per item (the ``line_key`` column
    first, then the ``Item.`` columns).
``line_key``
    ``header+lines`` only: the name of the order column repeated in the lines file to join the
    two. Default: the first order column whose path is ``Id``, else the first order column.
``own_order_id``
    Template of the ERP's own id sent to Alephee as OwnOrderId; fields in braces are order paths
    (``"ALE-{Id}"``, ``"{MarketPlace.Key}-{ExternalOrderId}"``, ``"{Id:08d}"``). Default
    ``"ALE-{Id}"``. The path ``OwnOrderId`` gives this id in any column.
``date_format``
    strftime pattern for ``format = "date"`` columns. Default ``"%Y-%m-%d %H:%M"``.
``kits = "kit" | "components"``
    Which level of a kit sale is booked: ``kit`` (default) books the kit item and skips its
    components; ``components`` books the components and skips the kit container. Never both.
``kit_type_keys`` / ``component_type_keys``
    The item ``Type.Key`` values of kit containers and of kit components (Alephee does not
    publish them). Defaults ``[2]`` and ``[3]``. An item whose ``ParentItemId`` points at another
    item of the order is a component of it whatever its type.
``skip_cancelled_items``
    Leave out items with ``IsCancelled = true`` (partially cancelled orders). Default true.
``[[columns]]``
    The outbox columns, in order. Keys of a column:
    ``name`` (header text, required); exactly one of ``path`` (a path, or a list of paths: the
    first that has a value wins) or ``value`` (fixed text); ``format`` = ``text`` (default),
    ``date``, ``decimal`` or ``integer``; ``pattern`` (date columns: overrides ``date_format``);
    ``decimals`` (decimal columns: a fixed number of decimals, rounded half up);
    ``decimal_separator`` (``","`` or ``"."``: overrides the outbox locale); ``lookup`` (a table
    from value to text, e.g. ``{ "1" = "Mercado Libre" }``; text columns only); ``default``
    (text used when the path has no value or the lookup has no entry).
``[[cancellations.columns]]``
    Same keys, for the cancellations file. Default: order id, own order id, marketplace order
    id, cancel date, status, and SKU and quantity per item (for partial cancellations).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from connector.errors import ConfigError
from connector.orders.model import path_warnings
from connector.orders.paths import FieldPath, Template
from connector.orders.spec import ColumnSpec, Format, MappingSpec, split_key, sylk_problems


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    paths: tuple[FieldPath, ...]
    value: str | None
    format: Format
    pattern: str
    decimals: int | None
    decimal_separator: str | None
    lookup: dict[str, str] | None
    default: str | None

    @property
    def item(self) -> bool:
        return any(path.item for path in self.paths)


@dataclass(frozen=True)
class OrderMapping:
    """A loaded, checked orders mapping (see the module docstring for the keys)."""

    name: str
    source: str
    layout: Literal["lines", "header+lines"]
    columns: tuple[Column, ...]
    line_key: Column | None
    own_order_id: Template
    kits: Literal["kit", "components"]
    kit_type_keys: frozenset[int]
    component_type_keys: frozenset[int]
    skip_cancelled_items: bool
    cancellation_columns: tuple[Column, ...]
    warnings: tuple[str, ...] = ()

    @property
    def order_columns(self) -> tuple[Column, ...]:
        """The columns of the orders file (all of them in the ``lines`` layout)."""
        if self.layout == "lines":
            return self.columns
        return tuple(column for column in self.columns if not column.item)

    @property
    def item_columns(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.item)

    @property
    def orders_header(self) -> list[str]:
        return [column.name for column in self.order_columns]

    @property
    def lines_header(self) -> list[str] | None:
        """The order-lines file's header, or None in the ``lines`` layout (no such file)."""
        if self.line_key is None:
            return None
        return [self.line_key.name, *(column.name for column in self.item_columns)]

    @property
    def cancellations_header(self) -> list[str]:
        return [column.name for column in self.cancellation_columns]


def load_order_mapping(path: Path) -> OrderMapping:
    """Read and check an orders mapping; ConfigError lines name the key and what to fix."""
    raw = _read_toml(path)
    if raw.get("kind") not in (None, "orders"):
        raise ConfigError(
            [
                f'kind is {raw.get("kind")!r}: this is not an orders mapping (kind = "orders"); '
                "point orders.mapping in connector.toml at the orders mapping"
            ],
            source=str(path),
        )
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_problems(exc, raw), source=str(path)) from None
    problems = [*sylk_problems(spec)]
    if problems:
        raise ConfigError(problems, source=str(path))
    return _compile(spec, str(path))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            ["no orders mapping here: run 'connector init' or set orders.mapping"],
            source=str(path),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML ({exc}); fix that line"], source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be read ({exc})"], source=str(path)) from None


def _problems(exc: ValidationError, raw: dict[str, Any]) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        key = _key_label(error["loc"], raw)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling (see docs/mapping-orders.md)"
        elif error["type"] == "missing":
            message = "is required: add it (see docs/mapping-orders.md)"
        lines.append(f"{key}: {message}")
    return lines


def _key_label(loc: tuple[int | str, ...], raw: dict[str, Any]) -> str:
    """``columns[3].format`` becomes ``column 4 ("Fecha") format``: what an operator counts."""
    parts: list[str] = []
    node: Any = raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            label = node.get("name") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1].removesuffix('s')} {part + 1}" + (
                f" ({label!r})" if label else ""
            )
            continue
        parts.append(str(part))
        node = node.get(part) if isinstance(node, dict) else None
    return " ".join(parts) or "(file)"


def _compile_column(spec: ColumnSpec, date_format: str) -> Column:
    paths = [spec.path] if isinstance(spec.path, str) else spec.path or []
    return Column(
        name=spec.name,
        paths=tuple(FieldPath.parse(path) for path in paths),
        value=spec.value,
        format=spec.format,
        pattern=spec.pattern or date_format,
        decimals=spec.decimals,
        decimal_separator=spec.decimal_separator,
        lookup=dict(spec.lookup) if spec.lookup is not None else None,
        default=spec.default,
    )


def _compile(spec: MappingSpec, source: str) -> OrderMapping:
    columns = tuple(_compile_column(column, spec.date_format) for column in spec.columns)
    cancellations = tuple(
        _compile_column(column, spec.date_format) for column in spec.cancellations.columns
    )
    line_key = None
    if spec.layout == "header+lines":
        line_key = _compile_column(split_key(spec), spec.date_format)
    mapping = OrderMapping(
        name=spec.name,
        source=source,
        layout=spec.layout,
        columns=columns,
        line_key=line_key,
        own_order_id=Template.parse(spec.own_order_id),
        kits=spec.kits,
        kit_type_keys=frozenset(spec.kit_type_keys),
        component_type_keys=frozenset(spec.component_type_keys),
        skip_cancelled_items=spec.skip_cancelled_items,
        cancellation_columns=cancellations,
    )
    every = [*columns, *cancellations]
    paths = [path for column in every for path in column.paths]
    return replace(mapping, warnings=tuple(path_warnings([*paths, *mapping.own_order_id.paths])))
