"""``connector check --probe`` against both sandbox profiles; ``check`` when Alephee is
unreachable; ``connector sandbox`` says what it serves."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.sandbox.fixtures import make_catalog, make_orders
from tests.conftest import CANARY_KEY, write_config
from tests.test_sandbox_quirks import numeric_catalog
from tests.workspace_support import ROOT, fast_sandbox, run_cli, workspace


def probe_profile(tmp_path: Path, profile: str, products: int) -> tuple[str, dict[str, object]]:
    with fast_sandbox(profile=profile) as sb:
        numeric = min(50, products // 2)
        sb.load_catalog(numeric_catalog(numeric, plain=products - numeric))
        sb.add_orders(make_orders(3))
        config = workspace(tmp_path, sb)
        done = run_cli(config, "check", "--probe")
        path = config.folders.state / "api-profile.json"
        raw = path.read_bytes()
        assert CANARY_KEY.encode() not in raw
        assert b"API_KEY" not in raw.upper().replace(b"X-RATELIMIT", b"")
        return done.stdout, json.loads(raw)


def test_probe_on_the_realistic_sandbox_measures_the_short_pages(tmp_path: Path) -> None:
    out, profile = probe_profile(tmp_path, "realistic", 250)
    assert "products page cap: 100 per page (asked 1000, got 100, Paging.Limit said 1000" in out
    assert profile["products_page_cap"] == 100
    assert profile["sku_shapes"] == {"int": 50, "str": 50}
    dates = profile["date_shapes"]
    assert isinstance(dates, dict) and "no fraction, zone Z" in dates
    assert not any("3 fraction digits" in shape for shape in dates)
    headers = profile["rate_limit_headers"]
    assert isinstance(headers, dict) and "x-ratelimit-limit" in headers
    assert profile["status_codes"] == {"200": 3}
    assert CANARY_KEY not in out


def test_probe_on_the_kind_sandbox(tmp_path: Path) -> None:
    out, profile = probe_profile(tmp_path / "small", "kind", 250)
    assert profile["products_page_cap"] is None  # 250 of 250 in one page: nothing proven
    assert "not proven" in out
    assert profile["sku_shapes"] == {"str": 250}
    assert any("3 fraction digits" in shape for shape in profile["date_shapes"])  # type: ignore[union-attr]
    _, big = probe_profile(tmp_path / "big", "kind", 1200)
    assert big["products_page_cap"] == 1000


def test_the_measured_cap_is_used_from_then_on(tmp_path: Path) -> None:
    with fast_sandbox(profile="kind") as sb:
        sb.load_catalog(make_catalog(1200))
        config = workspace(tmp_path, sb, extra="[orders]\nenabled = false\n")
        before = run_cli(config, "once", "--refresh-catalog")
        assert before.returncode == 0, before.stderr
        limits = {r.query["limit"] for r in sb.requests if r.endpoint == "GET /v2/products"}
        assert limits == {"100"}  # the default until a larger page is proven
        assert run_cli(config, "check", "--probe").returncode in (0, 2)
        sb.reset_requests()
        after = run_cli(config, "once", "--refresh-catalog")
        assert after.returncode == 0, after.stderr
        gets = [r for r in sb.requests if r.endpoint == "GET /v2/products"]
        assert {r.query["limit"] for r in gets} == {"1000"} and len(gets) == 2


def test_check_with_alephee_unreachable_says_where_and_what_to_try(tmp_path: Path) -> None:
    config_path = write_config(tmp_path, "http://127.0.0.1:9/alephee?token=secret-thing")
    config_dir = config_path.parent
    for name in ("inbox", "outbox", "state", "archive", "failed", "mappings"):
        (config_dir / name).mkdir(exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(config_path), "check"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=config_dir,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    line = next(x for x in done.stdout.splitlines() if "cannot connect" in x)
    assert "cannot connect to http://127.0.0.1:9/alephee: " in line
    assert "refused" in line.lower()
    assert "proxy" in line and "firewall" in line and "base_url" in line
    assert "secret-thing" not in done.stdout and "pending work" not in done.stdout
    assert done.returncode == 2


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics are POSIX")
def test_connector_sandbox_says_what_it_serves() -> None:
    options = ["--port", "0", "--products", "7", "--orders", "3", "--quirk", "streak_429=off"]
    child = subprocess.Popen(
        [sys.executable, "-m", "connector", "sandbox", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("connector.toml" in x for x in lines):
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    text = "".join(lines)
    assert "API key:     sandbox-demo-key" in text
    assert "accounts:    1001 (price lists: 1 (Lista general))" in text
    assert "7 products, SKUs 0000001 to 0000007" in text
    assert "3 not integrated, ids 5001 to 5003" in text
    assert "profile:     realistic" in text and "streak_429" not in text
    assert "short_pages" in text and "docs/sandbox.md" in text
