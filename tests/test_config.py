"""Configuration: env overrides, relative paths, and plain one-line-per-problem errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import main
from connector.config import load_config
from connector.errors import ConfigError
from tests.conftest import CANARY_KEY, write_config


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    config = load_config(path)
    assert config.folders.inbox == tmp_path / "inbox"
    assert config.db_path == tmp_path / "state" / "connector.db"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    monkeypatch.setenv("ALEPHEE_BASE_URL", "http://127.0.0.1:5555")
    monkeypatch.setenv("ALEPHEE_ACCOUNT_ID", "77")
    monkeypatch.setenv("ALEPHEE_PRICE_LIST_ID", "3")
    monkeypatch.setenv("ALEPHEE_API_KEY", "other-key-123")
    config = load_config(path)
    assert str(config.alephee.base_url).startswith("http://127.0.0.1:5555")
    assert config.alephee.account_id == 77
    assert config.alephee.price_list_id == 3
    assert config.alephee.api_key.get_secret_value() == "other-key-123"
    assert "other-key-123" not in repr(config)


def connector_cli(path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    return subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **env},
    )


def test_a_bad_environment_value_names_the_variable_not_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    done = connector_cli(path, "status", ALEPHEE_ACCOUNT_ID="12a", ALEPHEE_PRICE_LIST_ID="0")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "Configuration problem:"  # not "in connector.toml": the file is fine
    assert any(
        line.startswith("  - ALEPHEE_ACCOUNT_ID (environment variable; it overrides ")
        and "alephee.account_id in connector.toml" in line
        for line in lines
    ), done.stderr
    assert any(
        line.startswith("  - ALEPHEE_PRICE_LIST_ID (environment variable): ") for line in lines
    )


def test_a_value_missing_from_file_and_environment_names_both(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text("[alephee]\naccount_id = 0\n", encoding="utf-8")
    done = connector_cli(path, "status")
    assert done.returncode == 2
    assert f"Configuration problem in {path}:" in done.stderr
    assert (
        "alephee.account_id (in connector.toml; ALEPHEE_ACCOUNT_ID is not set in this "
        "environment): Input should be greater than 0" in done.stderr
    )


def test_check_says_which_value_wins_when_both_are_set(tmp_path: Path) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    done = connector_cli(path, "check", ALEPHEE_ACCOUNT_ID="1001", ALEPHEE_PRICE_LIST_ID="3")
    out = done.stdout
    assert (
        "NOTE     ALEPHEE_ACCOUNT_ID is set in the environment: it is used, and "
        "alephee.account_id in connector.toml is ignored" in out
    ), out
    assert (
        "NOTE     alephee.price_list_id comes from the environment variable ALEPHEE_PRICE_LIST_ID"
        in out
    )


BROKEN = """
[alephee]
base_url = "not a url"
api_key = "k-123456"
colour = "blue"

[retry]
max_attempts = "many"
"""


def test_broken_config_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert (
        "alephee.account_id (in connector.toml; ALEPHEE_ACCOUNT_ID is not set in this "
        "environment): is required" in text
    )
    assert "alephee.base_url" in text
    assert "alephee.colour: unknown key" in text
    assert "retry.max_attempts" in text
    assert len(caught.value.problems) == 4


def test_cli_exits_2_with_one_line_per_problem_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "connector.toml"
    path.write_text(BROKEN, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "connector", "--config", str(path), "once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    problem_lines = [line for line in proc.stderr.splitlines() if line.startswith("  - ")]
    assert len(problem_lines) == 4, proc.stderr[-2000:]


def test_missing_file_and_bad_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "once"]) == 2
    assert "connector init" in capsys.readouterr().err
    bad = tmp_path / "connector.toml"
    bad.write_text("[alephee\n", encoding="utf-8")
    assert main(["--config", str(bad), "once"]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_empty_key_is_a_problem_and_a_key_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9", key="")
    assert main(["--config", str(path), "once"]) == 2
    err = capsys.readouterr().err
    assert "ALEPHEE_API_KEY" in err
    path = write_config(tmp_path, "bad url", key=CANARY_KEY)
    assert main(["--config", str(path), "once"]) == 2
    assert CANARY_KEY not in capsys.readouterr().err


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("init", "run", "once", "status", "check", "sandbox", "demo"):
        assert command in out
