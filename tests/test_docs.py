"""The docs render with no broken internal links, document every key the code accepts, and the
CLI reference matches ``--help``."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token
from pydantic import BaseModel

from connector import clidoc, errors
from connector.cli import build_parser
from connector.config import Config
from connector.orders.spec import ColumnSpec, MappingSpec
from connector.readers.mapping import documented_keys

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
MD = MarkdownIt("commonmark").enable("table")


def tokens(path: Path) -> list[Token]:
    return MD.parse(path.read_text(encoding="utf-8"))


def walk(found: list[Token]) -> list[Token]:
    flat = []
    for token in found:
        flat.append(token)
        flat.extend(walk(token.children or []))
    return flat


def slug(text: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces become hyphens."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    parsed = tokens(path)
    for index, token in enumerate(parsed):
        if token.type == "heading_open":
            inline = parsed[index + 1]
            text = "".join(child.content for child in inline.children or [])
            base = slug(text)
            name, n = base, 0
            while name in found:  # repeated headings get -1, -2 ...
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def links(path: Path) -> list[str]:
    return [
        str(token.attrs["href"])
        for token in walk(tokens(path))
        if token.type == "link_open" and "href" in token.attrs
    ]


def internal(href: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.IGNORECASE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_internal_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for href in filter(internal, links(page)):
        target, _, anchor = unquote(href).partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{href}: no file {path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{href}: no heading '{anchor}' in {path.name}")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_the_link_check_can_fail(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Top\n\n[ok](#top) [bad](#nowhere) [gone](missing.md)\n", encoding="utf-8")
    assert anchors(page) == {"top"}
    assert [h for h in links(page) if internal(h)] == ["#top", "#nowhere", "missing.md"]
    assert slug("10. Excel shows formulas, or drops leading zeros") == (
        "10-excel-shows-formulas-or-drops-leading-zeros"
    )
    assert slug("`[folders]`: where files are") == "folders-where-files-are"
    page.write_text("`sku` and `[columns]` and `[[cancellations.columns]]`\n", encoding="utf-8")
    assert documented(page, ["sku", "columns", "cancellations", "brand", "sk"]) == ["brand", "sk"]


def test_every_docs_page_is_listed_in_the_index() -> None:
    listed = set(links(DOCS / "index.md"))
    pages = {p.name for p in DOCS.glob("*.md")} - {"index.md"}
    assert pages <= listed, f"docs/index.md does not link {sorted(pages - listed)}"


def documented(page: Path, keys: list[str]) -> list[str]:
    """Keys not named on the page as `key`, or in a table name: `[key]`, `[[a.key]]`."""
    text = page.read_text(encoding="utf-8")
    return [key for key in keys if not re.search(rf"[`\[.]{re.escape(key)}[`\].]", text)]


def test_every_products_mapping_key_is_documented() -> None:
    missing = documented(DOCS / "mapping-products.md", documented_keys())
    assert not missing, f"docs/mapping-products.md does not document {missing}"


def test_every_orders_mapping_key_is_documented() -> None:
    keys = [*MappingSpec.model_fields, *ColumnSpec.model_fields]
    missing = documented(DOCS / "mapping-orders.md", keys)
    assert not missing, f"docs/mapping-orders.md does not document {missing}"


def config_keys() -> list[str]:
    keys = []
    for section, field in Config.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            keys.append(section)
            keys += [f"{name}" for name in model.model_fields]
    return keys


def test_every_configuration_key_is_documented() -> None:
    missing = documented(DOCS / "configuration.md", config_keys())
    assert not missing, f"docs/configuration.md does not document {missing}"
    assert len(config_keys()) > 40  # the sections were found


def test_the_cli_reference_matches_the_help_texts() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == clidoc.render(), (
        "docs/cli.md is out of date: python -m connector.clidoc > docs/cli.md"
    )
    for command in clidoc.subcommands(build_parser()):
        assert f"## connector {command}\n" in clidoc.render()


def test_exit_codes_page_matches_the_code() -> None:
    text = (DOCS / "exit-codes.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("EXIT_OK", "EXIT_REJECTS", "EXIT_CONFIG", "EXIT_UNAVAILABLE", "EXIT_LOCKED"):
        code = getattr(errors, name)
        assert f"| `{code}` | `0x{code}` |" in text, name
        assert f"\n| {code} | " in readme, name


def test_readme_has_the_copy_paste_commands_and_the_windows_task() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/python -m pip install . && .venv/bin/connector demo" in readme
    assert "pip install -e '.[dev]' && .venv/bin/python -m pytest -q" in readme
    assert "py -3.11 -m venv .venv; .\\.venv\\Scripts\\python.exe -m pip install .;" in readme
    assert ".\\.venv\\Scripts\\python.exe -m pytest -q" in readme
    schtasks = next(line for line in readme.splitlines() if line.startswith("schtasks /Create"))
    for part in ("/SC MINUTE", "/RU ", "/RP ", "pythonw.exe -m connector --config", " once"):
        assert part in schtasks
    for command in clidoc.subcommands(build_parser()):
        assert f"connector {command}" in readme, command
