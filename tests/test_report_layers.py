"""The report and the alerts sit between operator and cli: nothing below imports them, the
report does not import the alerts, and neither imports cli."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "connector"


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def modules_importing(prefix: str) -> list[str]:
    return sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(name == prefix or name.startswith(prefix + ".") for name in imports(path))
    )


def test_report_and_alerts_are_imported_only_from_above() -> None:
    for name in modules_importing("connector.alerts"):
        assert name.startswith("alerts/") or name == "cli.py", name
    for name in modules_importing("connector.report"):
        assert name.startswith(("report/", "alerts/")) or name == "cli.py", name
    for name in modules_importing("connector.cli"):
        assert not name.startswith(("report/", "alerts/")), name
    assert "cli.py" in modules_importing("connector.alerts")  # the hook is wired
