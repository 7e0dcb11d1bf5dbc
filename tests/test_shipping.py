"""Order status and tracking back to Alephee, over real sockets (issue 13)."""

from __future__ import annotations

import csv
from math import ceil
from pathlib import Path

import pytest

from connector.sandbox.fixtures import make_orders
from tests.shipping_support import (
    drop,
    marketplace_shipped,
    run_once,
    status_csv,
    status_puts,
    written_orders,
)
from tests.workspace_support import fast_sandbox

CAP = 30


def _rows(orders: list[dict[str, object]], word: str = "DESPACHADO") -> list[tuple[str, str, str]]:
    return [(f"ALE-{o['Id']}", word, f"AR{o['Id']}") for o in orders]


def _report(config_outbox: Path, prefix: str) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for path in sorted(config_outbox.glob(f"{prefix}*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            found.extend(csv.DictReader(handle, delimiter=";"))
    return found


def test_200_orders_by_own_id_send_only_changes_in_capped_calls(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 200, extra=f"[shipping]\nbatch_size = {CAP}")
        sb.reset_requests()
        drop(config.folders.inbox, "estado-1.csv", status_csv(_rows(orders)))
        code, summary = run_once(config)
        puts = status_puts(sb)
        assert len(puts) == ceil(200 / CAP)
        assert all(len(body) <= CAP for body in puts)
        sent = [item["OrderId"] for body in puts for item in body]
        assert sorted(sent) == sorted(int(str(o["Id"])) for o in orders)
        refused = [o for o in orders if marketplace_shipped(o)]
        assert refused and summary.status_refused == len(refused)
        assert code == 1  # refusals are reported: "done, but some were rejected"
        for order in orders:
            state = sb.order(int(str(order["Id"])))
            if marketplace_shipped(order):
                assert state["Status"]["Key"] != 20 or order["Status"]["Key"] == 20
            else:
                assert state["Status"]["Key"] == 20
                assert sb.tracking(int(str(order["Id"]))) == {"Number": f"AR{order['Id']}"}
        report = _report(config.folders.outbox, "rejects-alephee-orders")
        assert sorted(r["order"] for r in report) == sorted(f"ALE-{o['Id']}" for o in refused)
        assert all("marketplace" in r["Alephee says"] for r in report)

        # The same statuses again (another export, rows in another order): nothing is sent,
        # and the refusals are not reported a second time.
        sb.reset_requests()
        drop(config.folders.inbox, "estado-2.csv", status_csv(_rows(orders)[::-1]))
        code, summary = run_once(config)
        assert status_puts(sb) == [] and code == 0
        assert len(list(config.folders.outbox.glob("rejects-alephee-orders*.csv"))) == 1

        # Ten orders delivered: one call with exactly those ten.
        own = [o for o in orders if not marketplace_shipped(o)][:10]
        rows = _rows(orders)
        delivered = {f"ALE-{o['Id']}" for o in own}
        rows = [(ref, "ENTREGADO" if ref in delivered else word, t) for ref, word, t in rows]
        drop(config.folders.inbox, "estado-3.csv", status_csv(rows))
        run_once(config)
        puts = status_puts(sb)
        assert [sorted(item["OrderId"] for item in body) for body in puts] == [
            sorted(int(str(o["Id"])) for o in own)
        ]
        assert all(item["Status"] == 80 for item in puts[0])


def test_unknown_order_status_word_and_backwards_rejected_with_their_lines(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 4)
        own = [o for o in orders if not marketplace_shipped(o)]
        first, second = own[0]["Id"], own[1]["Id"]
        drop(
            config.folders.inbox, "estado-a.csv", status_csv([(f"ALE-{first}", "ENTREGADO", "X1")])
        )
        assert run_once(config)[0] == 0
        sb.reset_requests()
        rows = [
            (f"ALE-{second}", "DESPACHADO", "AR2"),  # line 2: good
            ("ALE-999999", "DESPACHADO", "AR3"),  # line 3: no such order
            (f"ALE-{second}x", "PERDIDO", "AR4"),  # line 4: unknown word (and order)
            (f"ALE-{first}", "DESPACHADO", "AR5"),  # line 5: 20 after 80
            (f"ALE-{own[2]['Id'] if len(own) > 2 else 999998}", "DESPACHADO", ""),  # 6: no tracking
        ]
        drop(config.folders.inbox, "estado-b.csv", status_csv(rows))
        code, _ = run_once(config)
        assert code == 1
        assert [item["OrderId"] for body in status_puts(sb) for item in body] == [second]
        [report] = config.folders.outbox.glob("rejects-estado-b-*.csv")
        header, *lines = read_csv_rows_cp1252(report)
        assert header[-2:] == ["line", "reason"]
        reasons = {line[-2]: line[-1] for line in lines}
        assert set(reasons) == {"3", "4", "5", "6"}
        assert "unknown order" in reasons["3"] and "ALE-999999" in reasons["3"]
        assert "unknown status 'PERDIDO'" in reasons["4"]
        assert "goes backwards" in reasons["5"]
        assert "tracking" in reasons["6"]
        assert lines[0][:3] == ["ALE-999999", "DESPACHADO", "AR3"]  # the row as the ERP wrote it


def read_csv_rows_cp1252(path: Path) -> list[list[str]]:
    with open(path, encoding="cp1252", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def test_external_order_id_resolved_through_alephee_for_orders_not_written(
    tmp_path: Path,
) -> None:
    with fast_sandbox() as sb:
        orders = make_orders(3, start_id=7001)
        sb.add_orders(orders)
        config, _ = written_orders(tmp_path, sb, 0, extra="[orders]\nenabled = false")
        mapping = config.folders.mappings / "order-status.toml"
        text = mapping.read_text(encoding="utf-8")
        mapping.write_text(
            text.replace('order_reference = "OwnOrderId"', 'order_reference = "ExternalOrderId"'),
            encoding="utf-8",
        )
        own = next(o for o in orders if not marketplace_shipped(o))
        external = str(own["ExternalOrderId"])
        drop(config.folders.inbox, "estado-x.csv", status_csv([(external, "EN PREPARACION", "")]))
        assert run_once(config)[0] == 0
        assert [b for b in status_puts(sb)] == [[{"OrderId": own["Id"], "Status": 10}]]


def test_check_shows_how_each_status_row_resolves(tmp_path: Path) -> None:
    from connector.operator.check import run_check

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 3)
        rows = [(f"ALE-{orders[0]['Id']}", "DESPACHADO", "AR9"), ("ALE-1", "DESPACHADO", "AR8")]
        path = tmp_path / "estado-check.csv"
        path.write_bytes(status_csv(rows))
        said: list[str] = []
        code = run_check(config.source, path, said.append)
        text = "\n".join(said)
        assert code == 0, text  # rejected rows are data, not set-up problems
        assert "OK       1 order-status mapping(s): order-status.toml" in text
        assert "estado-check.csv: read with order-status mapping order-status.toml: " in text
        expected = f"line 2: order ALE-{orders[0]['Id']} -> Alephee order {orders[0]['Id']}, "
        assert expected + "status DESPACHADO -> 20, tracking AR9: would send" in text
        assert "line 3: REJECTED: unknown order: no order with OwnOrderId ALE-1" in text
        assert status_puts(sb) == [] and path.exists()


def test_dry_run_says_what_would_be_sent_and_sends_nothing(tmp_path: Path) -> None:
    from connector.runner import Options, dry_run
    from tests.shipping_support import pdf

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 3, extra="[shipping]\nbatch_size = 2")
        sb.reset_requests()
        drop(config.folders.inbox, "estado-d.csv", status_csv(_rows(orders)))
        drop(config.folders.inbox, f"factura-ALE-{orders[0]['Id']}.pdf", pdf("D"))
        options = Options(progress=False)
        code, _ = dry_run(config, options)
        lines = list(options.plan)
        assert code == 0, lines
        assert "estado-d.csv: 3 rows: 3 status changes, 0 unchanged, 0 rejected rows" in lines
        assert (
            "Would send 3 order status updates in 2 call(s) to PUT /v2/orders"
            in lines
        )
        order_id = orders[0]["Id"]
        assert (
            f"factura-ALE-{order_id}.pdf: would attach to order {order_id} as invoice "
            f"(POST /v2/orders/{order_id}/documents)" in lines
        )
        writes = [r for r in sb.requests if r.method in ("PUT", "POST")]
        assert writes == [] and len(list(config.folders.inbox.iterdir())) == 2
        # a real run right after sends exactly that
        run_once(config)
        assert sum(len(body) for body in status_puts(sb)) == 3 and len(sb.documents(order_id)) == 1


@pytest.mark.slow
def test_sigkill_between_put_and_record_loses_nothing(tmp_path: Path) -> None:
    from tests.workspace_support import run_cli

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 6, extra="[shipping]\nbatch_size = 2")
        own = [o for o in orders if not marketplace_shipped(o)]
        sb.reset_requests()
        drop(config.folders.inbox, "estado-k.csv", status_csv(_rows(own)))
        crashed = run_cli(config, "once", crash_at="shipping.after_put@2")
        assert crashed.returncode in (-9, 137), crashed.stderr
        first = [item["OrderId"] for body in status_puts(sb) for item in body]
        assert len(first) == 4  # two calls went out; the second one's results were not recorded
        again = run_cli(config, "once")
        assert again.returncode == 0, again.stderr
        resent = [item["OrderId"] for body in status_puts(sb) for item in body][len(first) :]
        assert sorted(resent) == sorted(first[2:] + [o["Id"] for o in own][4:])
        for order in own:
            assert sb.order(order["Id"])["Status"]["Key"] == 20
        sb.reset_requests()
        drop(config.folders.inbox, "estado-k2.csv", status_csv(_rows(own)[::-1]))
        assert run_cli(config, "once").returncode == 0
        assert status_puts(sb) == []


def test_alephee_down_keeps_the_status_queue_for_the_next_run(tmp_path: Path) -> None:
    from connector.sandbox import Fault

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 3)
        own = [o for o in orders if not marketplace_shipped(o)]
        sb.inject(Fault(kind="503", endpoint="PUT /v2/orders", count=50))
        drop(config.folders.inbox, "estado-o.csv", status_csv(_rows(own)))
        code, summary = run_once(config)
        assert code == 3 and status_puts(sb) == []
        sb.clear_faults()
        code, summary = run_once(config)
        assert code == 0 and summary.status_sent == len(own)
        assert sorted(i["OrderId"] for b in status_puts(sb) for i in b) == [o["Id"] for o in own]
