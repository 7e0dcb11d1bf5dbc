"""Checks that run before any parser touches an inbox file (hostile or broken input).

An ERP export is trusted data from an untrusted pipe: a half-copied file, a binary dropped in
the wrong folder, an old ``.xls`` renamed, a password-protected workbook, or a crafted XLSX
(zip bomb, XML entity bomb, cells placed far apart so calamine allocates terabytes and aborts
the whole process). Each becomes a ``BadInputFile`` with a plain reason, before parsing.

Limits follow Apache POI's ZipSecureFile, with absolute sizes primary (ratio checks give false
positives on repetitive sheets, so they only apply to parts above ``RATIO_GRACE_BYTES``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from connector.errors import BadInputFile

MAX_TEXT_FILE_BYTES = 1 << 30
MAX_ZIP_ENTRIES = 10_000
MAX_PART_BYTES = 1 << 30
MAX_TOTAL_BYTES = 2 << 30
MAX_RATIO = 200
RATIO_GRACE_BYTES = 1 << 20

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An encrypted (password-protected) OOXML file is an OLE container holding this stream.
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))

FileKind = Literal["csv", "xlsx"]


def file_kind(path: Path) -> FileKind:
    """CSV or XLSX by name, confirmed by the first bytes; anything else is refused."""
    suffix = path.suffix.lower()
    head = _head(path, 8)
    if suffix in TEXT_SUFFIXES:
        if head.startswith(ZIP_MAGIC):
            raise BadInputFile(
                f"{path.name} is an Excel workbook (XLSX), not a text file",
                hint="rename it to .xlsx, or export it from the ERP as CSV",
            )
        if head.startswith(OLE_MAGIC):
            raise BadInputFile(
                f"{path.name} is an old Excel (.xls) workbook, not a text file",
                hint="save it as CSV or .xlsx",
            )
        return "csv"
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".xlsm":
        raise BadInputFile(
            f"{path.name} is a macro-enabled workbook (.xlsm); macros are never opened",
            hint="save it as a normal Excel workbook (.xlsx) or as CSV",
        )
    if suffix == ".xls":
        raise BadInputFile(
            f"{path.name} is in the old Excel 97-2003 format (.xls), which is not read",
            hint="open it in Excel and save it as .xlsx, or export CSV",
        )
    raise BadInputFile(
        f"{path.name} is not a CSV or XLSX file",
        hint="export stock and prices as .csv or .xlsx, or fix the mapping's file patterns",
    )


def check_text_bytes(path: Path, data: bytes, encoding: str = "auto") -> None:
    """Refuse files too large to be an export (the caller decodes and checks the text)."""
    if len(data) > MAX_TEXT_FILE_BYTES:
        raise BadInputFile(
            f"{path.name} is larger than {MAX_TEXT_FILE_BYTES >> 20} MB",
            hint="split the export into smaller files",
        )
    # NUL bytes: one rule for the whole file. A start that is mostly control bytes is binary
    # (here, and check_text after decoding); a NUL anywhere else rejects the line that holds
    # it (connector.readers.csv_checks). UTF-16 is full of NUL bytes: judged once decoded.
    wide = data.startswith((b"\xff\xfe", b"\xfe\xff")) or encoding.startswith(("utf-16", "utf-32"))
    if not wide and _mostly_controls(data[:65536]):
        raise BadInputFile(
            f"{path.name} is not a text file (it holds binary data)",
            hint="export the stock and price list from the ERP as CSV or XLSX",
        )


def _mostly_controls(sample: bytes) -> bool:
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > max(8, len(sample) // 200)


def check_text(path: Path, text: str) -> None:
    """A decoded file full of control characters is binary that happened to decode."""
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if controls > max(8, len(sample) // 200):  # the same share as _mostly_controls
        raise BadInputFile(
            f"{path.name} is not a text file (it holds binary data)",
            hint="export the stock and price list from the ERP as CSV or XLSX",
        )


def open_xlsx_zip(path: Path) -> zipfile.ZipFile:
    """Open the XLSX container after checking it is a complete, sane zip (no bomb)."""
    head = _head(path, 8)
    if head.startswith(OLE_MAGIC):
        raise _ole_problem(path)
    if not head.startswith(ZIP_MAGIC):
        raise _not_xlsx(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _not_xlsx(path) from None
    try:
        check_entries(path, archive.infolist())
    except BadInputFile:
        archive.close()
        raise
    return archive


def check_entries(path: Path, entries: list[zipfile.ZipInfo]) -> None:
    """Entry count, declared sizes and compression ratio, from the central directory."""
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _bomb(path, f"it has {len(entries)} parts")
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names:
        raise _not_xlsx(path)
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise BadInputFile(
            f"{path.name} contains macros (an .xlsm renamed to .xlsx); macros are never opened",
            hint="save it as a normal Excel workbook (.xlsx) or as CSV",
        )
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            raise _password(path)
        total += entry.file_size
        if entry.file_size > MAX_PART_BYTES or total > MAX_TOTAL_BYTES:
            raise _bomb(path, f"it would unpack to more than {MAX_PART_BYTES >> 20} MB")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_GRACE_BYTES and ratio > MAX_RATIO:
            raise _bomb(path, f"part {entry.filename} is compressed {ratio:.0f} to 1")


def _head(path: Path, size: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError as exc:
        raise BadInputFile(f"{path.name} cannot be opened ({exc.strerror})") from None


def _ole_problem(path: Path) -> BadInputFile:
    if _contains(path, ENCRYPTED_STREAM):
        return _password(path)
    return BadInputFile(
        f"{path.name} is an old Excel 97-2003 (.xls) file renamed to .xlsx",
        hint="open it in Excel and save it as .xlsx (Excel Workbook)",
    )


def _contains(path: Path, needle: bytes, chunk: int = 1 << 20) -> bool:
    """Search a file in bounded memory (the OLE directory can sit anywhere in it)."""
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            if needle in tail + block:
                return True
            tail = block[-len(needle) :]
    return False


def _password(path: Path) -> BadInputFile:
    return BadInputFile(
        f"{path.name} is password-protected and cannot be read",
        hint="remove the password (File > Info > Protect Workbook) and save it again",
    )


def _not_xlsx(path: Path) -> BadInputFile:
    return BadInputFile(
        f"{path.name}: the file is incomplete or not a real XLSX",
        hint="export it again from the ERP; if it was still being copied, drop it again",
    )


def _bomb(path: Path, detail: str) -> BadInputFile:
    return BadInputFile(
        f"{path.name} looks like a zip bomb ({detail}) and was not opened",
        hint="export the file again from the ERP; a real stock export is far smaller",
    )


def unsafe_xml(path: Path, part: str, detail: str) -> BadInputFile:
    return BadInputFile(
        f"{path.name} is an unsafe or corrupt XLSX ({part}: {detail})",
        hint="open it in Excel and save it again as .xlsx, or export it again from the ERP",
    )
