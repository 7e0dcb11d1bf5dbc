"""A failing test shows its assertion first and only the tail of its log; the whole log goes to
test-logs/, with the API key masked (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CANARY_KEY

ROOT = Path(__file__).resolve().parent.parent
NOISY = """
import logging

from tests.conftest import CANARY_KEY


def test_noisy():
    log = logging.getLogger("connector.noise")
    for i in range(300):
        log.debug("noise line %d", i)
    log.info("GET http://127.0.0.1/v2/products?API_KEY=%s&accountId=1", CANARY_KEY)
    assert 1 == 2
"""


def test_a_failing_test_shows_its_assertion_before_a_short_log_tail(tmp_path: Path) -> None:
    # The project's conftest as a plugin (a copy would be a file holding the canary key).
    (tmp_path / "test_noisy.py").write_text(NOISY, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = ["-q", "-p", "no:cacheprovider", "-p", "tests.conftest", "test_noisy.py"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    out = done.stdout
    assert done.returncode == 1, out[-2000:]
    assert out.index("assert 1 == 2") < out.index("Captured log (tail)")
    assert out.count("noise line") <= 15  # the tail only, not 300 lines
    logs = list((ROOT / "test-logs").glob("test_noisy.py_test_noisy-call.log"))
    assert len(logs) == 1, out[-2000:]
    text = logs[0].read_text(encoding="utf-8")
    logs[0].unlink()
    assert text.count("noise line") == 300
    assert "API_KEY=***" in text and CANARY_KEY not in text
    tail = out[out.index("Captured log (tail)") :]  # (the source pytest shows holds the key)
    assert CANARY_KEY not in tail
