"""Invoices attached to their Alephee orders, exactly once, over real sockets (issue 13)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connector.config import load_config
from tests.shipping_support import drop, pdf, run_once, written_orders
from tests.workspace_support import fast_sandbox, run_cli


def _error_text(config_failed: Path, name: str) -> str:
    return (config_failed / f"{name}.error.txt").read_text(encoding="utf-8")


def test_invoice_attached_once_and_archived(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 3)
        order_id = int(str(orders[0]["Id"]))
        content = pdf("Factura A 0001-00001234")
        drop(config.folders.inbox, f"factura-ALE-{order_id}.pdf", content)
        code, summary = run_once(config)
        assert code == 0 and summary.documents_attached == 1
        [document] = sb.documents(order_id)
        assert base64.b64decode(document["Content"]) == content
        assert (
            document["Type"]["Key"] == 0
            and document["Fullfilename"] == f"factura-ALE-{order_id}.pdf"
        )
        assert list(config.folders.inbox.iterdir()) == []
        assert list(config.folders.archive.rglob(f"factura-ALE-{order_id}.pdf"))
        # the same content dropped again is a duplicate: not sent again
        drop(config.folders.inbox, f"factura-ALE-{order_id}.pdf", content)
        run_once(config)
        assert len(sb.documents(order_id)) == 1


@pytest.mark.slow
def test_sigkill_between_upload_and_record_never_attaches_twice(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 2)
        order_id = int(str(orders[1]["Id"]))
        content = pdf("Factura B")
        name = f"factura-ALE-{order_id}.pdf"
        drop(config.folders.inbox, name, content)
        crashed = run_cli(config, "once", crash_at="documents.after_upload")
        assert crashed.returncode in (-9, 137), crashed.stderr
        assert len(sb.documents(order_id)) == 1  # it did reach Alephee before the kill
        assert (config.folders.inbox / name).exists()  # not recorded, not moved
        again = run_cli(config, "once")
        assert again.returncode == 0, again.stderr
        [document] = sb.documents(order_id)
        assert document["Sha256"] == hashlib.sha256(content).hexdigest()
        assert not (config.folders.inbox / name).exists()
        posts = [r for r in sb.requests if r.endpoint == "POST /v2/orders/{id}/documents"]
        assert len(posts) == 1


def test_unknown_order_and_not_a_pdf_go_to_failed_with_a_reason(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 2)
        drop(config.folders.inbox, "factura-ALE-424242.pdf", pdf("nobody's"))
        fake = f"factura-ALE-{orders[0]['Id']}.pdf"
        drop(config.folders.inbox, fake, b"PK\x03\x04 this is a zip, not a pdf")
        code, summary = run_once(config)
        assert code == 1 and summary.documents_failed == 2
        assert "unknown order" in _error_text(config.folders.failed, "factura-ALE-424242.pdf")
        assert "OwnOrderId ALE-424242" in _error_text(
            config.folders.failed, "factura-ALE-424242.pdf"
        )
        assert "is not a PDF" in _error_text(config.folders.failed, fake)
        assert not [r for r in sb.requests if r.endpoint == "POST /v2/orders/{id}/documents"]


def test_status_shows_updates_and_documents_waiting_sent_refused(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from rich.console import Console

    from connector.operator.status import collect, render
    from tests.operator_support import schema_errors
    from tests.shipping_support import marketplace_shipped, status_csv
    from tests.test_operator_status import documented_schema

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 4)
        shipped_by_market = next(o for o in orders if marketplace_shipped(o))
        rows = [(f"ALE-{o['Id']}", "DESPACHADO", f"AR{o['Id']}") for o in orders]
        drop(config.folders.inbox, "estado-1.csv", status_csv(rows))
        drop(config.folders.inbox, f"factura-ALE-{orders[0]['Id']}.pdf", pdf("A"))
        drop(config.folders.inbox, "factura-ALE-1.pdf", pdf("B"))
        run_once(config)
        drop(config.folders.inbox, f"factura-ALE-{orders[1]['Id']}.pdf", pdf("C"))  # waiting
        report = collect(config, now=datetime(2030, 1, 1, tzinfo=UTC))
        assert schema_errors(report, documented_schema(), documented_schema()) == []
        updates, documents = report["status_updates"], report["documents"]
        assert (updates["waiting"], updates["sent"], updates["refused"]) == (0, 3, 1)
        assert updates["refusals"][0]["order_id"] == shipped_by_market["Id"]
        assert (documents["attached"], documents["failed"]) == (1, 1)
        assert documents["waiting"] == [f"factura-ALE-{orders[1]['Id']}.pdf"]
        console = Console(record=True, width=200)
        render(report, config, console)
        text = console.export_text()
        assert "Order status updates: 0 waiting, 3 orders up to date" in text
        assert "1 refused" in text and "Documents: 1 attached, 1 failed" in text


def test_demo_ends_with_status_tracking_and_invoice_in_the_sandbox(tmp_path: Path) -> None:
    from connector.operator.demo import run_demo

    said: list[str] = []
    code = run_demo(tmp_path / "demo", said.append)
    text = "\n".join(said)
    assert code == 0, text
    assert "Alephee order 5001: status 20 (Enviada), tracking AR000111222" in text
    assert "Alephee order 5006: status 10" in text
    assert "Alephee order 5001 has document factura-ALE-5001.pdf (Factura, " in text
    assert "status updates 3 (refused 0), documents 1 (failed 0)" in text


def test_xlsx_status_file_and_external_id_invoice_pattern(tmp_path: Path) -> None:
    from openpyxl import Workbook

    from tests.shipping_support import marketplace_shipped, status_puts

    extra = (
        '[[documents.files]]\npattern = "{ExternalOrderId}_FC*.PDF"\ntype = "receipt"\n'
        "[documents]\nmax_mb = 1"
    )
    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 3, extra="")
        config_path = config.source
        config_path.write_text(
            config_path.read_text(encoding="utf-8").replace("[intake]", extra + "\n[intake]", 1),
            encoding="utf-8",
        )
        config = load_config(config_path)
        own = [o for o in orders if not marketplace_shipped(o)]
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Listado de despachos"])
        sheet.append(["Pedido", "Estado", "Guía"])
        for order in own:
            sheet.append([f"ALE-{order['Id']}", "Entregado", f"AR{order['Id']}"])
        book.save(config.folders.inbox / "estado-semana.xlsx")
        mapping = config.folders.mappings / "order-status.toml"
        mapping.write_text(
            mapping.read_text(encoding="utf-8").replace("header_row = 1", "header_row = 2"),
            encoding="utf-8",
        )
        external = str(own[0]["ExternalOrderId"])
        drop(config.folders.inbox, f"{external}_FC-0001.pdf", pdf("receipt"))
        code, summary = run_once(config)
        assert code == 0, summary.line()
        sent = [item for body in status_puts(sb) for item in body]
        assert sorted(item["OrderId"] for item in sent) == sorted(o["Id"] for o in own)
        assert {item["Status"] for item in sent} == {80}
        [document] = sb.documents(int(str(own[0]["Id"])))
        assert document["Type"]["Key"] == 1


def test_watcher_passes_add_up_readiness_checks_for_documents(tmp_path: Path) -> None:
    """``connector run`` looks once per pass (wait=False): the documents intake must remember
    what it saw, or a file would never be seen stable twice."""
    from connector.alephee.client import AlephClient
    from connector.documents.stage import attach_due
    from connector.runlog import RunSummary
    from connector.runner import open_state

    with fast_sandbox() as sb:
        config, orders = written_orders(
            tmp_path, sb, 1, extra="stable_checks = 2\ncheck_interval_seconds = 1"
        )
        drop(config.folders.inbox, f"factura-ALE-{orders[0]['Id']}.pdf", pdf("W"))
        moment = [1_000_000.0]
        summary = RunSummary()
        conn = open_state(config)
        with AlephClient(config.alephee, config.retry) as client:
            for _ in range(3):
                attach_due(
                    config, conn, client, summary, now=lambda: datetime.now(UTC),
                    clock=lambda: moment[0], wait=False,
                )  # fmt: skip
                moment[0] += 1.0
        conn.close()
        assert summary.documents_attached == 1
        assert len(sb.documents(int(str(orders[0]["Id"])))) == 1


def test_a_lost_answer_after_alephee_stored_the_document_is_not_uploaded_again(
    tmp_path: Path,
) -> None:
    from connector.sandbox import Fault

    with fast_sandbox() as sb:
        config, orders = written_orders(tmp_path, sb, 2)
        order_id = int(str(orders[0]["Id"]))
        endpoint = "POST /v2/orders/{id}/documents"
        sb.inject(Fault(kind="reset_after_apply", endpoint=endpoint))  # stored, answer lost
        sb.inject(Fault(kind="500", endpoint=endpoint))  # not stored: must be sent again
        drop(config.folders.inbox, f"factura-ALE-{order_id}.pdf", pdf("R"))
        drop(config.folders.inbox, f"factura-ALE-{orders[1]['Id']}.pdf", pdf("S"))
        code, summary = run_once(config)
        assert code == 0 and summary.documents_attached == 2
        assert len(sb.documents(order_id)) == 1
        assert len(sb.documents(int(str(orders[1]["Id"])))) == 1
        posts = [r.status for r in sb.requests if r.endpoint == endpoint]
        # applied (its answer lost), refused with 500, sent again; the first never again
        assert posts == [200, 500, 200]
