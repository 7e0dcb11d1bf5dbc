"""The watcher: wakes on drops, survives the inbox vanishing, picks polling for shares, no leaks."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.config import IntakeSettings
from connector.intake.watcher import Watcher, choose_observer, mount_type
from tests.intake_support import drop

MOUNTS = (
    "/dev/sda1 / ext4 rw,relatime 0 0\n"
    "//erp/exports /mnt/erp\\040share cifs rw,vers=3.0 0 0\n"
    "nas:/vol/stock /srv/stock nfs4 rw 0 0\n"
    "tmpfs /srv/stock/cache tmpfs rw 0 0\n"
)


@pytest.fixture
def no_leaks() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.time() + 5
    while time.time() < deadline and set(threading.enumerate()) - before:
        time.sleep(0.05)
    assert set(threading.enumerate()) - before == set()


def drain(watcher: Watcher) -> None:
    while watcher.wait(0.3):
        pass


def woken_by_drop(watcher: Watcher, path: Path, within: float) -> float:
    drain(watcher)
    start = time.monotonic()
    drop(path, "sku;stock\n1;2\n", age=0)
    assert watcher.wait(within), f"not woken within {within} s"
    return time.monotonic() - start


@pytest.mark.parametrize("observer", ["native", "polling"])
def test_a_drop_wakes_the_loop_within_seconds(
    tmp_path: Path, observer: str, no_leaks: None
) -> None:
    settings = IntakeSettings.model_validate({"observer": observer})
    with Watcher(tmp_path, settings) as watcher:
        assert watcher.kind == observer and watcher.healthy
        assert woken_by_drop(watcher, tmp_path / "stock.csv", within=5) < 5


def test_wait_times_out_quietly_without_events(tmp_path: Path, no_leaks: None) -> None:
    with Watcher(tmp_path, IntakeSettings()) as watcher:
        drain(watcher)
        start = time.monotonic()
        assert watcher.wait(0.3) is False
        assert time.monotonic() - start >= 0.25


def test_reading_files_does_not_wake_the_loop(tmp_path: Path, no_leaks: None) -> None:
    path = drop(tmp_path / "stock.csv", "x" * 1000)
    path.read_bytes()  # a first read may update the access time (one event at most)
    with Watcher(tmp_path, IntakeSettings(observer="native")) as watcher:
        drain(watcher)
        for _ in range(5):
            path.read_bytes()  # what readiness and hashing do
        assert watcher.wait(0.5) is False


@pytest.mark.parametrize("observer", ["native", "polling"])
def test_survives_the_inbox_deleted_and_made_again(
    tmp_path: Path, observer: str, no_leaks: None
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    settings = IntakeSettings.model_validate({"observer": observer, "check_interval_seconds": 0.2})
    with Watcher(inbox, settings, health_interval=0.1) as watcher:
        shutil.rmtree(inbox)
        deadline = time.time() + 5
        while watcher.healthy and time.time() < deadline:
            time.sleep(0.05)
        assert not watcher.healthy  # an outage, noticed, not a crash
        time.sleep(0.5)
        inbox.mkdir()
        deadline = time.time() + 5
        while not watcher.healthy and time.time() < deadline:
            time.sleep(0.05)
        assert watcher.healthy
        assert woken_by_drop(watcher, inbox / "after outage.csv", within=5) < 5


def test_a_folder_replaced_under_the_same_name_is_watched_again(
    tmp_path: Path, no_leaks: None
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with Watcher(inbox, IntakeSettings(observer="native"), health_interval=0.1) as watcher:
        restarts = watcher.restarts
        inbox.rename(tmp_path / "old")
        inbox.mkdir()  # quicker than one health check: only the inode tells
        deadline = time.time() + 5
        while watcher.restarts == restarts and time.time() < deadline:
            time.sleep(0.05)
        assert watcher.restarts > restarts and watcher.healthy
        assert woken_by_drop(watcher, inbox / "x.csv", within=5) < 5


def test_polling_is_chosen_for_unc_paths_and_network_mounts() -> None:
    assert choose_observer(r"\\server\share\inbox", "auto") == "polling"
    assert choose_observer("//server/share/inbox", "auto") == "polling"
    assert choose_observer("/mnt/erp share/inbox", "auto", mounts=MOUNTS) == "polling"
    assert choose_observer("/srv/stock", "auto", mounts=MOUNTS) == "polling"
    assert choose_observer("/srv/stock/cache/x", "auto", mounts=MOUNTS) == "native"
    assert choose_observer("/srv/stockpile", "auto", mounts=MOUNTS) == "native"
    assert choose_observer("/home/erp/inbox", "auto", mounts=MOUNTS) == "native"
    assert choose_observer("/home/erp/inbox", "polling", mounts=MOUNTS) == "polling"
    assert choose_observer("/mnt/erp share/inbox", "native", mounts=MOUNTS) == "native"
    assert mount_type(Path("/mnt/erp share/x"), MOUNTS) == "cifs"


def test_an_unreachable_unc_inbox_is_retried_without_crashing(no_leaks: None) -> None:
    watcher = Watcher(Path(r"\\server\share\inbox"), IntakeSettings(), health_interval=0.05)
    assert watcher.kind == "polling"
    watcher.start()
    try:
        time.sleep(0.3)
        assert not watcher.healthy
        assert watcher.wait(0.1) is False
    finally:
        watcher.stop()


def test_start_and_stop_repeatedly_leave_no_threads(tmp_path: Path, no_leaks: None) -> None:
    for observer in ("native", "polling", "native"):
        settings = IntakeSettings.model_validate({"observer": observer})
        watcher = Watcher(tmp_path, settings, health_interval=0.05)
        watcher.start()
        watcher.start()  # idempotent
        time.sleep(0.1)
        watcher.stop()
        watcher.stop()
        assert not watcher.healthy
