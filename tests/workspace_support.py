"""A real workspace (config, folders, mappings) pointed at a sandbox, and ways to run it."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from connector.config import Config, load_config
from connector.operator.scaffold import init_workspace
from connector.sandbox import Sandbox, SandboxOptions
from tests.conftest import ACCOUNT, CANARY_KEY, write_config

ROOT = Path(__file__).resolve().parent.parent


def fast_sandbox(**extra: object) -> Sandbox:
    opts = SandboxOptions(
        api_key=CANARY_KEY, account_id=ACCOUNT, rate_per_minute=100_000, burst=100_000, **extra
    )  # type: ignore[arg-type]
    return Sandbox(opts).start()


def workspace(folder: Path, sb: Sandbox, extra: str = "") -> Config:
    init_workspace(folder)
    write_config(folder, sb.url, extra=extra)
    return load_config(folder / "connector.toml")


def run_cli(
    config: Config, *args: str, crash_at: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    env.pop("CONNECTOR_CRASH_AT", None)
    if crash_at:
        env["CONNECTOR_CRASH_AT"] = crash_at
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config.source), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(config.source.parent),
    )


def read_csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 BOM"
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle, delimiter=";"))


def outbox_rows(config: Config, prefix: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(config.folders.outbox.glob(f"{prefix}-*.csv")):
        header, *body = read_csv_rows(path)
        rows.extend(dict(zip(header, line, strict=True)) for line in body)
    return rows
