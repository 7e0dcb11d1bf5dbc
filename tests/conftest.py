"""Shared fixtures: a clean environment, a canary API key, the sandbox, a workspace."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.logs import LOG_FORMAT
from connector.redact import MASK, RedactingFormatter, redact

CANARY_KEY = "CANARY-7f3a9c1e-KEY-d41d8cd98f00"
ACCOUNT = 1001


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's ALEPHEE_* variables or a proxy."""
    for name in list(os.environ):
        if (
            name.startswith("ALEPHEE_")
            or name.lower().endswith("_proxy")
            or name == "CONNECTOR_CRASH_AT"
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def debug_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every logger at DEBUG, so the canary check sees everything that could leak."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    # caplog.records would only hold the teardown phase here: take every phase so far. What is
    # checked is what the connector's own handlers write: the record through its formatter.
    leaks = leaked_records(caplog.get_records("setup") + caplog.get_records("call"))
    assert leaks == [], f"API key leaked into log records of: {leaks}"


def leaked_records(records: list[logging.LogRecord]) -> list[str]:
    """The loggers whose records, as the connector's handlers would write them, hold the key."""
    formatter = RedactingFormatter(LOG_FORMAT)
    return [r.name for r in records if CANARY_KEY in formatter.format(r)]


# Test modules whose outcome depends on the time of day or the date: CI runs them again with the
# clock moved into the night slot and a year ahead (faketime in .ci/run).
CLOCK_MODULES = {
    "test_slots",
    "test_sync",
    "test_operator_status",
    "test_operator_dryrun",
    "test_orders_cycle",
    "test_cli_commands",
    "test_sandbox_orders",
    "test_orders_model",
    "test_orders_not_found",
    "test_orders_cancelled",
    "test_shipping",
    "test_alerts",
    "test_report_problems",
}
LOG_DIR = Path(__file__).resolve().parent.parent / "test-logs"
TAIL = 15


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in CLOCK_MODULES:
            item.add_marker(pytest.mark.clock)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failure shows its assertion, then the last log lines; the whole log goes to a file."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if not report.failed:
        return
    logs = [(title, text) for title, text in report.sections if title.startswith("Captured log")]
    if not logs:
        return
    LOG_DIR.mkdir(exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", item.nodeid)[-150:]
    path = LOG_DIR / f"{name}-{report.when}.log"
    text = redact("\n".join(f"== {title}\n{body}" for title, body in logs))
    text = text.replace(CANARY_KEY, MASK)  # pytest's own log text is not redacted
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    kept = [(t, b) for t, b in report.sections if not t.startswith("Captured log")]
    summary = f"{len(lines)} lines in {path}; the last {TAIL}:\n" + "\n".join(lines[-TAIL:])
    report.sections = [*kept, ("Captured log (tail)", summary)]


def write_config(folder: Path, base_url: str, *, key: str = CANARY_KEY, extra: str = "") -> Path:
    """A connector.toml for tests: fast intake, sandbox URL, the canary key.

    ``extra`` continues the [intake] table (its keys replace the defaults here) and may open
    further tables.
    """
    intake = {
        "min_age_seconds": "0",
        "stable_checks": "1",
        "check_interval_seconds": "0.05",
        "incomplete_grace_seconds": "0",
    }
    given = {line.split("=")[0].strip() for line in extra.splitlines() if "=" in line}
    defaults = "\n".join(f"{k} = {v}" for k, v in intake.items() if k not in given)
    path = folder / "connector.toml"
    path.write_text(
        f"""
[alephee]
base_url = "{base_url}"
api_key = "{key}"
account_id = {ACCOUNT}

[retry]
base_seconds = 0.01
max_wait_seconds = 0.05
budget_seconds = 30

[intake]
{defaults}
{extra}
""",
        encoding="utf-8",
    )
    return path


def _files_with_canary(root: Path) -> list[Path]:
    needle = CANARY_KEY.encode()
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 200_000_000:
            with open(path, "rb") as handle:
                if needle in handle.read():
                    found.append(path)
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After every test: no file written anywhere under the test temp folders holds the key.

    conftest writes the key into test connector.toml files on purpose (that is where an operator
    may put it), so those are the only files allowed to hold it.
    """
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    root = factory.getbasetemp()
    leaks = [p for p in _files_with_canary(root) if p.name != "connector.toml"]
    if leaks:
        session.exitstatus = 1
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"API KEY LEAKED into files: {leaks[:10]}", red=True)
