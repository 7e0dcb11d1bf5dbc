"""What a document must be before it is uploaded: a trusted name, a size within the limit, and
the content its name says (a PDF starts with ``%PDF-`` and ends with ``%%EOF``; an XML parses,
with defusedxml against entity bombs). A file that fails goes to failed/ with the reason."""

from __future__ import annotations

from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from connector.documents.names import Format, unsafe_name
from connector.errors import BadInputFile

PDF_TAIL = 2048  # %%EOF must be near the end (writers may add a newline or a little padding)


def checked_content(path: Path, fmt: Format, max_bytes: int) -> bytes:
    """The file's bytes, once they pass every check (BadInputFile otherwise)."""
    problem = unsafe_name(path.name)
    if problem:
        raise BadInputFile(problem, hint="rename the file to the pattern, without folders")
    size = path.stat().st_size
    if size == 0:
        raise BadInputFile(f"{path.name} is empty", hint="export the document again")
    if size > max_bytes:
        raise BadInputFile(
            f"{path.name} has {size:,} bytes, more than the limit of {max_bytes:,}",
            hint="make the file smaller, or raise documents.max_mb if Alephee takes it",
        )
    data = path.read_bytes()
    if fmt == "pdf":
        _check_pdf(path.name, data)
    else:
        _check_xml(path.name, data)
    return data


def _check_pdf(name: str, data: bytes) -> None:
    if not data.startswith(b"%PDF-"):
        raise BadInputFile(
            f"{name} is not a PDF (it does not start with %PDF-)",
            hint="save the invoice as PDF, or name XML files .xml",
        )
    if b"%%EOF" not in data[-PDF_TAIL:]:
        raise BadInputFile(
            f"{name} is a PDF cut short (no %%EOF at its end)",
            hint="export the invoice again; the ERP may have stopped while writing it",
        )


def _check_xml(name: str, data: bytes) -> None:
    try:
        ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise BadInputFile(
            f"{name} is not well-formed XML ({type(exc).__name__}: {exc})",
            hint="export the document again as XML",
        ) from None
