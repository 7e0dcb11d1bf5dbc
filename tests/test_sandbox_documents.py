"""POST /v2/orders/{id}/documents in the sandbox: JSON with base64 and form-data, the rules, and
what tests read back through the control API (issue 13)."""

from __future__ import annotations

import base64

from connector.sandbox import SandboxControl
from connector.sandbox.fixtures import make_orders
from tests.test_sandbox_support import auth, running

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


def test_json_and_form_data_are_stored_and_listed_on_the_order() -> None:
    with running() as (sandbox, client):
        sandbox.add_orders(make_orders(2))
        body = {
            "documentType": 0,
            "DocumentFormat": "pdf",
            "FileName": "factura-ALE-5001.pdf",
            "Content": base64.b64encode(PDF).decode(),
        }
        response = client.post("/v2/orders/5001/documents", params=auth(), json=body)
        assert response.status_code == 200, response.text
        xml = b"<?xml version='1.0'?><NFe><infNFe Id='1'/></NFe>"
        form = client.post(
            "/v2/orders/5001/documents",
            params=auth(),
            data={"DocumentType": "2", "DocumentFormat": "xml"},
            files={"file": ("nfe-5001.xml", xml, "application/xml")},
        )
        assert form.status_code == 200, form.text
        stored = sandbox.documents(5001)
        assert [d["Fullfilename"] for d in stored] == ["factura-ALE-5001.pdf", "nfe-5001.xml"]
        assert [base64.b64decode(d["Content"]) for d in stored] == [PDF, xml]
        assert [d["Type"]["Key"] for d in stored] == [0, 2]
        listed = sandbox.order(5001)["Documents"]
        assert [(d["Name"], d["Extension"], d["Size"]) for d in listed] == [
            ("factura-ALE-5001", "pdf", len(PDF)),
            ("nfe-5001", "xml", len(xml)),
        ]
        assert all("Content" not in d for d in listed)
        with SandboxControl(sandbox.url) as control:
            assert control.documents(5001) == stored
            assert control.documents(5002) == []


def test_bad_documents_are_refused_and_nothing_is_stored() -> None:
    with running() as (sandbox, client):
        sandbox.add_orders(make_orders(1))

        def post(order_id: int, **fields: object) -> int:
            body = {
                "DocumentType": 0,
                "DocumentFormat": "pdf",
                "FileName": "f.pdf",
                "Content": base64.b64encode(PDF).decode(),
                **fields,
            }
            return client.post(
                f"/v2/orders/{order_id}/documents", params=auth(), json=body
            ).status_code

        assert post(9999) == 404
        assert post(5001, DocumentType=7) == 400
        assert post(5001, DocumentFormat="docx") == 400
        assert post(5001, Content=base64.b64encode(b"PK\x03\x04").decode()) == 400
        assert post(5001, Content="not base64!") == 400
        assert post(5001, FileName="../../etc/f.pdf") == 400
        assert sandbox.documents(5001) == []
        for _ in range(5):
            assert post(5001) == 200
        assert post(5001) == 412  # at most 5 documents per order


def test_put_status_tracking_is_readable_through_the_control_api() -> None:
    with running() as (sandbox, client):
        sandbox.add_orders(make_orders(1))
        item = {"OrderId": 5001, "Status": 20, "Tracking": {"Number": "AR9", "Status": "x"}}
        assert client.put("/v2/orders", params=auth(), json=[item]).status_code == 200
        with SandboxControl(sandbox.url) as control:
            assert control.tracking(5001) == {"Number": "AR9", "Status": "x"}
        assert sandbox.tracking(5001) == {"Number": "AR9", "Status": "x"}
