"""The columnar copy of a file's match and accepted state (``products.layout``) never changes
an answer: whatever happens between two files (values accepted, rows removed, the catalog
changed, the file reordered, the copy torn or deleted), ``align`` with the copy gives exactly
what a full match and a full read of the accepted state give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from connector import db, fsutil
from connector.products import layout, snapshot, state
from connector.readers import give_back

CODES = ["A1", "A2", "B7", "OC-1", "C9"]
BRANDS = [(1, "ACME"), (2, "BOSCH")]
WRITTEN = ["", "ACME", "acme", "Bosch", "2"]
MAPPING = "stock"


def _open(folder: Path) -> db.sqlite3.Connection:
    conn = db.connect(folder / "state.db")
    state.init(conn)
    return conn


def _table(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": pd.Series([c for c, _ in rows], dtype="str"),
            "brand": pd.Series([b for _, b in rows], dtype="str"),
        }
    )


def _cold(conn: db.sqlite3.Connection, table: pd.DataFrame, name: str) -> layout.Aligned:
    """The full match and read: a mapping that never had a copy, and keeps none."""
    return layout.align(conn, name, table, keep=False)


def assert_same(got: layout.Aligned, want: layout.Aligned) -> None:
    assert np.array_equal(got.match.unknown, want.match.unknown)
    assert np.array_equal(got.match.ambiguous, want.match.ambiguous)
    assert np.array_equal(got.twice, want.twice)
    named = ~(want.match.unknown | want.match.ambiguous)
    assert got.match.brand[named].tolist() == want.match.brand[named].tolist()
    for col in layout.STATE:
        mine = got.accepted[col].astype(object).where(got.accepted[col].notna(), None)
        full = want.accepted[col].astype(object).where(want.accepted[col].notna(), None)
        assert mine.tolist() == full.tolist(), col


class LayoutModel(RuleBasedStateMachine):
    """Files, acknowledgements, removals and catalog changes in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.folder: Path | None = None
        self.rows: list[tuple[str, str]] = []
        self.checks = 0

    @initialize(
        catalog=st.lists(
            st.tuples(
                st.sampled_from(CODES), st.sampled_from(BRANDS), st.sampled_from(["", "OC-1"])
            ),
            min_size=1,
            max_size=6,
        ),
        rows=st.lists(st.tuples(st.sampled_from(CODES), st.sampled_from(WRITTEN)), max_size=8),
    )
    def start(
        self, catalog: list[tuple[str, tuple[int, str], str]], rows: list[tuple[str, str]]
    ) -> None:
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="layout-"))
        self.conn = _open(self.folder)
        with db.atomic(self.conn):
            for number, (code, (brand_id, brand), own) in enumerate(catalog, start=1):
                self.conn.execute(
                    "INSERT INTO catalog (product_id, sku, own_code, brand, brand_id) "
                    "VALUES (?,?,?,?,?)",
                    (number, code, own, brand, brand_id),
                )
        self.rows = rows
        self.next_id = len(catalog) + 1
        # A low threshold, so that both ways of bringing the copy up to date are exercised:
        # laying the few changed rows over it, and reading the accepted state whole.
        self.refold, layout.REFOLD = layout.REFOLD, 2

    @rule()
    def read_the_file(self) -> None:
        table = _table(self.rows)
        got = layout.align(self.conn, MAPPING, table)
        self.checks += 1
        assert_same(got, _cold(self.conn, table, f"cold-{self.checks}"))

    @rule(data=st.data())
    def change_the_file(self, data: st.DataObject) -> None:
        kind = data.draw(st.sampled_from(["swap", "add", "drop", "brand"]))
        rows = list(self.rows)
        if kind == "swap" and len(rows) > 1:
            i, j = (
                data.draw(st.integers(0, len(rows) - 1)),
                data.draw(st.integers(0, len(rows) - 1)),
            )
            rows[i], rows[j] = rows[j], rows[i]
        elif kind == "add":
            rows.append((data.draw(st.sampled_from(CODES)), data.draw(st.sampled_from(WRITTEN))))
        elif kind == "drop" and rows:
            rows.pop(data.draw(st.integers(0, len(rows) - 1)))
        elif kind == "brand" and rows:
            i = data.draw(st.integers(0, len(rows) - 1))
            rows[i] = (rows[i][0], data.draw(st.sampled_from(WRITTEN)))
        self.rows = rows

    @rule(
        code=st.sampled_from(CODES),
        brand=st.sampled_from(["ACME", "BOSCH", ""]),
        group=st.sampled_from(["stock", "price"]),
        value=st.integers(0, 3),
        as_of=st.sampled_from(["2026-11-01T10:00:00+00:00", "2026-11-02T10:00:00+00:00", ""]),
    )
    def alephee_acknowledges(
        self, code: str, brand: str, group: str, value: int, as_of: str
    ) -> None:
        values = {"quantity": value} if group == "stock" else {"price_e4": value * 10_000}
        with db.atomic(self.conn):
            snapshot.accept(self.conn, (code, brand), group, values, as_of, "2026-11-02T11:00:00")

    @rule(code=st.sampled_from(CODES))
    def an_accepted_row_is_removed(self, code: str) -> None:
        with db.atomic(self.conn):
            self.conn.execute("DELETE FROM accepted WHERE sku = ?", (code,))

    @rule(
        code=st.sampled_from(CODES),
        brand=st.sampled_from(BRANDS),
        kind=st.sampled_from(["add", "remove", "rename"]),
    )
    def the_catalog_changes(self, code: str, brand: tuple[int, str], kind: str) -> None:
        with db.atomic(self.conn):
            if kind == "add":
                self.conn.execute(
                    "INSERT INTO catalog (product_id, sku, own_code, brand, brand_id) "
                    "VALUES (?,?,'',?,?)",
                    (self.next_id, code, brand[1], brand[0]),
                )
                self.next_id += 1
            elif kind == "remove":
                self.conn.execute("DELETE FROM catalog WHERE sku = ?", (code,))
            else:
                self.conn.execute("UPDATE catalog SET brand = ? WHERE sku = ?", (brand[1], code))

    @rule(cut=st.integers(0, 2_000))
    def the_copy_is_torn(self, cut: int) -> None:
        assert self.folder is not None
        for path in (self.folder / "cache").glob("layout-*.arrow"):
            data = path.read_bytes()
            path.write_bytes(data[: min(cut, len(data) - 1)])

    @invariant()
    def state_is_consistent(self) -> None:
        clocks = layout.read_clocks(self.conn)
        assert clocks.accepted_reset <= clocks.accepted

    def teardown(self) -> None:
        if self.folder is not None:
            layout.REFOLD = self.refold
            self.conn.close()
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)


LayoutModel.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_layout_model = LayoutModel.TestCase


def _accepted_file(tmp_path: Path, rows: int) -> tuple[db.sqlite3.Connection, pd.DataFrame]:
    conn = _open(tmp_path)
    with db.atomic(conn):
        conn.executemany(
            "INSERT INTO catalog (product_id, sku, own_code, brand, brand_id) VALUES (?,?,'',?,1)",
            [(i, f"S{i:05d}", "ACME") for i in range(rows)],
        )
        for i in range(0, rows, 2):
            snapshot.accept(
                conn, (f"S{i:05d}", "ACME"), "stock", {"quantity": i}, "2026-11-01", "x"
            )
    table = _table([(f"S{i:05d}", "") for i in range(rows)])
    return conn, table


def test_the_second_file_reuses_the_copy_and_sees_later_acknowledgements(tmp_path: Path) -> None:
    conn, table = _accepted_file(tmp_path, 200)
    first = layout.align(conn, MAPPING, table)
    assert not first.reused
    assert (tmp_path / "cache" / f"layout-{MAPPING}.arrow").exists()
    with db.atomic(conn):
        snapshot.accept(conn, ("S00001", "ACME"), "stock", {"quantity": 77}, "2026-11-02", "y")
    second = layout.align(conn, MAPPING, table)
    assert second.reused
    assert second.accepted["quantity"].iloc[1] == 77
    assert pd.isna(first.accepted["quantity"].iloc[1])
    assert_same(second, _cold(conn, table, "cold"))


def test_a_reordered_file_or_a_changed_catalog_is_matched_in_full(tmp_path: Path) -> None:
    conn, table = _accepted_file(tmp_path, 50)
    layout.align(conn, MAPPING, table)
    reordered = table.iloc[::-1].reset_index(drop=True)
    assert not layout.align(conn, MAPPING, reordered).reused
    assert layout.align(conn, MAPPING, reordered).reused
    with db.atomic(conn):
        conn.execute("UPDATE catalog SET brand = 'BOSCH' WHERE sku = 'S00003'")
    again = layout.align(conn, MAPPING, reordered)
    assert not again.reused
    assert_same(again, _cold(conn, reordered, "cold"))


def test_a_dry_run_keeps_no_copy(tmp_path: Path) -> None:
    conn, table = _accepted_file(tmp_path, 20)
    with fsutil.rehearsal(tmp_path / "scratch"):
        layout.align(conn, MAPPING, table)
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("content", [b"", b"not arrow at all", b"ARROW1\x00\x00garbage"])
def test_a_damaged_copy_means_a_full_match(tmp_path: Path, content: bytes) -> None:
    conn, table = _accepted_file(tmp_path, 30)
    layout.align(conn, MAPPING, table)
    (tmp_path / "cache" / f"layout-{MAPPING}.arrow").write_bytes(content)
    got = layout.align(conn, MAPPING, table)
    assert not got.reused
    assert_same(got, _cold(conn, table, "cold"))


def test_a_removed_accepted_row_is_never_read_from_the_copy(tmp_path: Path) -> None:
    conn, table = _accepted_file(tmp_path, 10)
    assert layout.align(conn, MAPPING, table).accepted["quantity"].iloc[2] == 2
    with db.atomic(conn):
        conn.execute("DELETE FROM accepted WHERE sku = 'S00002'")
    got = layout.align(conn, MAPPING, table)
    assert not got.reused
    assert pd.isna(got.accepted["quantity"].iloc[2])


def test_a_kill_while_the_copy_is_replaced_changes_no_answer(tmp_path: Path) -> None:
    """Killed with the new copy written under its temp name, before it replaces the last one:
    the next run sends exactly the changed products, Alephee ends with the file's values, and
    the file after that reuses a copy that is up to date."""
    from connector.sandbox.fixtures import make_catalog
    from tests.test_sync import catalog_rows, drop, export, posts, setup
    from tests.workspace_support import fast_sandbox, run_cli

    with fast_sandbox(products_max_items=1_000) as sb:
        sb.load_catalog(make_catalog(300))
        config = setup(tmp_path, sb)
        rows = catalog_rows(300)
        drop(config, "stock-1.csv", export(rows))
        assert run_cli(config, "once", "--no-orders").returncode == 0
        changed = {rows[i][0] for i in range(0, 300, 30)}
        rows2 = [(s, q + 1 if s in changed else q, p) for s, q, p in reversed(rows)]
        drop(config, "stock-2.csv", export(rows2))  # another order: a full match, a new copy
        sb.reset_requests()
        killed = run_cli(config, "once", "--no-orders", crash_at="layout.before_rename")
        assert killed.returncode in (-9, 137), killed.stderr[-2000:]
        assert run_cli(config, "once", "--no-orders").returncode == 0
        assert {item["SKU"] for batch in posts(sb) for item in batch} == changed
        for sku, qty, _ in rows2:
            assert sb.product(sku)["Stock"]["Quantity"] == qty
        sb.reset_requests()
        rows3 = [(s, q + 2 if s == rows2[5][0] else q, p) for s, q, p in rows2]
        drop(config, "stock-3.csv", export(rows3))
        done = run_cli(config, "once", "--no-orders")
        assert done.returncode == 0, done.stderr[-2000:]
        assert [item["SKU"] for batch in posts(sb) for item in batch] == [rows2[5][0]]


def test_value_columns_come_out_of_the_copy_with_their_gaps() -> None:
    column = pa.chunked_array([pa.array([5, None, 7, None, 9], pa.int64()).slice(1)])
    values = layout._integers(column)
    assert [None if pd.isna(v) else v for v in values] == [None, 7, None, 9]
    values.iloc[0] = 3  # the overlay writes into it
    assert values.iloc[0] == 3
    give_back()  # nothing to check but that it runs here
