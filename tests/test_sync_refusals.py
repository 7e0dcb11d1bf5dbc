"""Refusals: request-level errors are not item refusals; refusals come back when their cause
may have gone; the refusals report is as durable as the refusal (real SIGKILLs)."""

from __future__ import annotations

import io
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from connector.config import Config, load_config
from connector.operator.status import collect, render
from connector.products.snapshot import SEED_AS_OF
from connector.report import gather
from connector.runner import Options, once
from connector.sandbox import Sandbox
from connector.sandbox.fixtures import make_catalog
from connector.sandbox.quirks import Quirks
from connector.slots import iso
from tests.test_sync import export, setup
from tests.workspace_support import fast_sandbox, outbox_rows, run_cli

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 12:00 in Buenos Aires: a day slot
POISON = "0000017"


def rows(n: int, bump: int = 0) -> list[tuple[str, int, float]]:
    return [(f"{i:07d}", 10 + i % 40 + bump, 1000 + i * 1.25) for i in range(1, n + 1)]


def edit_config(config: Config, **alephee: object) -> Config:
    """Set keys of [alephee] (tests' connector.toml opens it first)."""
    path = config.source
    kept = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split("=")[0].strip() not in alephee
    ]
    text = "\n".join(kept)
    lines = "".join(f"\n{key} = {value}" for key, value in alephee.items())
    path.write_text(text.replace("account_id = 1001", "account_id = 1001" + lines, 1), "utf-8")
    return load_config(path)


def run(config: Config, at: datetime = NOW) -> int:
    code, _ = once(config, Options(progress=False, now=lambda: at, orders=False))
    return code


def post_calls(sb: Sandbox) -> list[int]:
    return [r.status for r in sb.requests if r.endpoint == "POST /v2/products"]


def db(config: Config) -> sqlite3.Connection:
    conn = sqlite3.connect(config.db_path)
    conn.row_factory = sqlite3.Row
    return conn


def counts(config: Config) -> tuple[int, int, int]:
    """(accepted, refused, queued); accepted counts acknowledged products, not values seeded
    from the catalog on first contact (``snapshot.SEED_AS_OF``)."""
    acknowledged = "accepted WHERE COALESCE(stock_as_of, '') > ? OR COALESCE(price_as_of, '') > ?"
    with db(config) as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(f"SELECT COUNT(*) FROM {table}", params).fetchone()[0]
            for table, params in (
                (acknowledged, (SEED_AS_OF, SEED_AS_OF)),
                ("refused", ()),
                ("queue", ()),
            )
        )


def workspace_with(tmp_path: Path, sb: Sandbox, n: int = 40) -> Config:
    sb.load_catalog(make_catalog(n))
    config = setup(tmp_path, sb)
    (config.folders.inbox / "stock-1.csv").write_bytes(export(rows(n)))
    return config


def test_a_whole_request_400_refuses_nothing_and_keeps_the_work(tmp_path: Path) -> None:
    with fast_sandbox() as sb:
        config = edit_config(workspace_with(tmp_path, sb), price_list_id=2)  # not in Alephee
        assert run(config) == 3
        calls = post_calls(sb)
        assert counts(config) == (0, 0, 80)  # stock and price of 40 SKUs, all still queued
        assert not list(config.folders.outbox.glob("rejects-alephee-*"))
        with db(config) as conn:
            message = conn.execute("SELECT message FROM runs ORDER BY id DESC").fetchone()[0]
        assert "whole request" in message and "lista de precios 2" in message.lower()
        print(f"whole-request 400 for 40 SKUs: {len(calls)} calls (was 79)")
        assert len(calls) == 2 and set(calls) == {400}  # the batch, then an empty one

        config = edit_config(config, price_list_id=1)  # the cause fixed
        assert run(config, NOW + timedelta(minutes=15)) == 0
        assert counts(config) == (40, 0, 0)


def test_when_an_empty_batch_proves_nothing_halves_and_single_items_decide(
    tmp_path: Path,
) -> None:
    with fast_sandbox(refuse_empty_batch=True) as sb:
        config = edit_config(workspace_with(tmp_path, sb), price_list_id=2)
        assert run(config) == 3
        calls = post_calls(sb)
        print(f"whole-request 400, empty batch refused otherwise: {len(calls)} calls")
        assert len(calls) == 6 and counts(config) == (0, 0, 80)
    with fast_sandbox(refuse_empty_batch=True, batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path / "item", sb)
        assert run(config) == 1
        assert counts(config) == (39, 2, 2)


@settings(max_examples=6, deadline=None)
@given(st.sets(st.integers(1, 24), max_size=4), st.booleans())
def test_bad_items_are_refused_exactly_and_the_rest_accepted(
    bad: set[int], empty_refused: bool
) -> None:
    poison = tuple(f"{i:07d}" for i in sorted(bad))
    with (
        tempfile.TemporaryDirectory() as folder,
        fast_sandbox(batch_poison_skus=poison, refuse_empty_batch=empty_refused) as sb,
    ):
        config = workspace_with(Path(folder), sb, n=24)
        code = run(config)
        with db(config) as conn:
            refused = {r[0] for r in conn.execute("SELECT DISTINCT sku FROM refused")}
        if code == 3:  # only without the empty-batch answer: bad items where the probes fell
            assert empty_refused and len(bad) >= 2 and not refused
        else:
            assert refused == set(poison)
            assert counts(config)[0] == 24 - len(bad)


def test_one_bad_item_is_found_with_few_calls(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
        calls = post_calls(sb)
        print(f"one bad item among 40: {len(calls)} calls")
        assert len(calls) <= 13
        assert counts(config) == (39, 2, 2)  # its stock and price wait for their retry
        report = outbox_rows(config, "rejects-alephee")
        assert [r["sku"] for r in report] == [POISON, POISON]
        assert all("inválidos" in r["Alephee says"] for r in report)


def test_a_refusal_is_retried_after_the_configured_time(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
        sb.options.batch_poison_skus = ()  # the cause goes away in Alephee
        sb.reset_requests()
        assert run(config, NOW + timedelta(hours=23)) == 0
        assert post_calls(sb) == []  # not yet
        assert run(config, NOW + timedelta(hours=24, minutes=1)) == 0
        assert post_calls(sb) == [200]
        assert counts(config) == (40, 0, 0)
        assert len(outbox_rows(config, "rejects-alephee")) == 2  # reported once


def test_status_shows_held_refusals_apart_from_deferred_changes(tmp_path: Path) -> None:
    """A refused value waiting for its retry is not a change waiting for its slot: status and
    the report count it apart, and the "changes waiting too long" alert does not count it (the
    refusal has its own)."""
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
    later = NOW + timedelta(hours=12)
    report = collect(config, days=1, now=later)
    queue = report["queue"]
    assert (queue["due"], queue["deferred"], queue["held_refused"]) == (0, 0, 2)
    assert queue["held_by_group"] == {"stock": 1, "price": 1}
    assert queue["upcoming"] == [] and queue["missed_night"] == 0
    assert queue["next_retry_at"] == iso(NOW + timedelta(hours=24))
    buffer = io.StringIO()
    render(report, config, Console(file=buffer, width=160, color_system=None))
    text = buffer.getvalue()
    assert "refused, held" in text and "retried from 2026-11-24 12:00" in text
    assert "deferred" not in text.split("Changes waiting")[1].split("Files")[0]
    facts = gather(db(config), config, NOW + timedelta(hours=30))
    assert facts.old_deferred[0] == 0  # the refusal is not a change waiting too long


def test_a_refusal_repeated_on_retry_is_not_reported_again(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
        assert run(config, NOW + timedelta(hours=25)) == 1
        assert counts(config) == (39, 2, 2)
        assert len(outbox_rows(config, "rejects-alephee")) == 2


def test_a_settings_change_retries_refusals_at_once(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
        sb.options.batch_poison_skus = ()
        config = edit_config(config, price_list_id=1)
        assert run(config, NOW + timedelta(minutes=15)) == 0
        assert counts(config) == (40, 0, 0)


def test_retry_refused_command(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=(POISON,)) as sb:
        config = workspace_with(tmp_path, sb)
        assert run(config) == 1
        sb.options.batch_poison_skus = ()
        done = run_cli(config, "retry-refused", POISON, "NOPE-9")
        assert done.returncode == 0, done.stderr
        assert "Not refused (nothing to retry): NOPE-9" in done.stdout
        assert "2 refused change(s) are due now" in done.stdout
        assert run(config, NOW + timedelta(minutes=15)) == 0
        assert counts(config) == (40, 0, 0)


def test_the_refusals_report_survives_a_kill_after_the_refusal(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=("0000003",)) as sb:
        config = edit_config(workspace_with(tmp_path, sb, n=3), batch_size=1)
        # batches of one: 0000001 and 0000002 accepted, 0000003 refused (commit 3): killed
        # there, the last batch, so the next run has nothing to send and must still report it
        crashed = run_cli(config, "once", "--no-orders", crash_at="sync.after_commit@3")
        assert crashed.returncode in (-9, 137), crashed.stderr
        assert not list(config.folders.outbox.glob("rejects-alephee-*"))
        with db(config) as conn:
            assert conn.execute("SELECT COUNT(*) FROM refusal_lines").fetchone()[0] == 2
        sb.reset_requests()
        again = run_cli(config, "once", "--no-orders")
        assert again.returncode == 0, again.stderr
        report = outbox_rows(config, "rejects-alephee")
        assert [r["sku"] for r in report] == ["0000003", "0000003"]
        assert not [r for r in sb.requests if r.endpoint == "POST /v2/products"]


def test_a_kill_after_writing_the_report_does_not_write_it_twice(tmp_path: Path) -> None:
    with fast_sandbox(batch_poison_skus=("0000002",)) as sb:
        config = edit_config(workspace_with(tmp_path, sb, n=3), batch_size=1)
        crashed = run_cli(config, "once", "--no-orders", crash_at="refusals.after_report")
        assert crashed.returncode in (-9, 137), crashed.stderr
        assert len(list(config.folders.outbox.glob("rejects-alephee-*"))) == 1
        again = run_cli(config, "once", "--no-orders")
        assert again.returncode == 0, again.stderr
        assert len(list(config.folders.outbox.glob("rejects-alephee-*"))) == 1
        with db(config) as conn:
            assert conn.execute("SELECT COUNT(*) FROM refusal_lines").fetchone()[0] == 0


def test_a_refusal_the_list_does_not_name_is_found_by_the_counts(tmp_path: Path) -> None:
    quirks = Quirks.profile("realistic").with_switches({"unnamed_errors": True})
    with fast_sandbox(quirks=quirks) as sb:
        sb.load_catalog(make_catalog(40))
        config = setup(tmp_path, sb)
        once(config, Options(progress=False, now=lambda: NOW, orders=False, refresh_catalog=True))
        # the product goes away in Alephee after the connector downloaded the catalog
        sb.load_catalog(
            [p for p in make_catalog(40) if p["Identification"]["SKU"] != POISON], replace=True
        )
        (config.folders.inbox / "stock-1.csv").write_bytes(export(rows(40)))
        assert run(config) == 1
        calls = post_calls(sb)
        print(f"one refusal the list leaves out, among 40: {len(calls)} calls")
        assert len(calls) <= 14
        assert counts(config) == (39, 2, 2)
        report = outbox_rows(config, "rejects-alephee")
        assert {r["sku"] for r in report} == {POISON}
        # alone, nothing of it applied: a 412 that names it (no level) gives Alephee's reason
        assert all("producto" in r["Alephee says"] for r in report)
