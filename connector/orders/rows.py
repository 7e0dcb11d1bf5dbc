"""Turn one Alephee order into outbox rows through the orders mapping.

Pure functions: no HTTP, no ledger, no files. Only the mapped paths are read from the order
(Alephee's best practice: take the attributes you need), plus what the item rules need:
``Items[].Id``, ``Type.Key``, ``ParentItemId``, ``IsCancelled`` and the order's
``IsCancelled`` / ``StatusType.Key``.

Which items are booked (``booked_items``):
- kits: a kit sale arrives as the kit item *and* its components. ``kits = "kit"`` drops a
  component whose kit is in the order; ``kits = "components"`` drops a kit that has components
  in the order. A level is only dropped when the other level is there, so a kit that arrived
  without its components (or the reverse) is still booked: never both, never neither.
- ``skip_cancelled_items`` then drops items with ``IsCancelled = true``.
- An order with no items at all gives one row with empty item cells, so it is still visible;
  an order whose items were all skipped gives no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from connector.errors import SkipError
from connector.orders.mapping import Column, OrderMapping
from connector.orders.paths import FieldPath, child
from connector.outbox.typed import (
    EMPTY,
    Cell,
    Date,
    Number,
    Text,
    lookup_key,
    to_decimal,
    to_moment,
    to_text,
)

Order = Mapping[str, object]
Item = Mapping[str, object]
CANCELLED_STATUS_TYPE = 99


def own_order_id(order: Order, mapping: OrderMapping) -> str:
    """The ERP's id for the order (OwnOrderId); SkipError when a template field is missing."""
    template = mapping.own_order_id
    try:
        return template.render(order)
    except KeyError as exc:
        problem = f"has no {exc.args[0]}"
    except ValueError as exc:
        problem = f"does not fit the template ({exc})"
    raise SkipError(
        f"order {to_text(child(order, 'Id'))} {problem}, so own_order_id {template.text!r} "
        f"cannot be built: fix own_order_id in {mapping.source}"
    )


def order_rows(order: Order, mapping: OrderMapping, *, tz: ZoneInfo) -> list[list[Cell]]:
    """Rows for the orders file: one per booked item (``lines``) or one per order."""
    if mapping.layout == "header+lines":
        return [_row(mapping.order_columns, order, None, mapping, tz)]
    items: Sequence[Item | None] = booked_items(order, mapping) if _items(order) else [None]
    return [_row(mapping.columns, order, item, mapping, tz) for item in items]


def order_line_rows(order: Order, mapping: OrderMapping, *, tz: ZoneInfo) -> list[list[Cell]]:
    """Rows for the order-lines file (``header+lines`` layout); [] in the ``lines`` layout."""
    if mapping.line_key is None:
        return []
    key = cell(mapping.line_key, order, None, mapping, tz)
    return [
        [key, *_row(mapping.item_columns, order, item, mapping, tz)]
        for item in booked_items(order, mapping)
    ]


def cancellation_rows(
    order: Order,
    mapping: OrderMapping,
    *,
    tz: ZoneInfo,
    item_ids: set[int] | None = None,
) -> list[list[Cell]]:
    """Rows for the cancellations file.

    ``item_ids`` given: one row per listed item (a partial cancellation the caller detected).
    Otherwise: one order row when the whole order is cancelled; else one row per item marked
    ``IsCancelled``; else (the caller says it is cancelled, the items do not) one order row.
    Kit rules apply to the cancelled items as to booked ones.
    """
    columns = mapping.cancellation_columns
    if item_ids is not None:
        chosen = [item for item in _items(order) if _item_id(item) in item_ids]
        return [_row(columns, order, item, mapping, tz) for item in _kit_level(chosen, mapping)]
    cancelled = [item for item in _items(order) if _flag(child(item, "IsCancelled"))]
    whole = _order_cancelled(order) or not cancelled
    if whole or not any(column.item for column in columns):
        return [_row(columns, order, None, mapping, tz)]
    return [_row(columns, order, item, mapping, tz) for item in _kit_level(cancelled, mapping)]


def cancelled_item_ids(order: Order) -> set[int]:
    """Ids of the order's items flagged ``IsCancelled``."""
    ids = {_item_id(item) for item in _items(order) if _flag(child(item, "IsCancelled"))}
    return {i for i in ids if i is not None}


def cancelled_on_arrival(order: Order) -> bool:
    """Cancelled as a whole, or every item cancelled though Alephee has not flagged the order
    yet: either way nothing of it is booked, and it goes to the cancellations file."""
    items = _items(order)
    return _order_cancelled(order) or (
        bool(items) and all(_flag(child(item, "IsCancelled")) for item in items)
    )


def unbooked_cancelled_ids(order: Order, mapping: OrderMapping) -> set[int]:
    """Items already cancelled when the order arrived and left out of the orders file: a later
    cancellation must not report them (nothing was booked for them)."""
    booked = {_item_id(item) for item in booked_items(order, mapping)}
    return cancelled_item_ids(order) - booked


def booked_items(order: Order, mapping: OrderMapping) -> list[Item]:
    """The items that become rows (see the module docstring)."""
    items = _kit_level(_items(order), mapping)
    if mapping.skip_cancelled_items:
        items = [item for item in items if not _flag(child(item, "IsCancelled"))]
    return items


def _kit_level(items: list[Item], mapping: OrderMapping) -> list[Item]:
    ids = {_item_id(item) for item in items} - {None}
    components = [item for item in items if _is_component(item, mapping, ids)]
    parents = {_parent(item, ids) for item in components}  # holds None when orphans exist
    kits = [item for item in items if _is_kit(item, mapping, parents - {None})]
    if mapping.kits == "kit":
        kit_ids = {_item_id(item) for item in kits}
        drop = [
            c
            for c in components
            if _parent(c, ids) in kit_ids or (bool(kits) and (_parent(c, ids) is None))
        ]
    else:
        # a component without ParentItemId cannot say whose it is: it covers the lone kits
        drop = [k for k in kits if _item_id(k) in parents or None in parents]
    dropped = {id(item) for item in drop}
    return [item for item in items if id(item) not in dropped]


def _is_component(item: Item, mapping: OrderMapping, ids: set[int | None]) -> bool:
    return _type_key(item) in mapping.component_type_keys or _parent(item, ids) is not None


def _is_kit(item: Item, mapping: OrderMapping, pointed: set[int | None]) -> bool:
    # a kit by its type, or because a component of this order points at it
    return _type_key(item) in mapping.kit_type_keys or _item_id(item) in pointed


def _parent(item: Item, ids: set[int | None]) -> int | None:
    """The kit this item belongs to, when that kit is in the order (0 and self mean none)."""
    parent = child(item, "ParentItemId")
    if isinstance(parent, int) and parent != _item_id(item) and parent in ids:
        return parent
    return None


def _item_id(item: Item) -> int | None:
    value = child(item, "Id")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _type_key(item: Item) -> object:
    key = child(child(item, "Type"), "Key")
    return int(key) if isinstance(key, str) and key.strip().isdigit() else key


def _items(order: Order) -> list[Item]:
    items = child(order, "Items")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _order_cancelled(order: Order) -> bool:
    status_type = child(child(order, "StatusType"), "Key")
    return _flag(child(order, "IsCancelled")) or status_type == CANCELLED_STATUS_TYPE


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().casefold() == "true")


def _row(
    columns: Iterable[Column],
    order: Order,
    item: Item | None,
    mapping: OrderMapping,
    tz: ZoneInfo,
) -> list[Cell]:
    return [cell(column, order, item, mapping, tz) for column in columns]


def cell(
    column: Column,
    order: Order,
    item: Item | None,
    mapping: OrderMapping,
    tz: ZoneInfo,
) -> Cell:
    """One typed cell; a missing path or a value that does not fit its format never raises."""
    if column.value is not None:
        return Text(column.value)
    raw = _first_value(column.paths, order, item, mapping)
    if raw is None or raw == "":
        return Text(column.default) if column.default is not None else EMPTY
    if column.lookup is not None:
        fallback = column.default if column.default is not None else to_text(raw)
        return Text(column.lookup.get(lookup_key(raw), fallback))
    return _formatted(column, raw, tz)


def _formatted(column: Column, raw: object, tz: ZoneInfo) -> Cell:
    if column.format == "date":
        moment = to_moment(raw, tz)
        return Date(moment, column.pattern) if moment is not None else Text(to_text(raw))
    number = to_decimal(raw) if column.format in ("decimal", "integer") else None
    if number is None:
        return Text(to_text(raw))
    if column.format == "integer" and number == number.to_integral_value():
        return Number(number.to_integral_value(), 0)
    # an "integer" column holding 2.5 keeps its fraction: a wrong quantity must stay visible
    return Number(number, column.decimals, column.decimal_separator)


def _first_value(
    paths: Iterable[FieldPath], order: Order, item: Item | None, mapping: OrderMapping
) -> object | None:
    for path in paths:
        value = (
            _own_id_or_none(order, mapping) if path.is_own_order_id else path.resolve(order, item)
        )
        if value is not None and value != "":
            return value
    return None


def _own_id_or_none(order: Order, mapping: OrderMapping) -> str | None:
    try:
        return own_order_id(order, mapping)
    except SkipError:
        return None
