"""Test data for the sync benchmark: two ERP exports (A, and B = A with 1 % changed rows) and a
state database in which A is the accepted state and every SKU is in the Alephee catalog.

The exports look like the legacy ERP's: cp1252, ``;`` separators, a title row above the
header, decimal commas, thousands dots and seven-digit SKUs with leading zeros (the same SKUs
as ``connector.sandbox.fixtures.make_catalog``, so the call count can run against the sandbox).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

MAPPING = """\
kind = "products"
name = "bench-sync"
files = ["stock-*.csv"]
encoding = "cp1252"
delimiter = ";"
decimal = ","
thousands = "."
header_row = 2

[columns]
sku = "Código"
quantity = "Stock"
price_with_taxes = "Precio c/IVA"
cost = "Costo"
"""
HEADER = ["Código", "Descripción", "Marca", "Stock", "Precio c/IVA", "Costo"]
KEY = HEADER[0]
BRANDS = ["ACME", "Ñandú", "Bosch", "Stanley", "Tramontina"]
A_AS_OF = "2026-11-23T09:00:00.000000Z"  # A was exported and accepted before B


@dataclass(frozen=True)
class Pair:
    """Where A and B are and what changed between them (1 % of rows: half stock, half price)."""

    a: str
    b: str
    rows: int
    stock_changed: int
    price_changed: int

    @property
    def changed(self) -> int:
        return self.stock_changed + self.price_changed

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Pair:
        return cls(**json.loads(text))


def money(cents: int) -> str:
    """12345678 -> '123.456,78' (thousands dots, decimal comma)."""
    whole, rest = divmod(cents, 100)
    return f"{whole:,}".replace(",", ".") + f",{rest:02d}"


def base_rows(count: int, seed: int = 11) -> list[list[str | int]]:
    """SKU, description, brand, stock, price with taxes (cents), cost (cents)."""
    rng = random.Random(seed)
    rows: list[list[str | int]] = []
    for number in range(1, count + 1):
        price = rng.randint(1_000, 9_999_999)
        rows.append(
            [
                f"{number:07d}",
                f"Artículo {number} de ferretería, línea {number % 97}",
                BRANDS[number % len(BRANDS)],
                rng.randint(0, 500),
                price,
                price * 55 // 100,
            ]
        )
    return rows


def change(rows: list[list[str | int]], share: float, seed: int = 12) -> tuple[int, int]:
    """Change ``share`` of the rows in place: the first half in stock, the rest in price."""
    rng = random.Random(seed)
    picked = rng.sample(range(len(rows)), round(len(rows) * share))
    half = len(picked) // 2
    for index in picked[:half]:
        rows[index][3] = int(rows[index][3]) + rng.randint(1, 50)
    for index in picked[half:]:
        rows[index][4] = int(rows[index][4]) + rng.randint(1, 10_000)
    return half, len(picked) - half


def write_export(path: Path, rows: list[list[str | int]], title: str) -> None:
    with open(path, "w", encoding="cp1252", newline="") as handle:
        handle.write(title + ";;;;;\r\n")
        handle.write(";".join(HEADER) + "\r\n")
        handle.writelines(
            f"{sku};{text};{brand};{stock};{money(int(price))};{money(int(cost))}\r\n"
            for sku, text, brand, stock, price, cost in rows
        )


def make_pair(folder: Path, count: int, share: float = 0.01) -> Pair:
    """Write stock-<n>-a.csv and stock-<n>-b.csv (kept between runs: same seed, same files)."""
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    a, b = folder / f"stock-{count}-a.csv", folder / f"stock-{count}-b.csv"
    manifest = folder / f"pair-{count}.json"
    if manifest.exists() and a.exists() and b.exists():
        return Pair.from_json(manifest.read_text(encoding="utf-8"))
    rows = base_rows(count)
    write_export(a, rows, "Listado de stock y precios al 23/11/2026 06:00")
    stock, price = change(rows, share)
    write_export(b, rows, "Listado de stock y precios al 23/11/2026 12:00")
    pair = Pair(str(a), str(b), count, stock, price)
    manifest.write_text(pair.to_json(), encoding="utf-8")
    return pair


def build_state(db_path: Path, pair: Pair) -> None:
    """A state DB where A is accepted (as ``send_due`` would have left it) and every SKU of A
    is in the cached catalog. Filled with bulk inserts: sending 1 M products is not the
    subject here."""
    from connector import db
    from connector.products import state
    from connector.readers import read_export
    from connector.readers.mapping import load_mapping_file

    mapping_path = db_path.with_suffix(".toml")
    mapping_path.write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping_file(mapping_path)
    assert mapping is not None
    table = read_export(Path(pair.a), mapping).table
    db_path.unlink(missing_ok=True)
    conn = db.connect(db_path)
    state.init(conn)
    skus = table["sku"].tolist()
    accepted = zip(
        skus,
        table["quantity"].astype(int).tolist(),
        table["price_with_taxes_e4"].astype(int).tolist(),
        table["cost_e4"].astype(int).tolist(),
        strict=True,
    )
    with db.atomic(conn):
        conn.executemany(
            "INSERT INTO accepted (sku, brand, quantity, price_with_taxes_e4, cost_e4, "
            "stock_as_of, price_as_of, updated_at) VALUES (?, 'ACME', ?, ?, ?, ?, ?, ?)",
            ((*row, A_AS_OF, A_AS_OF, A_AS_OF) for row in accepted),
        )
        conn.executemany(
            "INSERT INTO catalog (sku, own_code, brand, product_id) VALUES (?, NULL, 'ACME', ?)",
            ((sku, number) for number, sku in enumerate(skus, start=1)),
        )
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('catalog_refreshed_at', ?)",
            (A_AS_OF,),
        )
    conn.close()
