"""Which parts of an XLSX hold its worksheets, read before any parser sees the file.

The workbook part named by ``_rels/.rels`` and its relationships give each sheet's part (what
openpyxl follows); calamine always reads ``xl/workbook.xml`` instead, so the parts that one
names are measured too (``xlsx_scan``). Index parts are parsed with defusedxml and refused
when implausibly large.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from connector.readers.guard import unsafe_xml

MAX_INDEX_PART_BYTES = 16 << 20
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def sheet_parts(path: Path, archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> worksheet part, from the workbook part and its relationships."""
    workbook = _workbook_part(path, archive)
    folder = posixpath.dirname(workbook)
    rels_name = posixpath.join(folder, "_rels", posixpath.basename(workbook) + ".rels")
    targets = {
        rel.get("Id", ""): _resolve(folder, rel.get("Target", ""))
        for rel in _parse(path, archive, rels_name)
        if _local(rel.tag) == "Relationship"
    }
    parts: dict[str, str] = {}
    for element in _parse(path, archive, workbook).iter():
        if _local(element.tag) == "sheet":
            rel_id = element.get(f"{{{_REL_NS}}}id", "")
            parts[element.get("name", "")] = targets.get(rel_id, "")
    return parts


def fixed_workbook_sheets(path: Path, archive: zipfile.ZipFile) -> set[str]:
    """The worksheet parts named by ``xl/workbook.xml``, the part calamine always reads, even
    when ``_rels/.rels`` points the other parsers at another workbook part."""
    fixed = "xl/workbook.xml"
    if fixed not in archive.namelist() or _workbook_part(path, archive) == fixed:
        return set()
    rels = "xl/_rels/workbook.xml.rels"
    if rels not in archive.namelist():
        return set()
    return {
        _resolve("xl", rel.get("Target", ""))
        for rel in _parse(path, archive, rels)
        if _local(rel.tag) == "Relationship" and rel.get("Type", "").endswith("/worksheet")
    }


def _workbook_part(path: Path, archive: zipfile.ZipFile) -> str:
    for rel in _parse(path, archive, "_rels/.rels"):
        if rel.get("Type", "").endswith("/officeDocument"):
            return _resolve("", rel.get("Target", ""))
    return "xl/workbook.xml"


def _resolve(folder: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(folder, target))


def _parse(path: Path, archive: zipfile.ZipFile, name: str) -> Element:
    try:
        entry = archive.getinfo(name)
    except KeyError:
        raise unsafe_xml(path, name, "the part is missing") from None
    if entry.file_size > MAX_INDEX_PART_BYTES:
        raise unsafe_xml(path, name, "the part is implausibly large")
    try:
        root: Element = fromstring(archive.read(entry))
    except DefusedXmlException:
        raise unsafe_xml(path, name, "it declares a DTD or XML entities") from None
    except (ParseError, zipfile.BadZipFile, ValueError) as exc:
        raise unsafe_xml(path, name, f"not well-formed XML: {exc}") from None
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
