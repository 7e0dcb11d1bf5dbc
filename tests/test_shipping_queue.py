"""The status queue's promises, as properties: only changes are sent, and a newer export
supersedes an older one whatever order the exports arrive in (issue 13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from connector import db
from connector.shipping import state
from connector.shipping.ingest import StatusReport, decide, queue_changes
from connector.slots import iso

ORDERS = (1, 2, 3)
T0 = datetime(2030, 1, 1, tzinfo=UTC)
value = st.tuples(st.sampled_from((10, 17, 20, 80)), st.sampled_from(("", "AR1", "AR2")))
export = st.dictionaries(st.sampled_from(ORDERS), value, min_size=1)


def _items(number: int, rows: dict[int, tuple[int, str]], as_of: str) -> list[state.QueuedStatus]:
    return [
        state.QueuedStatus(oid, f"ALE-{oid}", code, tracking, "", f"e{number}.csv", 2, as_of)
        for oid, (code, tracking) in sorted(rows.items())
    ]


@settings(max_examples=100, deadline=None)
@given(
    exports=st.lists(export, min_size=1, max_size=6),
    arrival=st.randoms(use_true_random=False),
    sends=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_only_changes_are_sent_and_newer_supersedes_older(
    exports: list[dict[int, tuple[int, str]]], arrival: object, sends: list[bool]
) -> None:
    conn = db.connect(":memory:")
    state.init(conn)
    dated = [(iso(T0 + timedelta(minutes=n)), n, rows) for n, rows in enumerate(exports)]
    order = list(dated)
    arrival.shuffle(order)  # type: ignore[attr-defined]
    acked: dict[int, tuple[int, str, str]] = {}
    sent: list[state.QueuedStatus] = []

    def send_all() -> None:  # Alephee accepts everything it gets
        with db.atomic(conn):
            for item in state.queued(conn):
                assert acked.get(item.order_id) != item.values, "an unchanged value was sent"
                sent.append(item)
                acked[item.order_id] = item.values
                state.acknowledge(conn, item, item.as_of)

    for step, (as_of, number, rows) in enumerate(order):
        queue_changes(conn, _items(number, rows, as_of), True, as_of, StatusReport())
        if sends[step]:
            send_all()
    send_all()
    newest = {}
    for _, _, rows in dated:  # in export order: the last one naming an order wins
        newest.update({oid: (code, tracking, "") for oid, (code, tracking) in rows.items()})
    assert acked == newest
    # Every export again, in any order: nothing new to send.
    report = StatusReport()
    for as_of, number, rows in order:
        queue_changes(conn, _items(number, rows, as_of), True, as_of, report)
    assert report.queued == 0 and state.queued(conn) == []


def test_backwards_and_refused_values_are_told_apart() -> None:
    item = state.QueuedStatus(1, "ALE-1", 20, "AR1", "", "e.csv", 2, "2030-01-02T00:00:00Z")
    delivered = state.Known(acked=(80, "AR1", ""), acked_as_of="2030-01-01T00:00:00Z")
    assert "goes backwards" in decide(delivered, item, allow_backwards=False)
    assert decide(delivered, item, allow_backwards=True) == "queue"
    refused = state.Known(refused=(20, "AR1", ""))
    assert decide(refused, item, allow_backwards=False) == "refused_again"
    older = state.Known(acked=(10, "", ""), acked_as_of="2030-01-03T00:00:00Z")
    assert decide(older, item, allow_backwards=False) == "stale"
