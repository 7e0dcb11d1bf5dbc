"""Reading ahead while a file settles (``connector.readahead``; issue 14, the second ``once``).

The promise: a pass uses an export read ahead only for the very content it claims, and a file
whose read ahead killed the process is never read ahead again, so the intake's count of
attempts that died on a file still applies.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.config import Config, load_config
from connector.intake.ledger import sha256_of
from connector.intake.scan import Candidate, NameOrder, list_inbox
from connector.operator.scaffold import init_workspace
from connector.readahead import FOLDER, ReadAhead
from connector.readers import read_export
from connector.readers.mapping import load_mappings, match_mapping
from connector.sandbox.fixtures import make_catalog
from tests.conftest import write_config
from tests.products_support import PLAIN_MAPPING
from tests.workspace_support import fast_sandbox, run_cli, workspace

NO_ORDERS = "\n[orders]\nenabled = false\n"
Row = tuple[str, int, str]  # code, stock, price text (may be bad)


def offline_workspace(folder: Path) -> Config:
    """Folders and a products mapping; no HTTP is made here (the address is never called)."""
    init_workspace(folder)
    write_config(folder, "http://127.0.0.1:9", extra=NO_ORDERS)
    return plain_mapping(load_config(folder / "connector.toml"))


def plain_mapping(config: Config) -> Config:
    for path in config.folders.mappings.glob("*.toml"):
        if path.name != "orders.toml":
            path.unlink()
    (config.folders.mappings / "plain.toml").write_text(PLAIN_MAPPING, encoding="utf-8")
    return config


def export(rows: list[Row]) -> bytes:
    lines = ["Codigo;Stock;Precio", *(f"{code};{qty};{price}" for code, qty, price in rows)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def found(config: Config) -> list[Candidate]:
    listed = list_inbox(
        config.folders.inbox, config.intake.ignore, NameOrder(None, config.schedule.zone)
    )
    assert listed is not None
    return listed


rows = st.lists(
    st.tuples(
        st.sampled_from(["0000001", "0000002", "0000003", "", "X"]),
        st.integers(-3, 50),
        st.sampled_from(["1.000,50", "12,00", "abc", ""]),
    ),
    max_size=6,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(read=rows, claimed=rows, finished_first=st.booleans())
def test_the_export_used_is_always_the_claimed_content(
    tmp_path_factory: pytest.TempPathFactory,
    read: list[Row],
    claimed: list[Row],
    finished_first: bool,
) -> None:
    """Whatever was read ahead, and whenever the file changed, the pass works on what it
    claimed: the same table and rejects as a fresh read of that content."""
    folder = tmp_path_factory.mktemp("ahead")
    config = offline_workspace(folder)
    path = config.folders.inbox / "stock-1.csv"
    path.write_bytes(export(read))
    ahead = ReadAhead(config)
    ahead.start(found(config))
    if finished_first:
        ahead.wait()  # read to the end, then the ERP writes the file again
    path.write_bytes(export(claimed))  # the same content, or another
    mapping = match_mapping(path, load_mappings(config.folders.mappings))
    assert mapping is not None
    fresh = read_export(path, mapping)
    used = ahead.take(path, sha256_of(path), mapping) or read_export(path, mapping)
    ahead.close()
    pd.testing.assert_frame_equal(used.table, fresh.table)
    assert used.rejects == fresh.rejects
    lines = [reject.line for reject in fresh.rejects]
    assert used.originals(lines) == fresh.originals(lines)  # rows for the rejects report
    if finished_first and read == claimed:
        assert ahead.take(path, sha256_of(path), mapping) is None  # taken once, then dropped


def test_the_read_is_used_when_the_content_is_the_same(tmp_path: Path) -> None:
    config = offline_workspace(tmp_path)
    path = config.folders.inbox / "stock-1.csv"
    path.write_bytes(export([("0000001", 5, "10,00")]))
    ahead = ReadAhead(config)
    ahead.start(found(config))
    ahead.wait()  # the file settled after the read ended
    mapping = match_mapping(path, load_mappings(config.folders.mappings))
    taken = ahead.take(path, sha256_of(path), mapping)
    assert taken is not None and list(taken.table["sku"]) == ["0000001"]
    other = hashlib.sha256(b"another content").hexdigest()
    ahead.start(found(config))  # once per pass: a second start does nothing
    assert ahead.take(path, other, mapping) is None
    ahead.close()


def test_a_marker_left_by_a_dead_read_means_no_read_ahead(tmp_path: Path) -> None:
    config = offline_workspace(tmp_path)
    path = config.folders.inbox / "stock-1.csv"
    path.write_bytes(export([("0000001", 5, "10,00")]))
    first = ReadAhead(config)
    [candidate] = found(config)
    markers = config.folders.state / FOLDER
    markers.mkdir(parents=True)
    died = markers / f"{_key_of(first, candidate)}.txt"
    died.write_text("left by a run that died\n", encoding="utf-8")
    gone = markers / "0123456789abcdef01234567.txt"  # its file left the inbox: forgotten
    gone.write_text("an old file\n", encoding="utf-8")
    first.start([candidate])
    first.wait()
    mapping = match_mapping(path, load_mappings(config.folders.mappings))
    assert first.take(path, sha256_of(path), mapping) is None
    assert died.exists() and not gone.exists()


def _key_of(ahead: ReadAhead, candidate: Candidate) -> str:
    from connector.readahead import _key

    return _key(candidate)


def test_a_read_ahead_killed_twice_still_lets_the_file_through(tmp_path: Path) -> None:
    """SIGKILL at the read ahead, in two runs in a row: the first dies, the second does not read
    ahead (the marker) and processes the file; no attempt was counted against the file."""
    with fast_sandbox() as sb:
        sb.load_catalog(make_catalog(3))
        # The file waits 6 s to come of age: time for the read ahead to start before the claim.
        extra = "min_age_seconds = 6\nsettle_wait_seconds = 12\n" + NO_ORDERS
        config = plain_mapping(workspace(tmp_path, sb, extra=extra))
        path = config.folders.inbox / "stock-1.csv"
        path.write_bytes(export([("0000001", 7, "10,00")]))
        died = run_cli(config, "once", crash_at="readahead.reading")
        assert died.returncode == -9, died.stderr[-2000:]
        assert path.exists() and sb.updates("0000001") == 0
        assert len(list((config.folders.state / FOLDER).glob("*.txt"))) == 1
        again = run_cli(config, "once", crash_at="readahead.reading")
        assert again.returncode == 0, again.stderr[-2000:]
        assert not path.exists() and sb.updates("0000001") == 1
        with_claims = _ledger_attempts(config)
        assert with_claims == [1], with_claims  # the read ahead's death was not a claim
        path.write_bytes(export([("0000001", 8, "10,00")]))
        assert run_cli(config, "once").returncode == 0
        assert list((config.folders.state / FOLDER).glob("*.txt")) == []  # old marker forgotten
        assert sb.updates("0000001") == 2


def _ledger_attempts(config: Config) -> list[int]:
    from connector.db import connect

    conn = connect(config.db_path)
    try:
        return [int(r[0]) for r in conn.execute("SELECT attempts FROM intake_files ORDER BY id")]
    finally:
        conn.close()


def test_no_read_starts_ahead_once_the_file_is_claimed(tmp_path: Path) -> None:
    """A read after the claim is the ordinary, counted attempt: the thread must not start one."""
    config = offline_workspace(tmp_path)
    path = config.folders.inbox / "stock-1.csv"
    path.write_bytes(export([("0000001", 5, "10,00")]))
    gate = threading.Event()
    ahead = ReadAhead(config, warm_up=gate.wait)  # a slow warm-up: the claim comes first
    ahead.start(found(config))
    opener = threading.Timer(0.2, gate.set)
    opener.start()
    mapping = match_mapping(path, load_mappings(config.folders.mappings))
    assert ahead.take(path, sha256_of(path), mapping) is None
    ahead.close()
    opener.join()
    assert not (config.folders.state / FOLDER).exists()  # no read was marked, none started
