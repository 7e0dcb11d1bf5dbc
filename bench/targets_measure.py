"""One anchor or XLSX measurement of ``bench_targets.py``, in a fresh process so that its
peak memory (``ru_maxrss``) is its own:

    python bench/targets_measure.py KIND WORKDIR ROWS

Prints one JSON line in ``sync_measure``'s shape: ``{"phases": [[name, s, MB], ...],
"facts": {...}}``; the ``setup`` phase (imports, opening files) is left out of the figures.

Kinds on the sync pair (A, B = A with 1 % changed; ``sync_data``): ``duckdb`` (both files
read by DuckDB, numbers normalised, joined on the SKU, changed rows fetched), ``polars`` (the
same as a Polars pipeline), ``pyarrow`` (a bare read of B, every column as text). Kinds on
``xlsx-<ROWS>.xlsx`` (``bench_read.write_xlsx``): ``xlsx-connector`` (``read_export``),
``xlsx-calamine`` (python-calamine ``to_python``), ``xlsx-calamine-rows`` (``iter_rows``),
``xlsx-openpyxl`` (openpyxl ``read_only``, values only). End to end against the sandbox
(``e2e_measure``): ``once-second`` and ``once-first``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import e2e_measure
import sync_data
from sync_measure import Clock, measure

PRICES = ["Precio c/IVA", "Costo"]


def _pair(work: Path, rows: int) -> sync_data.Pair:
    return sync_data.Pair.from_json((work / f"pair-{rows}.json").read_text(encoding="utf-8"))


def duckdb_diff(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import duckdb

    pair = _pair(work, rows)
    con = duckdb.connect()
    clock.lap("setup")

    def table(path: str) -> str:
        # latin-1 reads these cp1252 files' letters (ñ, á, í, ú) as the same characters
        prices = ", ".join(
            f"CAST(round(CAST(replace(replace(\"{p}\", '.', ''), ',', '.') AS DECIMAL(18, 2))"
            f' * 10000) AS BIGINT) AS "{p}"'
            for p in PRICES
        )
        return (
            f'SELECT "Código" AS sku, CAST("Stock" AS BIGINT) AS stock, {prices} '
            f"FROM read_csv('{path}', delim=';', header=true, skip=1, all_varchar=true, "
            "encoding='latin-1')"
        )

    changed = con.sql(
        f"WITH a AS ({table(pair.a)}), b AS ({table(pair.b)}) "
        "SELECT b.* FROM b LEFT JOIN a USING (sku) WHERE a.sku IS NULL "
        "OR b.stock IS DISTINCT FROM a.stock "
        + " ".join(f'OR b."{p}" IS DISTINCT FROM a."{p}"' for p in PRICES)
    ).to_arrow_table()
    clock.lap("diff")
    return {"changed": changed.num_rows}


def polars_diff(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import polars as pl

    pair = _pair(work, rows)
    clock.lap("setup")

    def load(path: str) -> pl.DataFrame:
        frame = pl.read_csv(path, separator=";", skip_rows=1, encoding="cp1252", infer_schema=False)
        e4 = [
            (
                pl.col(p)
                .str.replace_all(".", "", literal=True)
                .str.replace(",", ".", literal=True)
                .cast(pl.Float64)
                * 10_000
            )
            .round()
            .cast(pl.Int64)
            .alias(p)
            for p in PRICES
        ]
        return frame.select(
            pl.col("Código").str.strip_chars().alias("sku"),
            pl.col("Stock").cast(pl.Int64).alias("stock"),
            *e4,
        )

    a, b = load(pair.a), load(pair.b)
    joined = b.join(a, on="sku", how="left", suffix="_old")
    values = ["stock", *PRICES]
    changed = joined.filter(
        pl.any_horizontal(pl.col(v).ne_missing(pl.col(f"{v}_old")) for v in values)
    )
    clock.lap("diff")
    return {"changed": changed.height}


def pyarrow_read(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import pyarrow as pa
    from pyarrow import csv

    pair = _pair(work, rows)
    clock.lap("setup")
    table = csv.read_csv(
        pair.b,
        read_options=csv.ReadOptions(encoding="cp1252", skip_rows=1),
        parse_options=csv.ParseOptions(delimiter=";"),
        convert_options=csv.ConvertOptions(
            column_types={name: pa.string() for name in sync_data.HEADER}
        ),
    )
    clock.lap("read")
    return {"rows": table.num_rows}


def _xlsx(work: Path, rows: int) -> Path:
    return work / f"xlsx-{rows}.xlsx"


def xlsx_connector(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    from bench_read import MAPPING

    import connector.readers.xlsx  # noqa: F401  (imported with the first XLSX: setup, as above)
    from connector.readers import read_export
    from connector.readers.mapping import load_mapping_file

    mapping_path = work / "bench-read.toml"
    mapping_path.write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping_file(mapping_path)
    assert mapping is not None
    clock.lap("setup")
    export = read_export(_xlsx(work, rows), mapping)
    clock.lap("read_export")
    assert not export.rejects, export.rejects[:3]
    return {"rows": len(export.table)}


def xlsx_calamine(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    clock.lap("setup")
    with CalamineWorkbook.from_path(str(_xlsx(work, rows))) as workbook:
        cells = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    clock.lap("to_python")
    return {"rows": len(cells)}


def xlsx_calamine_rows(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    clock.lap("setup")
    count = 0
    with CalamineWorkbook.from_path(str(_xlsx(work, rows))) as workbook:
        for _row in workbook.get_sheet_by_index(0).iter_rows():
            count += 1
    clock.lap("iter_rows")
    return {"rows": count}


def xlsx_openpyxl(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import openpyxl

    clock.lap("setup")
    workbook = openpyxl.load_workbook(_xlsx(work, rows), read_only=True, data_only=True)
    count = sum(1 for _row in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    clock.lap("iter_rows")
    return {"rows": count}


def run_latency(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    """Seconds from a complete file in the inbox to the first POST /v2/products that a
    running ``connector run`` (default [intake] settings, catalog fresh) sends for it."""
    import os
    import subprocess
    import threading
    import time

    from connector.config import IntakeSettings
    from connector.sandbox import Sandbox, SandboxOptions
    from connector.sandbox.fixtures import make_catalog

    folder = work / "latency"
    key = "bench-key-1234"
    options = SandboxOptions(api_key=key, account_id=1001, rate_per_minute=100_000, burst=100_000)
    with Sandbox(options).start() as sandbox:
        catalog = make_catalog(rows)
        sandbox.load_catalog(catalog)
        config = e2e_measure.scaffold(folder, sandbox.url, key)
        (folder / "mappings" / "stock-prices.toml").write_text(sync_data.MAPPING, "utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
        command = [sys.executable, "-m", "connector", "--config", str(config)]
        subprocess.run([*command, "once", "--refresh-catalog"], env=env, check=True)
        watcher = subprocess.Popen(
            [*command, "run"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        started = threading.Event()

        def listen() -> None:
            assert watcher.stdout is not None
            for line in watcher.stdout:
                if "watching" in line.lower():
                    started.set()

        threading.Thread(target=listen, daemon=True).start()
        if not started.wait(60):
            sys.exit("connector run did not start watching within 60 s")
        sandbox.reset_requests()
        clock.lap("setup")
        sku = catalog[0]["Identification"]["SKU"]
        scratch = folder / "stock-1.csv.part"
        scratch.write_bytes(
            "Listado;;;;;\r\nCódigo;Descripción;Marca;Stock;Precio c/IVA;Costo\r\n"
            f"{sku};Artículo;ACME;4321;1.000,00;550,00\r\n".encode("cp1252")
        )
        os.replace(scratch, folder / "inbox" / "stock-1.csv")  # complete from this instant
        ready_at = time.monotonic()
        posted = None
        while time.monotonic() - ready_at < 120:
            if any(r.method == "POST" and r.path.endswith("/products") for r in sandbox.requests):
                posted = time.monotonic() - ready_at
                break
            time.sleep(0.02)
        clock.lap("file -> first POST")
        watcher.terminate()  # an idle `run` may finish its rescan wait first (main, 2026-12)
        try:
            watcher.wait(10)
        except subprocess.TimeoutExpired:
            watcher.kill()
            watcher.wait(10)
    intake = IntakeSettings()
    settle = max(intake.min_age_seconds, intake.stable_checks * intake.check_interval_seconds)
    return {"seconds": posted, "settle": settle}


KINDS: dict[str, Callable[[Path, int, Clock], dict[str, Any]]] = {
    "duckdb": duckdb_diff,
    "polars": polars_diff,
    "pyarrow": pyarrow_read,
    "xlsx-connector": xlsx_connector,
    "xlsx-calamine": xlsx_calamine,
    "xlsx-calamine-rows": xlsx_calamine_rows,
    "xlsx-openpyxl": xlsx_openpyxl,
    "run-latency": run_latency,
    "once-second": e2e_measure.once_second,
    "once-first": e2e_measure.once_first,
}


def main() -> None:
    measure(KINDS)


if __name__ == "__main__":
    main()
