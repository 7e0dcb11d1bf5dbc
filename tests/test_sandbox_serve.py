"""``serve()`` in a real child process, driven through the control API, stopped by SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from connector.sandbox import Fault, SandboxControl
from tests.test_sandbox_support import API_KEY, auth

CHILD = f"""
import logging, sys
from connector.sandbox import SandboxOptions, serve
from connector.sandbox.fixtures import make_catalog, make_orders
logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")
serve(SandboxOptions(api_key={API_KEY!r}, port=0), catalog=make_catalog(3), orders=make_orders(2))
"""


def wait_for_url(child: subprocess.Popen[str]) -> str:
    """The URL from the child's 'sandbox listening on ...' log line."""
    assert child.stderr is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = child.stderr.readline()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
        if not line and child.poll() is not None:
            break
    raise AssertionError("the sandbox child never reported its URL")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM semantics are POSIX")
def test_serve_in_another_process_until_sigterm() -> None:
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=root, stderr=subprocess.PIPE, text=True
    )
    try:
        url = wait_for_url(child)
        with httpx.Client(base_url=url, timeout=5) as client, SandboxControl(url) as control:
            assert client.get("/v2/products", params=auth()).json()["Total"] == 3
            assert [o["Id"] for o in client.get("/v2/orders", params=auth()).json()["Results"]] == [
                5001,
                5002,
            ]
            control.inject(Fault(kind="500", endpoint="GET /v2/orders"))
            assert client.get("/v2/orders", params=auth()).status_code == 500
            assert [r.status for r in control.requests] == [200, 200, 500]
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=10) == 0
        assert child.stderr is not None
        rest = child.stderr.read()
        assert "sandbox stopped" in rest
        assert API_KEY not in rest
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stderr is not None:
            child.stderr.close()
