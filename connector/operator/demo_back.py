"""The demo's last step: the ERP sends status, tracking and an invoice back to Alephee.

Orders 5001 and 5003 are shipped with tracking numbers, 5006 is being prepared; an invoice PDF
for 5001 is dropped beside them. After one pass the sandbox shows what Alephee received.
"""

from __future__ import annotations

from collections.abc import Callable

from connector.config import Config
from connector.runner import Options, once
from connector.sandbox import Sandbox

Say = Callable[[str], None]
SHOWN = (5001, 5003, 5006)


def status_export() -> bytes:
    """The ERP's status export, as the example order-status mapping reads it."""
    lines = [
        "Pedido;Estado;Guia",
        "ALE-5001;DESPACHADO;AR000111222",
        "ALE-5003;Despachado;AR000333444",
        "ALE-5006;EN PREPARACIÓN;",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def invoice_pdf() -> bytes:
    """A small, well-formed PDF standing in for the ERP's invoice."""
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
        b"% Factura B 0003-00012345, pedido ALE-5001\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def back_to_alephee(sandbox: Sandbox, config: Config, say: Say) -> int:
    inbox = config.folders.inbox
    (inbox / "estado-pedidos-20261123.csv").write_bytes(status_export())
    (inbox / "factura-ALE-5001.pdf").write_bytes(invoice_pdf())
    say("4) The ERP drops estado-pedidos-20261123.csv (shipped, tracking) and factura-ALE-5001.pdf")
    code, summary = once(config, Options(progress=False))
    say(f"   exit {code}: {summary.line()}")
    for order_id in SHOWN:
        order = sandbox.order(order_id)
        tracking = sandbox.tracking(order_id) or {}
        number = tracking.get("Number", "") if isinstance(tracking, dict) else ""
        shown = f", tracking {number}" if number else ""
        say(
            f"   Alephee order {order_id}: status {order['Status']['Key']} "
            f"({order['Status']['Value']}){shown}"
        )
    for document in sandbox.documents(5001):
        say(
            f"   Alephee order 5001 has document {document['Fullfilename']} "
            f"({document['Type']['Value']}, {document['Size']:,} bytes)"
        )
    return code
