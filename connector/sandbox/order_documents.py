"""POST /v2/orders/{orderId}/documents: attach an invoice, receipt or e-fiscal invoice.

Alephee documents the endpoint as taking form-data, or JSON with the content in base64 (section
9); the field names are not public [UNK], so both bodies take ``DocumentType`` (0 invoice,
1 receipt, 2 e-fiscal invoice), ``DocumentFormat`` (pdf or xml), ``FileName`` and the content
(``Content`` in JSON, a ``file`` part in form-data), names matched case-insensitively. The
document is kept with its bytes (for tests, through the control API) and its metadata is listed
in the order's ``Documents``, as GET /v2/orders shows it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from connector.sandbox.binding import ApiError, ApiRequest, ApiResponse
from connector.sandbox.model import ci_get, ci_set, fold_keys, iso_utc
from connector.sandbox.store import Store

DOCUMENT_TYPES = {0: "Factura", 1: "Recibo", 2: "Factura electrónica"}
FORMATS = ("pdf", "xml")
MAX_DOCUMENTS = 5  # Documents 1..5 per order (order model cardinalities)


def attach_document(request: ApiRequest) -> ApiResponse:
    store = request.store
    order_id = int(request.path_params["id"])
    order = store.orders.get(order_id)
    if order is None:
        raise ApiError(404, "Order not found")
    fields, content = _fields(request.body)
    doc_type, fmt, name = _validated(fields, content)
    documents = store.documents.setdefault(order_id, [])
    if len(documents) >= MAX_DOCUMENTS:
        raise ApiError(412, f"La orden ya tiene {MAX_DOCUMENTS} documentos.")
    stem, _, extension = name.rpartition(".")
    meta = {
        "Type": {"Key": doc_type, "Value": DOCUMENT_TYPES[doc_type]},
        "Name": stem or name,
        "Extension": extension if stem else fmt,
        "Fullfilename": name,
        "Size": len(content),
        "DocumentDate": iso_utc(store.now()),
        "DateCreated": iso_utc(store.now()),
    }
    documents.append({**meta, "Format": fmt, "Content": content})
    listed = ci_get(order, "Documents")
    ci_set(order, "Documents", [*(listed if isinstance(listed, list) else []), meta])
    store.touch(order)
    return ApiResponse(200, {"Status": 200, "Message": "Ok"})


def _fields(body: bytes) -> tuple[dict[str, Any], bytes]:
    """The body's fields and the document's bytes, from JSON or from multipart form-data."""
    if body.startswith(b"--"):
        return _multipart(body)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "El cuerpo no es JSON válido ni form-data.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "El cuerpo debe ser un objeto JSON.")
    fields = fold_keys(data)
    try:
        content = base64.b64decode(str(fields.get("content") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "Content debe estar en base64.") from None
    return fields, content


def _multipart(body: bytes) -> tuple[dict[str, Any], bytes]:
    # The sandbox's request pipeline passes the body only; a form-data body starts with its
    # boundary line, which is all the parser needs to be told.
    boundary = body.split(b"\r\n", 1)[0][2:]
    head = b'Content-Type: multipart/form-data; boundary="' + boundary + b'"\r\n\r\n'
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise ApiError(400, "form-data mal formado.")
    fields: dict[str, Any] = {}
    content = b""
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = str(part.get_param("name", header="content-disposition") or "").lower()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if part.get_filename() is not None or name in ("file", "content"):
            content = data
            fields.setdefault("filename", part.get_filename())
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, content


def _validated(fields: dict[str, Any], content: bytes) -> tuple[int, str, str]:
    try:
        doc_type = int(str(fields.get("documenttype", "")).strip())
    except ValueError:
        doc_type = -1
    if doc_type not in DOCUMENT_TYPES:
        raise ApiError(
            400, "DocumentType debe ser 0 (factura), 1 (recibo) o 2 (factura electrónica)."
        )
    fmt = str(fields.get("documentformat") or "").strip().lower()
    if fmt not in FORMATS:
        raise ApiError(400, "DocumentFormat debe ser pdf o xml.")
    name = str(fields.get("filename") or "").strip()
    if not name or "/" in name or "\\" in name:
        raise ApiError(400, "FileName es obligatorio y no puede incluir carpetas.")
    if not content:
        raise ApiError(400, "El documento está vacío.")
    if fmt == "pdf" and not content.startswith(b"%PDF-"):
        raise ApiError(400, "El contenido no es un PDF.")
    if fmt == "xml" and not content.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<"):
        raise ApiError(400, "El contenido no es un XML.")
    return doc_type, fmt, name


def documents_of(store: Store, order_id: int) -> list[dict[str, Any]]:
    """What the sandbox received for an order, for the control API (content in base64)."""
    if order_id not in store.orders:
        raise KeyError(f"no order {order_id} in the sandbox")
    return [
        {
            **{k: v for k, v in doc.items() if k != "Content"},
            "Content": base64.b64encode(doc["Content"]).decode("ascii"),
            "Sha256": hashlib.sha256(doc["Content"]).hexdigest(),
        }
        for doc in store.documents.get(order_id, [])
    ]
