"""The catalog match finds the product Alephee would update: the same answer as the sandbox's
own matching (code against SKU, then own code; the brand by name in any case or by id), for any
catalog and any export rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from connector import db
from connector.products import catalog, state
from connector.sandbox import SandboxOptions
from connector.sandbox.store import Store, brand_matches

CODES = st.sampled_from(["A1", "A2", "B7", "OC-1"])
BRANDS = [(1, "ACME"), (2, "BOSCH")]


@st.composite
def catalogs(draw: st.DrawFn) -> list[dict[str, Any]]:
    products = []
    for number in range(draw(st.integers(0, 6))):
        brand_id, brand = draw(st.sampled_from(BRANDS))
        ident = {
            "Id": number + 1,
            "SKU": draw(CODES),
            "OwnCode": draw(st.sampled_from(["", "OC-1", "A2"])),
            "Brand": {"Id": brand_id, "Name": brand},
        }
        products.append({"Identification": ident})
    return products


WRITTEN = st.sampled_from(["", "ACME", "acme", "Bosch", "1", "2", "OTRA"])


def alephee_match(store: Store, code: str, brand: str) -> list[dict[str, Any]]:
    """As the sandbox's POST /v2/products matches an item (section 5.3)."""
    for found in (store.products_by_sku(code), store.products_by_own_code(code)):
        if brand:
            found = [p for p in found if brand_matches(p, brand)]
        if found:
            return found
    return []


@settings(max_examples=60, deadline=None)
@given(products=catalogs(), rows=st.lists(st.tuples(CODES, WRITTEN), max_size=8))
def test_match_agrees_with_alephee(
    products: list[dict[str, Any]], rows: list[tuple[str, str]]
) -> None:
    store = Store(SandboxOptions())
    store.load_catalog(products)
    conn = db.connect(":memory:")
    state.init(conn)
    with db.atomic(conn):
        conn.executemany(
            "INSERT INTO catalog (product_id, sku, own_code, brand, brand_id) VALUES (?,?,?,?,?)",
            [
                (i["Id"], i["SKU"], i["OwnCode"], i["Brand"]["Name"], i["Brand"]["Id"])
                for i in (p["Identification"] for p in products)
            ],
        )
    table = pd.DataFrame(
        {
            "sku": pd.Series([c for c, _ in rows], dtype="str"),
            "brand": pd.Series([b for _, b in rows], dtype="str"),
        }
    )
    found = catalog.match(conn, table)
    for index, (code, brand) in enumerate(rows):
        expected = alephee_match(store, code, brand)
        assert bool(found.unknown[index]) == (not expected)
        assert bool(found.ambiguous[index]) == (len(expected) > 1)
        if len(expected) == 1:
            assert found.brand.iloc[index] == expected[0]["Identification"]["Brand"]["Name"]
    conn.close()
