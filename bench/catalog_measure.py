"""Catalog download costs without the network (issue 14): parsing GET /v2/products results, and
writing the catalog, Alephee's values and the seeds for a first contact.

    python bench/catalog_measure.py parse --rows 200000 --repeat 3
    python bench/catalog_measure.py seed --rows 1000000

``parse`` times the pydantic model the download used per product (``CatalogProduct``) against
``products.catalog_values.parse`` on the same dicts, alternately in the same process.
``seed`` runs the refresh's transaction (catalog rows, ``catalog_values``, ``snapshot.seed``) on
an empty state from generated pages, and prints seconds and peak RSS (a fresh process per run:
``resource.getrusage``)."""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connector.alephee.models import CatalogProduct
from connector.db import atomic, connect
from connector.products import catalog, catalog_values, snapshot
from connector.products import state as products_state
from connector.sandbox.fixtures import make_catalog

PAGE = 1_000


def pages(rows: int) -> Iterator[list[dict[str, Any]]]:
    """Generated catalog pages, one at a time (the download streams them)."""
    template = make_catalog(PAGE)
    for start in range(0, rows, PAGE):
        page = []
        for offset, product in enumerate(template[: min(PAGE, rows - start)]):
            i = start + offset + 1
            ident = {**product["Identification"], "Id": i, "SKU": f"{i:07d}"}
            page.append({**product, "Identification": ident})
        yield page


def measure_parse(rows: int, repeat: int) -> None:
    products = [p for page in pages(rows) for p in page]
    for round_ in range(1, repeat + 1):
        t0 = time.perf_counter()
        for product in products:
            CatalogProduct.model_validate(product)
        model = time.perf_counter() - t0
        t0 = time.perf_counter()
        for product in products:
            catalog_values.parse(product, 1)
        plain = time.perf_counter() - t0
        per_million = 1_000_000 / rows
        print(
            f"round {round_}: {rows:,} products: CatalogProduct.model_validate {model:.2f} s "
            f"({model * per_million:.1f} s per 1M), catalog_values.parse {plain:.2f} s "
            f"({plain * per_million:.1f} s per 1M): {model / plain:.1f}x"
        )


def measure_seed(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        conn = connect(Path(folder) / "state.db")
        products_state.init(conn)
        catalog_values.init(conn)
        t0 = time.perf_counter()
        with atomic(conn):
            for page in pages(rows):
                parsed = [catalog_values.parse(product, 1) for product in page]
                conn.executemany(
                    "INSERT INTO catalog (product_id, sku, own_code, brand, brand_id) "
                    "VALUES (?,?,?,?,?)",
                    (row[:5] for row in parsed),
                )
                catalog_values.write(conn, parsed)
            written = time.perf_counter() - t0
            seeded = snapshot.seed(conn, "2026-12-02T12:00:00.000000Z")
        total = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{rows:,} products: parse + write catalog and values {written:.2f} s, "
            f"seed {total - written:.2f} s ({seeded:,} values), total {total:.2f} s, "
            f"peak RSS {peak:.0f} MB; catalog rows {catalog.size(conn):,}"
        )
        _check(conn, rows)


def _check(conn: sqlite3.Connection, rows: int) -> None:
    found = conn.execute(
        "SELECT COUNT(*) FROM accepted WHERE stock_as_of = ?", (snapshot.SEED_AS_OF,)
    )
    assert found.fetchone()[0] == rows, "every product seeded"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=("parse", "seed"))
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.what == "parse":
        measure_parse(args.rows, args.repeat)
    else:
        measure_seed(args.rows)


if __name__ == "__main__":
    main()
