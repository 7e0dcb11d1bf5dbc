"""The run report page: figures after a real sandbox run, the locales, escaping of any text from
files, buyers and Alephee (hypothesis), size for 30 busy days, atomic replacement."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.config import Config
from connector.db import atomic
from connector.intake import Ledger
from connector.report import gather, problems, render
from connector.report.words import Words
from connector.runner import open_state
from connector.slots import iso
from tests.conftest import CANARY_KEY
from tests.report_support import (
    HOSTILE_BUYER,
    HOSTILE_FILE,
    HOSTILE_HEADER,
    NOON,
    busy_site,
    page_of,
    plain_site,
    synthetic,
)


class Page(HTMLParser):
    """Tags (with attribute names) and text of a page, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(name for name, _ in attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def test_the_page_shows_what_a_sandbox_run_left(tmp_path: Path) -> None:
    config = busy_site(tmp_path / "site", locale="es-AR")
    html, _ = page_of(config)
    page = Page(html)
    assert config.report_path == config.folders.outbox / "report.html"
    assert '<html lang="es-AR">' in html and 'name="viewport"' in html
    assert "Informe del conector" in page.words
    # the worst problem first: the failed file, in one sentence, with what to do
    headline = re.search(r'<section class="headline warning"[^>]*>(.*?)</section>', html, re.S)
    assert headline and "1 archivo(s) con error" in headline[1] and "Qué hacer" in headline[1]
    # the run: 2 files, 1 failed, 1 rejected row, 40 changes (20 products), 40 refused, 3 orders
    for key, value in {
        "files": "2",
        "files_failed_n": "1",
        "rejected": "1",
        "sent": "40",
        "refused_n": "40",
        "orders_written": "3",
    }.items():
        assert f'data-last="{key}">{value}</td>' in html, key
        assert f'data-total="{key}">{value}</td>' in html, key
    assert "Combinación de precios no permitida: PriceWithTaxes" in page.words
    assert "column 'Stock' not found" in page.words
    assert "Pedidos escritos por día" in page.words
    assert html.count("<svg ") == 4 and html.count("<desc ") == 4
    # hostile text is text: the names appear literally, and no markup of theirs does
    for hostile in (HOSTILE_FILE, HOSTILE_HEADER, HOSTILE_BUYER):
        assert hostile in page.words
        assert hostile not in html
    assert [t for t, _ in page.tags].count("script") == 0
    assert [t for t, _ in page.tags].count("img") == 0
    assert CANARY_KEY not in html


def test_numbers_and_dates_follow_the_outbox_locale() -> None:
    zone = ZoneInfo("America/Argentina/Buenos_Aires")
    moment = datetime(2026, 11, 23, 18, 5, tzinfo=UTC)
    cases = {
        "es-AR": ("1.234.567,5", "23/11/2026 15:05", "Filas rechazadas"),
        "pt-BR": ("1.234.567,5", "23/11/2026 15:05", "Linhas rejeitadas"),
        "en-US": ("1,234,567.5", "11/23/2026 3:05 PM", "Rows rejected"),
    }
    for locale, (number, when, label) in cases.items():
        words = Words(locale, zone)
        assert words.number(1234567.5, 1) == number
        assert words.when(moment) == when
        assert words.say("rejected") == label


def test_the_page_is_in_english_for_en_us(tmp_path: Path) -> None:
    config = busy_site(tmp_path / "site", locale="en-US")
    html, _ = page_of(config)
    page = Page(html)
    assert '<html lang="en-US">' in html
    assert "Connector report" in page.words and "Orders written per day" in page.words
    assert "11/23/2026 12:00 PM" in page.words  # NOON in Buenos Aires, US order


# -- escaping, for any text: hypothesis --------------------------------------------------------

PIECES = ["<", ">", "&", "'", '"', "/", "=", "script", "img", " ", "-->", "<!--", "]]>", "\n"]
TEXT = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1),
    st.text(alphabet="<>&'\"=/ abs!-[]", min_size=1, max_size=30),  # markup's own characters
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=12).map("".join),
)


@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_text_from_files_and_buyers_never_becomes_markup(text: str) -> None:
    hostile = Page(render(synthetic(text)))
    plain = Page(render(synthetic("x")))
    # The same tags and attributes whatever the text: it never opens, closes or adds one.
    assert hostile.tags == plain.tags
    visible = " ".join(text.split())
    if visible:
        assert visible in hostile.words


# -- size and replacement ----------------------------------------------------------------------


def busy_month(config: Config, end: datetime) -> None:
    """30 days of a run every 15 minutes, 60 failed files, 2,000 refusals, 500 orders."""
    conn = open_state(config)
    long = "no column 'Stock' in the file; the file has: " + ", ".join(f"Col{i}" for i in range(40))
    Ledger(conn)  # creates the intake table
    with atomic(conn):
        for n in reversed(range(30 * 96)):  # oldest first, as the runner writes them
            start = end - timedelta(minutes=15 * n)
            summary = {
                "files": 1,
                "rows": 5000,
                "rejected": n % 7,
                "sent": 40 + n % 50,
                "refused": n % 3,
                "orders_written": n % 4,
                "seconds": 3.5 + n % 9,
            }
            conn.execute(
                "INSERT INTO runs (mode, started_at, finished_at, exit_code, summary, message) "
                "VALUES ('run', ?, ?, 0, ?, '')",
                (iso(start), iso(start), json.dumps(summary)),
            )
        for n in range(60):
            conn.execute(
                "INSERT INTO intake_files (name, path, size, mtime_ns, sha256, as_of, status, "
                "detail, hint, claimed_at) VALUES (?, ?, 1, 1, ?, ?, 'failed', ?, 'fix it', ?)",
                (f"stock-{n}.csv", f"/x/stock-{n}.csv", f"sha{n}", iso(end), long, iso(end)),
            )
        for n in range(2000):
            conn.execute(
                "INSERT INTO refused (sku, grp, signature, message, at) VALUES (?, 'price', '', "
                "?, ?)",
                (f"{n:07d}", "Combinación de precios no permitida: PriceWithTaxes", iso(end)),
            )
        for n in range(500):
            conn.execute(
                "INSERT INTO orders (order_id, own_order_id, state, written_at, message) "
                "VALUES (?, ?, 'marked', ?, '')",
                (n, f"ALE-{n}", iso(end)),
            )
    conn.close()


def test_thirty_busy_days_stay_under_one_megabyte(tmp_path: Path) -> None:
    config = plain_site(tmp_path)
    end = NOON
    busy_month(config, end)
    html, facts = page_of(config, end)
    assert len(facts.runs) >= 29 * 96
    size = len(html.encode("utf-8"))
    assert size < 1_000_000, size
    assert "... y 10 más." in html  # 60 failed files: 50 listed, the count exact
    assert "... y 1.950 más." in html  # 2,000 refusals
    assert sum(day.get("sent") for day in facts.days) > 0


def test_the_page_is_replaced_whole(tmp_path: Path) -> None:
    config = plain_site(tmp_path)
    first, _ = page_of(config)
    config.report_path.write_text("old", encoding="utf-8")
    second, _ = page_of(config, NOON + timedelta(hours=1))
    assert second != "old" and second.startswith("<!DOCTYPE html>")
    leftovers = [p.name for p in config.report_path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    conn = open_state(config)
    try:
        assert problems(gather(conn, config, NOON), Words("es-AR", config.schedule.zone)) == []
    finally:
        conn.close()
    assert "Todavía no hay ejecuciones registradas" in first
