"""The tree shows the pipeline: imports point down the data path, never up or sideways.

Ranks, lowest first (docs/architecture.md draws them): the shared ground at the top of
``connector/``; the stages that touch the outside (intake, readers, alephee, outbox, sandbox);
the two data paths (products, orders); the dry run; the runner; the operator's commands; the
CLI. A module may import its own package and anything of a lower rank, nothing else.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "connector"

GROUND = {
    "__init__", "cells", "clock", "config", "contain", "db", "errors", "fsutil", "logs", "progress",
    "redact", "runlog", "slots",
}  # fmt: skip
RANKS = {
    **dict.fromkeys(GROUND, 0),
    **dict.fromkeys(("intake", "readers", "alephee", "outbox", "sandbox"), 1),
    **dict.fromkeys(("products", "orders", "shipping", "documents"), 2),
    **dict.fromkeys(("dryrun", "readahead"), 3),  # readahead: the runner's head start
    "runner": 4,
    "operator": 5,
    "report": 6,  # the run report reads what every stage wrote
    "alerts": 7,  # alerts use the report's list of problems
    "cli": 8,
    **dict.fromkeys(("clidoc", "__main__"), 9),  # they start or document the CLI
}


def unit_of(module: str) -> str:
    """'connector.products.sync' -> 'products'; 'connector.config' -> 'config'."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    named = PACKAGE / parts[1]
    exists = named.is_dir() or named.with_suffix(".py").is_file()
    return parts[1] if exists else "__init__"  # a name defined in connector/__init__.py


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every ``connector.*`` module a file imports, at any depth (functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("connector")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "connector":
                found += [(node.lineno, f"connector.{a.name}") for a in node.names]
            elif node.module.startswith("connector."):
                found.append((node.lineno, node.module))
    return found


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def violations() -> list[str]:
    wrong = []
    for path in sources():
        here = unit_of(module_name(path))
        for line, target in imports_of(path):
            there = unit_of(target)
            if there == here or (here in GROUND and there in GROUND):
                continue
            if RANKS[there] >= RANKS[here]:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} imports {target}: "
                    f"{here} (rank {RANKS[here]}) may only import lower ranks, "
                    f"{there} is rank {RANKS[there]}"
                )
    return wrong


def test_every_module_belongs_to_a_ranked_unit() -> None:
    units = {unit_of(module_name(p)) for p in sources()}
    assert units - RANKS.keys() == set(), "add the new package to RANKS and docs/architecture.md"


def test_imports_point_down_the_data_path() -> None:
    assert violations() == []


def test_every_package_says_what_it_owns_and_may_import() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "import" in doc.lower(), f"{init.relative_to(ROOT)}: say what it may import"


@pytest.mark.parametrize(
    ("importer", "target", "allowed"),
    [
        ("connector/products/sync.py", "connector.orders.ledger", False),  # sideways
        ("connector/readers/csv.py", "connector.products.diff", False),  # upwards
        ("connector/runner.py", "connector.operator.status", False),  # upwards
        ("connector/runner.py", "connector.products.sync", True),  # down the path
        ("connector/slots.py", "connector.config", True),  # within the ground
    ],
)
def test_the_rule_itself(importer: str, target: str, allowed: bool) -> None:
    here, there = unit_of(module_name(ROOT / importer)), unit_of(target)
    ok = there == here or (here in GROUND and there in GROUND) or RANKS[there] < RANKS[here]
    assert ok is allowed
