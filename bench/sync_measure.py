"""One measurement of the sync benchmark, run in a fresh process so that its peak memory
(``ru_maxrss``) belongs to it alone:

    .venv/bin/python bench/sync_measure.py KIND WORKDIR ROWS

Prints one JSON line: ``{"phases": [[name, seconds, peak_mb], ...], "facts": {...}}``. Peak
memory is read after each phase, so a phase's figure is the process peak up to its end. The
first phase, ``setup``, holds imports and opening files; the report leaves its time out.

Kinds: ``baseline`` (imports only), ``prepare`` (files, state DB with A accepted, B's table as
Parquet), ``read`` (read_export of B, validation included), ``diff`` (snapshot.load of A's
accepted state from SQLite, then diff against B's table loaded from Parquet), ``ingest`` (the
whole ``sync.ingest`` of B: read, catalog filter, diff, enqueue), ``ingest-parts`` (the steps
of ``ingest`` timed one by one), ``csv-diff`` and ``pandas-merge`` (the references).
"""

from __future__ import annotations

import csv
import json
import resource
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sync_data

Phases = list[tuple[str, float, float]]


class Clock:
    """Seconds and process peak memory (MB) at the end of each named phase."""

    def __init__(self) -> None:
        self.phases: Phases = []
        self.started = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.phases.append((name, now - self.started, peak))
        self.started = time.perf_counter()


def _pair(work: Path, rows: int) -> sync_data.Pair:
    return sync_data.Pair.from_json((work / f"pair-{rows}.json").read_text(encoding="utf-8"))


def _mapping(work: Path) -> Any:
    from connector.readers.mapping import load_mapping_file

    path = work / "bench-sync.toml"
    path.write_text(sync_data.MAPPING, encoding="utf-8")
    return load_mapping_file(path)


def baseline(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import connector.products.sync  # noqa: F401  (pandas, pydantic, httpx: what every run pays)
    from connector.readers import read_export  # noqa: F401

    clock.lap("import")
    return {}


def prepare(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    pair = sync_data.make_pair(work, rows)
    clock.lap("generate")
    sync_data.build_state(work / f"state-{rows}.db", pair)
    clock.lap("state")
    from connector.readers import read_export

    table = read_export(Path(pair.b), _mapping(work)).table
    table.to_parquet(work / f"b-{rows}.parquet", index=False)
    clock.lap("parquet")
    return {"pair": pair.to_json()}


def read(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    from connector.readers import read_export

    path, mapping = Path(_pair(work, rows).b), _mapping(work)
    clock.lap("setup")
    export = read_export(path, mapping)
    clock.lap("read_export")
    assert not export.rejects, export.rejects[:3]
    return {"products": len(export.table)}


def diff(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import pandas as pd

    from connector import db
    from connector.products import snapshot
    from connector.products.diff import diff as diff_tables

    table = pd.read_parquet(work / f"b-{rows}.parquet")
    fields = frozenset({"quantity", "price_with_taxes", "cost"})
    conn = db.connect(work / f"state-{rows}.db")
    clock.lap("setup")
    accepted = snapshot.load(conn, fields)
    clock.lap("snapshot.load")
    changes = diff_tables(table, accepted, fields)
    clock.lap("diff")
    return {"accepted": len(accepted), **{c.group: len(c) for c in changes}}


def _state_copy(work: Path, rows: int, *, settled: bool) -> Path:
    """A fresh state folder for one measurement: ingest writes to it. ``settled``: the state
    after the connector read A itself (its columnar copy of A's match, ``products.layout``,
    beside it), as on any day after the first; otherwise A's accepted state alone."""
    source = work / (f"settled-{rows}" if settled else f"state-{rows}")
    target = work / f"ingest-{rows}"
    shutil.rmtree(target, ignore_errors=True)
    if settled:
        shutil.copytree(source, target)
    else:
        target.mkdir()
        shutil.copyfile(work / f"state-{rows}.db", target / "state.db")
    return target / "state.db"


NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _open(path: Path) -> Any:
    """The state database, its tables upgraded (as ``connector`` does when it starts)."""
    from connector import db
    from connector.products import state

    conn = db.connect(path)
    state.init(conn)
    return conn


def settle(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    """Read A into a copy of its own accepted state (nothing to send): the day before B."""
    from connector.config import ScheduleSettings
    from connector.products.ingest import ingest as ingest_export
    from connector.readers import read_export

    target = work / f"settled-{rows}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    shutil.copyfile(work / f"state-{rows}.db", target / "state.db")
    conn = _open(target / "state.db")
    clock.lap("setup")
    export = read_export(Path(_pair(work, rows).a), _mapping(work))
    report = ingest_export(conn, export, as_of=NOW, now=NOW, schedule=ScheduleSettings())
    clock.lap("read A + ingest A (first file: full match)")
    conn.close()
    return {"queued": report.queued}


def _ingest(work: Path, rows: int, clock: Clock, *, settled: bool) -> dict[str, Any]:
    from connector.config import ScheduleSettings
    from connector.products.ingest import ingest as ingest_export
    from connector.readers import read_export

    conn = _open(_state_copy(work, rows, settled=settled))
    path, mapping = Path(_pair(work, rows).b), _mapping(work)
    clock.lap("setup")
    export = read_export(path, mapping)
    clock.lap("read_export")
    later = NOW + timedelta(hours=1)
    report = ingest_export(conn, export, as_of=later, now=later, schedule=ScheduleSettings())
    clock.lap("ingest")
    queued = conn.execute("SELECT COUNT(*) FROM queue").fetchone()[0]
    return {"queued": report.queued, "rows_in_queue": queued, "deferred": report.deferred}


def ingest(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    """B after A was read by the connector (``settle`` first): the everyday case."""
    return _ingest(work, rows, clock, settled=True)


def ingest_first(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    """B on A's accepted state with no columnar copy: the first file of a mapping."""
    return _ingest(work, rows, clock, settled=False)


def ingest_parts(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    """The steps of ``products.ingest.ingest`` one by one, to show where its time goes."""
    from connector import db
    from connector.config import ScheduleSettings
    from connector.products import ingest, layout, pending
    from connector.products.diff import GROUP_FIELDS, column
    from connector.readers import read_export
    from connector.slots import iso

    conn = _open(_state_copy(work, rows, settled=True))
    export = read_export(Path(_pair(work, rows).b), _mapping(work))
    now = NOW + timedelta(hours=1)
    report = ingest.IngestReport()
    clock.lap("imports + read_export (not ingest)")
    aligned = layout.align(conn, export.mapping.name, export.table)
    clock.lap(f"layout.align (reused: {aligned.reused})")
    table = ingest._only_catalog(export, aligned, report)
    clock.lap("only catalog rows")
    with db.atomic(conn):
        for group, fields in GROUP_FIELDS.items():
            carried = [column(f) for f in fields if f in export.fields]
            queued = pending.queued(conn, group, [column(f) for f in fields])
            compared = ingest._compared(export.fields, group, queued)
            changes, gone = ingest._intent(
                conn, table, aligned.accepted, queued, compared, carried, iso(now), report
            )
            clock.lap(f"intent (diff) {group}")
            due = ingest._due(changes.table, group, now, ScheduleSettings(), report)
            clock.lap(f"_due {group}")
            pending.drop(conn, gone, group)
            pending.enqueue(conn, due, group, source="b", as_of=iso(now), now=iso(now))
            clock.lap(f"enqueue {group}")
    clock.lap("commit")
    return {}


def _load_csv_diff(path: str) -> dict[str, dict[str, str]]:
    import csv_diff

    class Semicolon(csv.excel):
        delimiter = ";"

    with open(path, encoding="cp1252", newline="") as handle:
        handle.readline()  # the title row above the header
        loaded: dict[str, dict[str, str]] = csv_diff.load_csv(
            handle, key=sync_data.KEY, dialect=Semicolon
        )
        return loaded


def csv_diff_tool(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import csv_diff

    pair = _pair(work, rows)
    clock.lap("setup")
    previous = _load_csv_diff(pair.a)
    current = _load_csv_diff(pair.b)
    clock.lap("load_csv A+B")
    result = csv_diff.compare(previous, current)
    clock.lap("compare")
    return {"changed": len(result["changed"]), "added": len(result["added"])}


def pandas_merge(work: Path, rows: int, clock: Clock) -> dict[str, Any]:
    import pandas as pd

    pair = _pair(work, rows)
    clock.lap("setup")
    options: dict[str, Any] = {
        "engine": "pyarrow",
        "sep": ";",
        "dtype": str,
        "skiprows": 1,
        "encoding": "cp1252",
    }
    previous, current = pd.read_csv(pair.a, **options), pd.read_csv(pair.b, **options)
    clock.lap("read_csv A+B")
    values = ["Stock", "Precio c/IVA", "Costo"]
    merged = current[[sync_data.KEY, *values]].merge(
        previous[[sync_data.KEY, *values]], on=sync_data.KEY, how="left", suffixes=("", "_old")
    )
    changed = pd.Series(False, index=merged.index)
    for name in values:
        changed |= merged[name].ne(merged[f"{name}_old"])
    clock.lap("merge + compare")
    return {"changed": int(changed.sum())}


KINDS: dict[str, Callable[[Path, int, Clock], dict[str, Any]]] = {
    "baseline": baseline,
    "prepare": prepare,
    "read": read,
    "diff": diff,
    "settle": settle,
    "ingest": ingest,
    "ingest-first": ingest_first,
    "ingest-parts": ingest_parts,
    "csv-diff": csv_diff_tool,
    "pandas-merge": pandas_merge,
}


def measure(kinds: dict[str, Callable[[Path, int, Clock], dict[str, Any]]]) -> None:
    """``KIND WORK ROWS`` from the command line: run one measurement, print its JSON."""
    kind, work, rows = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    clock = Clock()
    facts = kinds[kind](work, rows, clock)
    print(json.dumps({"phases": clock.phases, "facts": facts}))


def main() -> None:
    measure(KINDS)


if __name__ == "__main__":
    main()
