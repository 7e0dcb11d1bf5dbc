"""Order -> outbox rows: the sample, kits, cancellations, dates, lookups, paths, own ids."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.errors import SkipError
from connector.orders.mapping import OrderMapping
from connector.orders.rows import (
    booked_items,
    cancellation_rows,
    order_line_rows,
    order_rows,
    own_order_id,
)
from connector.outbox.typed import EMPTY, Cell, Date, Number, Text
from tests.outbox_support import (
    BUENOS_AIRES,
    LONG_ID,
    default_mapping,
    item,
    load_text_mapping,
    realistic_order,
    sample_order,
)

SKU = 6  # the SKU column of the default cancellations file
COLUMNS = """
[[columns]]
name = "Pedido"
path = "Id"
[[columns]]
name = "SKU"
path = "Item.Product.Sku"
[[columns]]
name = "Cantidad"
path = "Item.Quantity"
format = "integer"
"""


def mapping_with(tmp_path: Path, top: str = "", columns: str = COLUMNS) -> OrderMapping:
    return load_text_mapping(tmp_path, f'kind = "orders"\n{top}\n{columns}')


def by_name(mapping: OrderMapping, row: list[Cell]) -> dict[str, Cell]:
    return dict(zip(mapping.orders_header, row, strict=True))


def skus(rows: list[list[Cell]], column: int = 1) -> list[str]:
    cells = [row[column] for row in rows]
    return [cell.value for cell in cells if isinstance(cell, Text)]


def test_swagger_sample_through_the_default_mapping() -> None:
    mapping = default_mapping()
    order = sample_order()
    # every item of the sample is IsCancelled = true: the default leaves them out
    assert order_rows(order, mapping, tz=BUENOS_AIRES) == []
    keep = replace(mapping, skip_cancelled_items=False)
    (row,) = order_rows(order, keep, tz=BUENOS_AIRES)
    cells = by_name(mapping, row)
    assert cells["Pedido"] == Text("0")
    assert cells["Pedido ERP"] == Text("ALE-0")
    assert cells["Marketplace"] == Text("string")  # the sample spells it MarketPlace
    assert cells["Cantidad"] == Number(Decimal(0), 0)
    assert cells["Precio unitario"] == Number(Decimal(0), 2)
    assert cells["Logística"] == Text("Otra")  # key 0 is not in the lookup
    assert cells["Origen"] == Text("ALEPHEE")
    fecha = cells["Fecha"]
    assert isinstance(fecha, Date)
    assert fecha.render() == "12/10/2023 08:56"  # 11:56:55.688Z in Buenos Aires (UTC-3)
    (cancel,) = cancellation_rows(order, mapping, tz=BUENOS_AIRES)
    assert len(cancel) == len(mapping.cancellations_header)


def test_realistic_order_with_the_default_mapping() -> None:
    mapping = default_mapping()
    rows = order_rows(realistic_order(), mapping, tz=BUENOS_AIRES)
    first = by_name(mapping, rows[0])
    assert isinstance(first["Fecha"], Date) and first["Fecha"].render() == "31/01/2025 14:05"
    assert first["Pedido marketplace"] == Text(LONG_ID)
    assert first["CUIT/DNI"] == Text("20-20123456-3")  # billing document before the buyer's
    assert first["SKU"] == Text("0012345")
    assert first["Precio unitario"] == Number(Decimal("1234.5"), 2)
    assert first["Total pedido"] == Number(Decimal("7469.0"), 2)
    assert first["Costo envío"] == Number(Decimal(0), 2)
    assert first["Logística"] == Text("ME2")
    assert [by_name(mapping, row)["SKU"] for row in rows] == [Text("0012345"), Text("KIT-MATE")]


@pytest.mark.parametrize(
    ("kits", "expected"),
    [("kit", ["0012345", "KIT-MATE"]), ("components", ["0012345", "MATE-01", "BOMB-01"])],
)
def test_kits_are_booked_at_one_level_only(tmp_path: Path, kits: str, expected: list[str]) -> None:
    mapping = mapping_with(tmp_path, f'kits = "{kits}"')
    rows = order_rows(realistic_order(), mapping, tz=BUENOS_AIRES)
    assert skus(rows) == expected
    assert all(row[0] == Text("5001") for row in rows)  # header fields repeated


def test_components_found_by_parent_when_type_keys_differ(tmp_path: Path) -> None:
    items = [
        item(21, "KIT", type_key=1),
        item(22, "C1", type_key=1, parent=21),
        item(23, "C2", type_key=1, parent=21),
    ]
    order = realistic_order(Items=items)
    assert skus(order_rows(order, mapping_with(tmp_path, 'kits = "kit"'), tz=BUENOS_AIRES)) == [
        "KIT"
    ]
    components = mapping_with(tmp_path, 'kits = "components"')
    assert skus(order_rows(order, components, tz=BUENOS_AIRES)) == ["C1", "C2"]


def test_configured_type_keys_and_lone_levels_are_never_dropped(tmp_path: Path) -> None:
    lone_kit = realistic_order(Items=[item(31, "KIT", type_key=2), item(32, "SIMPLE")])
    components = mapping_with(tmp_path, 'kits = "components"')
    # a kit without its components is still booked: never neither
    assert skus(order_rows(lone_kit, components, tz=BUENOS_AIRES)) == ["KIT", "SIMPLE"]
    orphans = realistic_order(Items=[item(41, "C1", type_key=3), item(42, "C2", type_key=3)])
    kit_level = mapping_with(tmp_path, 'kits = "kit"')
    assert skus(order_rows(orphans, kit_level, tz=BUENOS_AIRES)) == ["C1", "C2"]
    custom = mapping_with(tmp_path, "kit_type_keys = [7]\ncomponent_type_keys = [8]")
    typed = realistic_order(
        Items=[item(51, "K", type_key=1, Type={"Key": 7}), item(52, "C", Type={"Key": 8})]
    )
    assert skus(order_rows(typed, custom, tz=BUENOS_AIRES)) == ["K"]


def test_cancelled_items_are_skipped_by_default(tmp_path: Path) -> None:
    items = [item(61, "A"), item(62, "B", cancelled=True)]
    order = realistic_order(Items=items)
    assert skus(order_rows(order, mapping_with(tmp_path), tz=BUENOS_AIRES)) == ["A"]
    assert [entry["Id"] for entry in booked_items(order, mapping_with(tmp_path))] == [61]
    keep = mapping_with(tmp_path, "skip_cancelled_items = false")
    assert skus(order_rows(order, keep, tz=BUENOS_AIRES)) == ["A", "B"]


def test_order_without_items_still_gives_one_row(tmp_path: Path) -> None:
    rows = order_rows(realistic_order(Items=[]), mapping_with(tmp_path), tz=BUENOS_AIRES)
    assert rows == [[Text("5001"), EMPTY, EMPTY]]


def test_partial_cancellation_rows(tmp_path: Path) -> None:
    mapping = mapping_with(tmp_path)
    items = [item(71, "A", quantity=3), item(72, "B", quantity=2, cancelled=True)]
    order = realistic_order(Items=items)
    derived = cancellation_rows(order, mapping, tz=BUENOS_AIRES)
    assert len(derived) == 1
    cells = dict(zip(mapping.cancellations_header, derived[0], strict=True))
    assert cells["SKU"] == Text("B")
    assert cells["Cantidad"] == Number(Decimal(2), 0)
    assert cells["Pedido ERP"] == Text("ALE-5001")
    # the order still says "Pendiente de envío"; the row says what it cancels (issue 16)
    assert cells["Cancelado"] == Text("Ítem cancelado")
    assert cells["Estado"] in (Text("Pendiente de envío"), Text("Cancelada"))
    whole = cancellation_rows(
        realistic_order(Items=items, IsCancelled=True), mapping, tz=BUENOS_AIRES
    )
    assert dict(zip(mapping.cancellations_header, whole[0], strict=True))["Cancelado"] == Text(
        "Pedido cancelado"
    )
    date = cells["Fecha cancelación"]
    assert isinstance(date, Date) and date.render() == "2025-01-31 23:30"  # 02:30Z -> UTC-3
    chosen = cancellation_rows(order, mapping, tz=BUENOS_AIRES, item_ids={71})
    assert [row[SKU] for row in chosen] == [Text("A")]
    assert cancellation_rows(order, mapping, tz=BUENOS_AIRES, item_ids={999}) == []


def test_partial_cancellation_of_a_kit_follows_the_kit_setting(tmp_path: Path) -> None:
    order = realistic_order()
    kit_ids = {12, 13, 14}
    rows = cancellation_rows(order, mapping_with(tmp_path), tz=BUENOS_AIRES, item_ids=kit_ids)
    assert [row[SKU] for row in rows] == [Text("KIT-MATE")]
    components = mapping_with(tmp_path, 'kits = "components"')
    rows = cancellation_rows(order, components, tz=BUENOS_AIRES, item_ids=kit_ids)
    assert [row[SKU] for row in rows] == [Text("MATE-01"), Text("BOMB-01")]


def test_whole_cancellation_is_one_row_without_item_cells(tmp_path: Path) -> None:
    cancelled = [item(81, "A", cancelled=True), item(82, "B", cancelled=True)]
    order = realistic_order(
        IsCancelled=True, StatusType={"Key": 99}, Status={"Value": "Cancelada"}, Items=cancelled
    )
    (row,) = cancellation_rows(order, mapping_with(tmp_path), tz=BUENOS_AIRES)
    assert row[0] == Text("5001") and row[4] == Text("Cancelada")
    assert row[5:] == [Text("Pedido cancelado"), EMPTY, EMPTY]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-01-31T17:05:09.123Z", "31/01/2025 14:05:09"),
        ("2025-01-31T17:05:09Z", "31/01/2025 14:05:09"),
        ("2025-01-31T17:05:09", "31/01/2025 14:05:09"),  # no offset: UTC
        ("2025-01-31T17:05:09.1230000Z", "31/01/2025 14:05:09"),  # .NET's 7 digits
        ("2025-01-01T02:00:00+00:00", "31/12/2024 23:00:00"),  # crosses the year
        ("2025-01-31", "31/01/2025 00:00:00"),  # a bare date keeps its day
    ],
)
def test_dates_convert_from_utc_to_buenos_aires(tmp_path: Path, raw: str, expected: str) -> None:
    columns = '[[columns]]\nname = "Fecha"\npath = "DateCreated"\nformat = "date"\n'
    mapping = mapping_with(tmp_path, 'date_format = "%d/%m/%Y %H:%M:%S"', columns)
    (row,) = order_rows(realistic_order(DateCreated=raw, Items=[]), mapping, tz=BUENOS_AIRES)
    assert isinstance(row[0], Date) and row[0].render() == expected


def test_values_that_do_not_fit_their_format_stay_as_text(tmp_path: Path) -> None:
    columns = """
[[columns]]
name = "Fecha"
path = "DateCreated"
format = "date"
pattern = "%Y"
[[columns]]
name = "Total"
path = "Payments[0].Total"
format = "decimal"
[[columns]]
name = "Cant"
path = "Items[0].Quantity"
format = "integer"
"""
    order = realistic_order(DateCreated="ayer", Payments=[{"Total": "n/a"}])
    order["Items"][0]["Quantity"] = 2.5
    (row, *_) = order_rows(order, mapping_with(tmp_path, columns=columns), tz=BUENOS_AIRES)
    assert row == [Text("ayer"), Text("n/a"), Number(Decimal("2.5"))]


def test_lookup_with_and_without_default(tmp_path: Path) -> None:
    columns = """
[[columns]]
name = "Canal"
path = "MarketPlace.Key"
lookup = { "1" = "Mercado Libre", "2" = "Dafiti" }
default = "Otro"
[[columns]]
name = "Canal crudo"
path = "MarketPlace.Key"
lookup = { "2" = "Dafiti" }
"""
    mapping = mapping_with(tmp_path, columns=columns)
    for key, expected in [(1, "Mercado Libre"), ("2", "Dafiti"), (2.0, "Dafiti"), (9, "Otro")]:
        order = realistic_order(MarketPlace={"Key": key}, Items=[])
        (row,) = order_rows(order, mapping, tz=BUENOS_AIRES)
        assert row[0] == Text(expected)
    (row,) = order_rows(realistic_order(MarketPlace={"Key": 1}, Items=[]), mapping, tz=BUENOS_AIRES)
    assert row[1] == Text("1")  # no default: the value as it is


def test_paths_are_case_insensitive_and_missing_paths_give_empty_cells(tmp_path: Path) -> None:
    columns = """
[[columns]]
name = "Canal"
path = "MARKETPLACE.value"
[[columns]]
name = "Ciudad"
path = "shipping.receiveraddress.city"
[[columns]]
name = "Ausente"
path = "Buyer.Address.Nowhere[3].Deep"
[[columns]]
name = "Con default"
path = "Notes"
default = "-"
[[columns]]
name = "Ultimo pago"
path = "Payments[-1].Total"
format = "decimal"
[[columns]]
name = "Fuera de rango"
path = "Payments[5].Total"
[[columns]]
name = "Indice sobre objeto"
path = "Buyer[0]"
"""
    mapping = mapping_with(tmp_path, columns=columns)
    order = realistic_order(Marketplace={"Value": "Dafiti"}, Items=[])
    del order["MarketPlace"]
    (row,) = order_rows(order, mapping, tz=BUENOS_AIRES)
    assert row == [
        Text("Dafiti"),
        Text("CABA"),
        EMPTY,
        Text("-"),
        Number(Decimal("7469.0")),
        EMPTY,
        EMPTY,
    ]


def test_missing_sections_never_crash(tmp_path: Path) -> None:
    mapping = default_mapping()
    bare: dict[str, Any] = {"Id": 9, "Items": [{"Id": 1}, "not an item", None]}
    (row,) = order_rows(bare, mapping, tz=BUENOS_AIRES)
    cells = by_name(mapping, row)
    assert cells["Pedido"] == Text("9") and cells["Cliente"] == EMPTY and cells["SKU"] == EMPTY
    assert order_rows({}, mapping, tz=BUENOS_AIRES)[0][0] == EMPTY


def test_path_list_takes_the_first_value(tmp_path: Path) -> None:
    columns = (
        '[[columns]]\nname = "Doc"\npath = ["Buyer.BillingInfo.DocNumber", "Buyer.DocNumber"]\n'
    )
    mapping = mapping_with(tmp_path, columns=columns)
    order = realistic_order(Items=[])
    order["Buyer"]["BillingInfo"]["DocNumber"] = ""
    assert order_rows(order, mapping, tz=BUENOS_AIRES) == [[Text("20123456")]]


def test_own_order_id_template(tmp_path: Path) -> None:
    order = realistic_order()
    assert own_order_id(order, default_mapping()) == "ALE-5001"
    padded = mapping_with(tmp_path, 'own_order_id = "{MarketPlace.Key}-{Id:08d}-{{x}}"')
    assert own_order_id(order, padded) == "1-00005001-{x}"
    external = mapping_with(tmp_path, 'own_order_id = "ML-{ExternalOrderId}"')
    assert own_order_id(order, external) == f"ML-{LONG_ID}"
    del order["ExternalOrderId"]
    with pytest.raises(SkipError, match="order 5001 has no ExternalOrderId"):
        own_order_id(order, external)
    bad_spec = mapping_with(tmp_path, 'own_order_id = "{Buyer.Name:08d}"')
    with pytest.raises(SkipError, match="does not fit the template"):
        own_order_id(order, bad_spec)


def test_header_plus_lines_rows_join_on_the_key(tmp_path: Path) -> None:
    columns = COLUMNS + '[[columns]]\nname = "Cliente"\npath = "Buyer.Name"\n'
    mapping = mapping_with(tmp_path, 'layout = "header+lines"', columns)
    order = realistic_order()
    assert mapping.orders_header == ["Pedido", "Cliente"]
    assert order_rows(order, mapping, tz=BUENOS_AIRES) == [[Text("5001"), Text("Núñez São")]]
    lines = order_line_rows(order, mapping, tz=BUENOS_AIRES)
    assert mapping.lines_header == ["Pedido", "SKU", "Cantidad"]
    assert [row[:2] for row in lines] == [
        [Text("5001"), Text("0012345")],
        [Text("5001"), Text("KIT-MATE")],
    ]
    assert order_line_rows(order, default_mapping(), tz=BUENOS_AIRES) == []


class Recording(dict[str, Any]):
    """A dict that logs which keys the row builder reads (values, not key listing)."""

    def __init__(self, data: dict[str, Any], where: str, log: set[str]) -> None:
        super().__init__({key: wrap(value, f"{where}{key}.", log) for key, value in data.items()})
        self.where = where
        self.log = log

    def __getitem__(self, key: str) -> Any:
        self.log.add(f"{self.where}{key}".casefold())
        return super().__getitem__(key)


def wrap(value: Any, where: str, log: set[str]) -> Any:
    if isinstance(value, dict):
        return Recording(value, where, log)
    if isinstance(value, list):
        return [wrap(entry, f"{where.rstrip('.')}[].", log) for entry in value]
    return value


def test_only_the_mapped_paths_are_read() -> None:
    mapping = default_mapping()
    log: set[str] = set()
    order = Recording(realistic_order(), "", log)
    order_rows(order, mapping, tz=BUENOS_AIRES)
    own_order_id(order, mapping)
    allowed = {"items", "iscancelled", "statustype", "statustype.key"}
    allowed |= {f"items[].{name}" for name in ("id", "type", "type.key", "parentitemid")}
    allowed |= {"items[].iscancelled"}
    for column in mapping.columns:
        for path in column.paths:
            where = "items[]" if path.item else ""
            for step in path.steps:
                if isinstance(step, int):
                    where += "[]"  # the log names list entries like this
                    continue
                where = f"{where}.{step}" if where else step
                allowed.add(where.casefold())
    assert log <= allowed, log - allowed
    assert "buyer.email" not in log and "buyer.name" in log
