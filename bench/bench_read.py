"""Reading benchmark: ``read_export`` against the raw readers it is built on.

    .venv/bin/python bench/bench_read.py [--rows 1000000] [--xlsx-rows 100000] [--out DIR]

Generates a cp1252 ';' CSV export (title row, leading-zero SKUs, decimal commas, thousands
dots) and an XLSX export, then times in a fresh subprocess per measurement (so peak memory,
``ru_maxrss``, belongs to that measurement alone):

- csv  read_export           the connector: decode, parse, validate, one row per SKU
- csv  all rejected          the same file through a mapping with the separators swapped,
                             so every row is rejected and keeps its original row (worst case)
- csv  pandas pyarrow        ``pandas.read_csv(engine="pyarrow", dtype=str)`` alone
- xlsx read_export           the connector: zip/XML scan, calamine, validate
- xlsx calamine raw          python_calamine iterating every row, nothing else
- xlsx pandas calamine       ``pandas.read_excel(engine="calamine")`` for reference

Each measurement runs ``--repeat`` times (default 3); the table shows the best time (the
machine is often shared) and the highest peak. Generated files go to bench/out/ (gitignored)
unless --out says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAPPING = """\
kind = "products"
name = "bench"
files = ["stock-*.csv", "stock-*.xlsx"]
decimal = ","
thousands = "."
header_row = 2

[columns]
sku = "Código"
brand = "Marca"
quantity = "Stock"
price_with_taxes = "Precio c/IVA"
cost = "Costo"
"""
HEADER = ["Código", "Descripción", "Marca", "Stock", "Precio c/IVA", "Costo"]


def _money(value: float) -> str:
    whole, cents = divmod(round(value * 100), 100)
    return f"{whole:,}".replace(",", ".") + f",{cents:02d}"


def make_rows(count: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    brands = ["ACME", "Ñandú", "Bosch", "Stanley", "Tramontina"]
    rows = []
    for number in range(1, count + 1):
        price = rng.uniform(10, 99_999)
        rows.append(
            [
                f"{number:08d}",
                f"Artículo {number} de ferretería",
                brands[number % len(brands)],
                str(rng.randint(0, 500)),
                _money(price),
                _money(price * 0.6),
            ]
        )
    return rows


def write_csv(path: Path, rows: list[list[str]]) -> None:
    with open(path, "w", encoding="cp1252", newline="") as handle:
        handle.write("Listado de stock y precios;;;;;\r\n")
        handle.write(";".join(HEADER) + "\r\n")
        for row in rows:
            handle.write(";".join(row) + "\r\n")


def write_xlsx(path: Path, rows: list[list[str]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Stock")
    sheet.append(["Listado de stock y precios"])
    sheet.append(HEADER)
    for sku, description, brand, stock, price, cost in rows:
        # Numbers as Excel stores them: real numeric cells, SKUs as text.
        as_float = float(price.replace(".", "").replace(",", "."))
        cost_float = float(cost.replace(".", "").replace(",", "."))
        sheet.append([sku, description, brand, int(stock), as_float, cost_float])
    workbook.save(path)


def measure(kind: str, path: Path, mapping_path: Path) -> dict[str, float]:
    """Run one measurement in this process (called in a fresh subprocess). Imports happen
    before the clock starts: every contender pays for pandas' import the same way."""
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from connector.readers import read_export
    from connector.readers.mapping import load_mapping_file

    mapping = load_mapping_file(mapping_path)
    assert mapping is not None
    start = time.perf_counter()
    rows = 0
    if kind.endswith("read_export"):
        export = read_export(path, mapping)
        rows = len(export.table)
        assert not export.rejects, export.rejects[:3]
    elif kind == "csv all rejected":
        swapped = mapping.model_copy(update={"decimal": ".", "thousands": ","})
        export = read_export(path, swapped)
        rows = len(export.rejects)
        assert not len(export.table) and rows == export.rows_read
    elif kind == "csv pandas pyarrow":
        frame = pd.read_csv(
            path, engine="pyarrow", sep=";", dtype=str, skiprows=1, encoding="cp1252"
        )
        rows = len(frame)
    elif kind == "xlsx calamine raw":
        with CalamineWorkbook.from_path(str(path)) as workbook:
            for _row in workbook.get_sheet_by_index(0).iter_rows():
                rows += 1
    elif kind == "xlsx pandas calamine":
        rows = len(pd.read_excel(path, engine="calamine", dtype=str, skiprows=1))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak_mb, "rows": rows}


def run(kind: str, path: Path, mapping_path: Path, repeat: int) -> dict[str, float]:
    """Best time and highest peak of ``repeat`` fresh processes."""
    command = [sys.executable, __file__, "--measure", kind, str(path), str(mapping_path)]
    results = []
    for _ in range(repeat):
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE.parent)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "seconds": min(result["seconds"] for result in results),
        "peak_mb": max(result["peak_mb"] for result in results),
        "rows": results[0]["rows"],
    }


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} cores, {model}, Python {sys.version.split()[0]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=HERE / "out")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (shared machines)")
    parser.add_argument("--measure", nargs=3, metavar=("KIND", "FILE", "MAPPING"))
    parser.add_argument("--generate", nargs=3, metavar=("KIND", "ROWS", "FILE"))
    args = parser.parse_args()
    if args.measure:
        kind, file, mapping = args.measure
        print(json.dumps(measure(kind, Path(file), Path(mapping))))
        return
    if args.generate:
        kind, rows, file = args.generate
        writer = write_csv if kind == "csv" else write_xlsx
        writer(Path(file), make_rows(int(rows)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    mapping_path = args.out / "bench-mapping.toml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    csv_path = args.out / f"stock-{args.rows}.csv"
    xlsx_path = args.out / f"stock-{args.xlsx_rows}.xlsx"
    # Files are generated (and every measurement runs) in child processes: Linux keeps a
    # parent's peak RSS in a child's ru_maxrss across fork+exec, so this process stays small.
    for kind, rows, path in (("csv", args.rows, csv_path), ("xlsx", args.xlsx_rows, xlsx_path)):
        if not path.exists():
            command = [sys.executable, __file__, "--generate", kind, str(rows), str(path)]
            subprocess.run(command, check=True)
    print(f"machine: {machine()}")
    print(f"csv:  {csv_path.name} {csv_path.stat().st_size / 1e6:.1f} MB")
    print(f"xlsx: {xlsx_path.name} {xlsx_path.stat().st_size / 1e6:.1f} MB")
    print(f"{'measurement':<24}{'rows':>10}{'seconds':>10}{'peak MB':>10}")
    for kind, path in (
        ("csv read_export", csv_path),
        ("csv all rejected", csv_path),
        ("csv pandas pyarrow", csv_path),
        ("xlsx read_export", xlsx_path),
        ("xlsx calamine raw", xlsx_path),
        ("xlsx pandas calamine", xlsx_path),
    ):
        result = run(kind, path, mapping_path, args.repeat)
        print(
            f"{kind:<24}{result['rows']:>10.0f}{result['seconds']:>10.2f}{result['peak_mb']:>10.0f}"
        )


if __name__ == "__main__":
    main()
