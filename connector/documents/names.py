"""Which files are order documents, and which order each names.

A pattern from ``[[documents.files]]`` holds one placeholder, ``{OwnOrderId}``, ``{Id}`` or
``{ExternalOrderId}``, and may use ``*`` for any text: ``factura-{OwnOrderId}.pdf``,
``{ExternalOrderId}_FC*.pdf``, ``FE-{Id}.xml``. Names match ignoring case. The extension says
the format (.pdf or .xml). Only the file's own name is ever used: a name carrying a path, a
drive, a stream (``:``) or control characters is refused, whatever the pattern says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from connector.alephee.orderrefs import REF_KINDS, RefKind
from connector.config import DocumentSettings
from connector.errors import ConfigError

Format = Literal["pdf", "xml"]
TYPE_CODES = {"invoice": 0, "receipt": 1, "e-fiscal-invoice": 2}  # documentType, section 9
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:]")


@dataclass(frozen=True)
class DocumentName:
    ref_kind: RefKind
    ref: str
    doc_type: str
    format: Format

    @property
    def type_code(self) -> int:
        return TYPE_CODES[self.doc_type]


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    ref_kind: RefKind
    doc_type: str
    format: Format


class NamePatterns:
    def __init__(self, settings: DocumentSettings) -> None:
        self.settings = settings
        self.patterns = [_compile(p.pattern, p.type) for p in settings.files]

    def match(self, name: str) -> DocumentName | None:
        for pattern in self.patterns:
            found = pattern.regex.fullmatch(name)
            if found:
                ref = found["ref"].strip()
                return DocumentName(pattern.ref_kind, ref, pattern.doc_type, pattern.format)
        return None


def unsafe_name(name: str) -> str:
    """Why a file name cannot be trusted ("" when it can)."""
    if _UNSAFE.search(name) or name in ("", ".", "..") or name != name.strip():
        return f"the file name {name!r} holds a path, a drive, a stream or control characters"
    return ""


def _compile(pattern: str, doc_type: str) -> _Pattern:
    where = f"documents.files pattern {pattern!r}"
    kinds = _PLACEHOLDER.findall(pattern)
    if len(kinds) != 1 or kinds[0] not in REF_KINDS:
        raise ConfigError(
            f"{where} needs exactly one of {{OwnOrderId}}, {{Id}} or {{ExternalOrderId}}"
        )
    suffix = pattern.rsplit(".", 1)[-1].lower() if "." in pattern else ""
    if suffix not in ("pdf", "xml"):
        raise ConfigError(f"{where} must end in .pdf or .xml")
    if unsafe_name(pattern.replace("*", "x")):
        raise ConfigError(f"{where} is a file name: no folders, drives or ':' in it")
    head, _, tail = pattern.partition("{" + kinds[0] + "}")
    regex = _glob(head) + r"(?P<ref>[^\\/]+?)" + _glob(tail)
    return _Pattern(
        re.compile(regex, re.IGNORECASE), cast(RefKind, kinds[0]), doc_type, cast(Format, suffix)
    )


def _glob(text: str) -> str:
    return ".*?".join(re.escape(part) for part in text.split("*"))
