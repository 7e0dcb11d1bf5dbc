"""Outbox text holds only what XML 1.0 can hold, in CSV and XLSX alike (issues 11 and 16)."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.outbox.cells import clean_text, safe_text
from connector.outbox.publish import csv_text
from connector.outbox.typed import Text
from connector.outbox.xlsx import write_xlsx

XML_ILLEGAL = ["\ufffe", "\uffff", "\ud800", "\udfff", "\x00", "\x1f", "\x7f"]
HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(codec=None), st.sampled_from(["\t", "\n", "=", "+", "-", "@", *XML_ILLEGAL])
    ),
    max_size=30,
)


def xlsx_cells(texts: list[str]) -> list[str]:
    """Write one XLSX and parse its sheet with a strict XML parser (it raises on bad XML)."""
    buffer = io.BytesIO()
    write_xlsx(buffer, "orders", ["Cliente"], [[Text(t)] for t in texts])
    with zipfile.ZipFile(buffer) as archive:
        root = ElementTree.fromstring(archive.read("xl/worksheets/sheet1.xml"))
    cells = [
        "".join(cell.itertext())
        for cell in root.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}c")
    ]
    return cells[1:]  # after the header


def test_a_buyer_name_with_ufffe_and_uffff_gives_a_well_formed_xlsx() -> None:
    names = ["Ana\uffffPérez", "\ufffeJosé", "+54 11 4444-5555", "\tleading tab", "=1+2"]
    assert xlsx_cells(names) == ["AnaPérez", "José", "+54 11 4444-5555", "leading tab", "=1+2"]
    assert [csv_text(Text(n), ",") for n in names] == [
        "AnaPérez",
        "José",
        "'+54 11 4444-5555",  # CSV keeps the apostrophe: Excel would run it
        "leading tab",
        "'=1+2",
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=5))
def test_any_text_is_well_formed_in_xlsx_and_the_same_as_csv_but_the_apostrophe(
    texts: list[str],
) -> None:
    cells = xlsx_cells(texts)  # raises if the XML is not well-formed
    for text, cell in zip(texts, cells, strict=True):
        cleaned = clean_text(text)
        assert cell == cleaned
        assert not any(char in cleaned for char in XML_ILLEGAL)
        assert not cleaned.startswith(("\t", "\r", "\n"))
        assert safe_text(text) in (cleaned, "'" + cleaned)
