"""Recording a batch's answers set-wise (``products.recording``) leaves exactly the state the
per-item rules left: the accepted state, the queue, the refusals and the report lines.

The reference below is the per-item recording as it was (one statement per item, written out
here in plain SQL so it cannot share a bug with the bulk code): an explicit Ok advances the
accepted state and removes the queued change only if the queue still holds that value; a
refusal is remembered, reported once per value and reason, and postponed if still queued; an
unclear answer counts an attempt and is reported.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connector import db
from connector.alephee.models import ProductPrice, ProductStock, ProductUpdate
from connector.alephee.results import ItemResult
from connector.products import refusals, state
from connector.products.diff import GROUP_FIELDS, PRICE, STOCK, column
from connector.products.pending import VALUE_COLUMNS, Queued
from connector.products.recording import Stamps, record
from connector.products.sync import product_update

STAMPS = Stamps(now="2026-12-02T10:00:00Z", retry_at="2026-12-03T10:00:00Z")
MESSAGES = ["SKU inexistente", "Precio inválido"]
KEYS = [(sku, brand) for sku in ("0000001", "0000002", "0000003") for brand in ("ACME", "")]


@st.composite
def values(draw: st.DrawFn, group: str) -> dict[str, int]:
    fields = GROUP_FIELDS[group]
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields), unique=True))
    return {column(f): draw(st.sampled_from([0, 7, 125_000])) for f in chosen}


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    """Distinct queue rows sent in one batch, each with an answer, and what the state held."""
    rows = draw(
        st.lists(
            st.tuples(st.sampled_from(KEYS), st.sampled_from([STOCK, PRICE])),
            min_size=1,
            max_size=8,
            unique=True,
        )
    )
    items = []
    for key, group in rows:
        sent = draw(values(group))
        items.append(
            {
                "item": Queued(
                    key[0],
                    group,
                    key[1],
                    sent,
                    "2026-12-01T00:00:00Z",
                    "f.csv",
                    3,
                    "2026-12-01T00:00:00Z",
                ),
                "answer": draw(st.sampled_from(["ok", "transient", *MESSAGES])),
                # the queue now: the value sent, a newer value, or nothing (dropped meanwhile)
                "queued": draw(st.sampled_from(["same", "replaced", "gone"])),
                "replacement": draw(values(group)),
                "accepted": draw(st.none() | values(group)),
                # a refusal already on record: this value and reason, another reason, none
                "refused": draw(st.sampled_from(["none", "same", "other"])),
            }
        )
    return {"items": items}


def seeded(case: dict[str, Any]) -> sqlite3.Connection:
    conn = db.connect(":memory:")
    state.init(conn)
    refusals.init(conn)
    for entry in case["items"]:
        item: Queued = entry["item"]
        if entry["queued"] != "gone":
            held = item.values if entry["queued"] == "same" else entry["replacement"]
            cols = list(held)
            conn.execute(
                f"INSERT INTO queue (sku, brand, grp, {', '.join(cols)}, due_at, reason, "
                "as_of, enqueued_at) VALUES (?, ?, ?, "
                f"{', '.join('?' * len(cols))}, 'd', 'changed', 'a', 'e')",
                (item.sku, item.brand, item.group, *held.values()),
            )
        if entry["accepted"] is not None:
            cols = list(entry["accepted"])
            conn.execute(
                f"INSERT INTO accepted (sku, brand, {', '.join(cols)}) VALUES (?, ?, "
                f"{', '.join('?' * len(cols))}) ON CONFLICT(sku, brand) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in cols),
                (item.sku, item.brand, *entry["accepted"].values()),
            )
        if entry["refused"] != "none":
            message = entry["answer"] if entry["refused"] == "same" else "otra cosa"
            conn.execute(
                "INSERT INTO refused VALUES (?, ?, ?, ?, ?, 'earlier')",
                (item.sku, item.brand, item.group, signature(item), message),
            )
    return conn


def signature(item: Queued) -> str:
    fields = GROUP_FIELDS[item.group]
    return "|".join(str(item.values.get(column(f), "")) for f in fields)


def result(answer: str) -> ItemResult:
    if answer == "ok":
        return ItemResult(True)
    if answer == "transient":
        return ItemResult(False, "unclear", transient=True)
    return ItemResult(False, answer)


def per_item(conn: sqlite3.Connection, item: Queued, answer: ItemResult) -> None:
    """The per-item rules, one statement at a time (the reference)."""
    where, key = "sku = ? AND brand = ? AND grp = ?", (item.sku, item.brand, item.group)
    line = "INSERT INTO refusal_lines (sku, brand, what, vals, source, line, message, at) "
    line += "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    line_args = (
        item.sku,
        item.brand,
        item.group,
        json.dumps(item.values),
        item.source,
        item.line,
        answer.message,
        STAMPS.now,
    )
    row = conn.execute(f"SELECT * FROM queue WHERE {where}", key).fetchone()
    still = (
        row is not None and {c: row[c] for c in VALUE_COLUMNS if row[c] is not None} == item.values
    )
    if answer.transient:
        conn.execute(
            f"UPDATE queue SET attempts = attempts + 1, last_error = ? WHERE {where}",
            (answer.message, *key),
        )
        conn.execute(line, line_args)
    elif answer.ok:
        cols = list(item.values)
        names = ["sku", "brand", *cols, f"{item.group}_as_of", "updated_at"]
        conn.execute(
            f"INSERT INTO accepted ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
            "ON CONFLICT(sku, brand) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in names[2:]),
            (item.sku, item.brand, *item.values.values(), item.as_of, STAMPS.now),
        )
        conn.execute(f"DELETE FROM refused WHERE {where}", key)
        if still:
            conn.execute(f"DELETE FROM queue WHERE {where}", key)
    else:
        old = conn.execute(f"SELECT * FROM refused WHERE {where}", key).fetchone()
        if not (old and old["signature"] == signature(item) and old["message"] == answer.message):
            conn.execute(line, line_args)
        conn.execute(
            "INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?, ?, ?)",
            (*key, signature(item), answer.message, STAMPS.now),
        )
        if still:
            conn.execute(
                "UPDATE queue SET due_at = ?, reason = 'refused', last_error = ?, "
                f"attempts = attempts + 1 WHERE {where}",
                (STAMPS.retry_at, answer.message, *key),
            )


def dump(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, but for ``accepted.seq``: the change clock's numbers follow the order
    of the writes, which bulk recording is free to change (products.layout reads only whether a
    row changed since a number)."""
    tables = ["accepted", "queue", "refused", "refusal_lines"]
    found = {}
    for table in tables:
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [d[0] for d in cursor.description]
        found[table] = sorted(
            tuple(v for n, v in zip(names, row, strict=True) if n != "seq") for row in cursor
        )
    return found


@settings(max_examples=120, deadline=None)
@given(cases())
def test_bulk_recording_leaves_the_state_the_per_item_rules_leave(case: dict[str, Any]) -> None:
    answered = [(e["item"], result(e["answer"])) for e in case["items"]]
    bulk, reference = seeded(case), seeded(case)
    with db.atomic(bulk):
        record(bulk, answered, STAMPS)
    with db.atomic(reference):
        for item, answer in answered:
            per_item(reference, item, answer)
    assert dump(bulk) == dump(reference)
    lines = [r["sku"] for r in bulk.execute("SELECT sku FROM refusal_lines ORDER BY id")]
    assert lines == [
        r["sku"] for r in reference.execute("SELECT sku FROM refusal_lines ORDER BY id")
    ]


def test_an_ok_for_a_value_replaced_meanwhile_keeps_the_newer_value_queued() -> None:
    sent = Queued("0000001", STOCK, "ACME", {"quantity": 5}, "d", "f.csv", 2, "a")
    case = {
        "items": [
            {
                "item": sent,
                "answer": "ok",
                "queued": "replaced",
                "replacement": {"quantity": 9},
                "accepted": None,
                "refused": "none",
            }
        ]
    }
    conn = seeded(case)
    with db.atomic(conn):
        record(conn, [(sent, ItemResult(True))], STAMPS)
    assert [r["quantity"] for r in conn.execute("SELECT quantity FROM queue")] == [9]
    assert [r["quantity"] for r in conn.execute("SELECT quantity FROM accepted")] == [5]


@settings(max_examples=100, deadline=None)
@given(
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), values(PRICE)),
    st.sampled_from(["ACME", ""]),
)
def test_the_plain_post_item_is_the_validated_model_body(
    quantity: int | None, prices: dict[str, int] | None, brand: str
) -> None:
    """``sync.product_update`` skips pydantic (cost): its body is the model's, field for field."""
    group = []
    if quantity is not None:
        group.append(Queued("0000001", STOCK, brand, {"quantity": quantity}, "d", "f", 1, "a"))
    if prices is not None or not group:
        group.append(Queued("0000001", PRICE, brand, prices or {}, "d", "f", 1, "a"))
    model = ProductUpdate(
        sku="0000001",
        brand=brand or None,
        stock=ProductStock(quantity=quantity) if quantity is not None else None,
        price=ProductPrice(**{k.removesuffix("_e4"): v / 10_000 for k, v in (prices or {}).items()})
        if prices is not None or quantity is None
        else None,
    )
    assert product_update(group).body() == model.body()
