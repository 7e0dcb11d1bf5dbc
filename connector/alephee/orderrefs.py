"""Order references the ERP writes back, resolved to the Alephee order ``Id``.

The ERP names an order by the Alephee ``Id``, by the ``OwnOrderId`` the connector sent when it
marked the order, or by the marketplace's ``ExternalOrderId``. Both stages that write to orders
(``shipping`` and ``documents``) need this, and they are siblings that may not import each other
or ``orders``; so the lookup lives here, one rank down, and reads what the orders ledger keeps in
the shared database (its ``orders`` table: ``order_id``, ``own_order_id``) plus GET /v2/orders
for orders the connector did not write. Answers from Alephee are kept in ``order_refs`` so a
reference is looked up once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, Literal

from connector.alephee.client import AlephClient
from connector.db import atomic, migrate

RefKind = Literal["Id", "OwnOrderId", "ExternalOrderId"]
REF_KINDS: tuple[RefKind, ...] = ("OwnOrderId", "Id", "ExternalOrderId")
_CHUNK = 500


def init(conn: sqlite3.Connection) -> None:
    migrate(
        conn,
        "order_refs_v1",
        [
            "CREATE TABLE order_refs (kind TEXT NOT NULL, ref TEXT NOT NULL, "
            "order_id INTEGER NOT NULL, PRIMARY KEY (kind, ref))"
        ],
    )


def resolve(
    conn: sqlite3.Connection, client: AlephClient | None, kind: RefKind, refs: Iterable[str]
) -> dict[str, int]:
    """ref -> Alephee Id for the references found; the others are unknown. ``client`` None:
    only what the connector already knows (no call to Alephee)."""
    wanted = sorted({ref.strip() for ref in refs if ref.strip()})
    found = _known(conn, kind, wanted)
    if client is not None:
        for ref in (r for r in wanted if r not in found):
            order_id = _ask_alephee(client, kind, ref)
            if order_id is not None:
                found[ref] = order_id
                with atomic(conn):
                    conn.execute(
                        "INSERT OR REPLACE INTO order_refs (kind, ref, order_id) VALUES (?, ?, ?)",
                        (kind, ref, order_id),
                    )
    return found


def _known(conn: sqlite3.Connection, kind: RefKind, refs: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    column = {"Id": "CAST(order_id AS TEXT)", "OwnOrderId": "own_order_id"}.get(kind)
    for start in range(0, len(refs), _CHUNK):
        chunk = refs[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        queries = [f"SELECT ref, order_id FROM order_refs WHERE kind = ? AND ref IN ({marks})"]
        params: list[list[object]] = [[kind, *chunk]]
        if column is not None:  # the orders ledger's table (connector.orders.ledger)
            queries.append(f"SELECT {column}, order_id FROM orders WHERE {column} IN ({marks})")
            params.append(list(chunk))
        for sql, args in zip(queries, params, strict=True):
            try:
                rows = conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError:  # no orders ledger yet: nothing written so far
                continue
            found.update({str(row[0]): int(row[1]) for row in rows})
    return found


def fetch_order(client: AlephClient, order_id: int) -> dict[str, Any] | None:
    """One order as GET /v2/orders shows it (None: Alephee does not know it)."""
    return _find(client, "Id", str(order_id), {"idFrom": str(order_id), "idTo": str(order_id)})


def _ask_alephee(client: AlephClient, kind: RefKind, ref: str) -> int | None:
    """Alephee has no filter on ``OwnOrderId``: an own id the ledger does not know stays
    unknown."""
    if kind == "Id":
        order = fetch_order(client, int(ref)) if ref.isdigit() else None
    elif kind == "ExternalOrderId":
        narrow = {"externalOrderIdFrom": ref, "externalOrderIdTo": ref}
        order = _find(client, kind, ref, narrow)
    else:
        return None
    if order is None:
        return None
    return int(_folded(order).get("id") or 0) or None


def _find(
    client: AlephClient, kind: RefKind, ref: str, narrow: dict[str, str]
) -> dict[str, Any] | None:
    """GET /v2/orders narrowed to the one order, integrated or not."""
    for integrated in ("true", "false"):  # the filter defaults to false: ask both ways
        page = client.orders_page({**narrow, "Integrated": integrated})
        for order in page.results:
            if str(_folded(order).get(kind.lower(), "")).strip() == ref:
                return order
    return None


def _folded(order: dict[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in order.items()}
