"""Alerts: the once-per-interval rule over generated sequences (hypothesis), and real runs
that mail a local SMTP server and post to a local webhook: the right alerts, once per
interval, an all clear, and no key or password in anything sent."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connector.alerts import after_pass
from connector.alerts.delivery import send_mail
from connector.alerts.message import Message
from connector.alerts.rules import Decision, Remembered, decide
from connector.config import AlertSettings, Config, load_config
from connector.logs import LOG_FORMAT
from connector.operator.scaffold import init_workspace
from connector.redact import RedactingFormatter
from connector.report.problems import CONDITIONS, Problem
from connector.runner import Options, once
from tests.alert_support import free_port, self_signed, smtp_server, webhook_receiver
from tests.conftest import CANARY_KEY, write_config
from tests.operator_support import MAPPING, catalog_rows, drop, export
from tests.workspace_support import fast_sandbox

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
INTERVAL = timedelta(hours=12)
PASSWORD = "SMTP-CANARY-PW-5e1b9"

# -- the rule, over generated sequences --------------------------------------------------------

STEP = st.tuples(
    st.frozensets(st.sampled_from(CONDITIONS)),  # the conditions active at this evaluation
    st.integers(min_value=-3 * 3600, max_value=30 * 3600),  # clock move since the last one
    st.booleans(),  # did the message go out?
)


def problem(key: str, at: datetime) -> Problem:
    return Problem(key, "warning", at, f"{key} happened", "do something")


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(STEP, max_size=40))
def test_one_alert_per_condition_per_interval_and_one_all_clear(
    steps: list[tuple[frozenset[str], int, bool]],
) -> None:
    state: dict[str, Remembered] = {}
    now = T0
    sent: dict[str, list[datetime]] = {key: [] for key in CONDITIONS}
    told: dict[str, bool] = dict.fromkeys(CONDITIONS, False)  # a problem told, not yet cleared
    for active, move, delivered in steps:
        now += timedelta(seconds=move)
        decision = decide(state, [problem(k, now) for k in sorted(active)], now, INTERVAL)
        _check_decision(decision, state, active, now, sent)
        if not delivered and decision.anything:
            continue  # delivery failed: nothing remembered, the next run decides again
        for p in decision.alerts:
            sent[p.key].append(now)
            told[p.key] = True
        for key in decision.cleared:
            assert told[key], f"all clear for {key} without a told problem"
            told[key] = False
        state = decision.state
    for key, times in sent.items():
        assert all(b - a >= INTERVAL for a, b in pairwise(times)), key


def _check_decision(
    decision: Decision,
    state: dict[str, Remembered],
    active: frozenset[str],
    now: datetime,
    sent: dict[str, list[datetime]],
) -> None:
    alerted = {p.key for p in decision.alerts}
    assert alerted <= active
    assert not set(decision.cleared) & active
    for key in active:
        last = state.get(key, Remembered()).last_sent
        due = last is None or now - last >= INTERVAL
        assert (key in alerted) == due, (key, last, now)  # never late, never early
    for key in set(CONDITIONS) - active:
        before = state.get(key, Remembered())
        assert (key in decision.cleared) == (before.active and before.notified)


# -- real runs, real receivers -----------------------------------------------------------------


def site(folder: Path, alephee_url: str, smtp_port: int, hook_url: str) -> Config:
    init_workspace(folder)
    alerts = (
        "\n[alerts]\nsmtp_host = \"127.0.0.1\"\n"
        f"smtp_port = {smtp_port}\nsmtp_security = \"none\"\nsmtp_user = \"connector\"\n"
        f"mail_to = [\"it@example.com\"]\nwebhook_url = \"{hook_url}\"\nrepeat_hours = 12\n"
    )
    write_config(folder, alephee_url, extra=alerts)
    for path in (folder / "mappings").glob("*.toml"):
        if path.name != "orders.toml":
            path.unlink()
    (folder / "mappings" / "erp-stock.toml").write_text(MAPPING, encoding="utf-8")
    return load_config(folder / "connector.toml")


def run_at(config: Config, at: datetime) -> int:
    options = Options(progress=False, now=lambda: at, sleep=lambda _: None)
    options.after_pass = lambda conn: after_pass(config, conn, at)
    code, _ = once(config, options)
    return code


def test_alerts_reach_mail_and_webhook_once_per_interval_then_all_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("CONNECTOR_SMTP_PASSWORD", PASSWORD)
    alephee_port = free_port()  # nothing listens there yet: Alephee is down
    with smtp_server("connector", PASSWORD) as (box, smtp_port), webhook_receiver() as hook:
        config = site(tmp_path / "site", f"http://127.0.0.1:{alephee_port}", smtp_port, hook.url)
        assert run_at(config, T0) == 3
        assert len(box.mails) == len(hook.posts) == 1
        first = box.mails[0]
        assert "terminó con código 3" in str(first["Subject"])
        body = first.get_body(preferencelist=("plain",))
        assert body is not None
        text = body.get_content()
        assert "Qué hacer: revise la red" in text and "desde el 23/11/2026 12:00" in text
        attached = [part.get_filename() for part in first.iter_attachments()]
        assert attached == ["report.html"]
        post = hook.posts[0]
        assert post["text"] == text.replace("\r\n", "\n").rstrip("\n") or post["text"] in text
        assert post["alerts"][0]["condition"] == "run_failed"
        assert post["alerts"][0]["state"] == "problem"
        assert post["report"] == str(config.report_path)
        assert box.logins == [("connector", PASSWORD)]

        assert run_at(config, T0 + timedelta(hours=1)) == 3  # same outage: no second alert
        assert len(box.mails) == len(hook.posts) == 1
        assert run_at(config, T0 + timedelta(hours=13)) == 3  # an interval later: a reminder
        assert len(box.mails) == len(hook.posts) == 2

        with fast_sandbox(port=alephee_port):  # Alephee is back; a bad file arrives meanwhile
            bad = export(catalog_rows(2)).replace(b"Stock", b"Existencias")
            drop(config, "stock-bad.csv", bad)
            assert run_at(config, T0 + timedelta(hours=14)) == 1
            assert len(box.mails) == len(hook.posts) == 3
            states = {a["condition"]: a["state"] for a in hook.posts[2]["alerts"]}
            assert states == {"run_failed": "resolved", "files_failed": "problem"}
            assert "Resuelto: las ejecuciones vuelven" in hook.posts[2]["text"]
            assert "stock-bad.csv" in hook.posts[2]["text"]

            for path in config.folders.failed.iterdir():  # the operator deals with it
                path.unlink()
            assert run_at(config, T0 + timedelta(hours=15)) == 0
            assert len(box.mails) == len(hook.posts) == 4
            assert hook.posts[3]["alerts"] == [
                {
                    "condition": "files_failed",
                    "state": "resolved",
                    "what": "Resuelto: no queda ningún archivo con error en failed/.",
                }
            ]
            assert run_at(config, T0 + timedelta(hours=40)) == 0  # all quiet: nothing more
            assert len(box.mails) == 4
    sent = b"".join(box.raw) + b"".join(hook.bodies) + config.report_path.read_bytes()
    logged = written_log(caplog)
    for secret in (CANARY_KEY, PASSWORD, "T0KEN"):
        assert secret.encode() not in sent, secret
        assert secret not in logged, secret


def written_log(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as the log file's formatter writes it (httpx's own DEBUG lines hold full
    URLs; the formatter masks the key, the SMTP password and the webhook URL)."""
    formatter = RedactingFormatter(LOG_FORMAT)
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_an_alert_that_cannot_go_out_is_logged_and_tried_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead_smtp = free_port()
    with webhook_receiver(status=500) as hook:
        config = site(tmp_path / "site", f"http://127.0.0.1:{free_port()}", dead_smtp, hook.url)
        config = config.model_copy(
            update={"alerts": config.alerts.model_copy(update={"smtp_user": ""})}
        )
        with caplog.at_level(logging.INFO):
            assert run_at(config, T0) == 3  # the run's own exit code, not the alert's
        assert len(hook.bodies) == 1
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert any("alert mail through 127.0.0.1" in w and "not sent" in w for w in warnings)
        assert any("answered HTTP 500" in w for w in warnings)
        assert "T0KEN" not in written_log(caplog)
        hook.status = 200
        assert run_at(config, T0 + timedelta(minutes=30)) == 3  # within the interval, but
        assert len(hook.bodies) == 2  # nothing went out before: it is tried again
        assert run_at(config, T0 + timedelta(hours=1)) == 3
        assert len(hook.bodies) == 2  # now told: quiet until the interval has passed


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize(("security", "host"), [("starttls", "localhost"), ("ssl", "127.0.0.1")])
def test_mail_over_tls_checks_the_certificate_and_logs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, security: str, host: str
) -> None:
    cert = self_signed(tmp_path)
    monkeypatch.setenv("CONNECTOR_SMTP_PASSWORD", PASSWORD)
    with smtp_server("connector", PASSWORD, security=security, cert=cert) as (box, port):
        settings = AlertSettings(
            smtp_host=host,
            smtp_port=port,
            smtp_security=security,  # type: ignore[arg-type]
            smtp_user="connector",
            mail_to=["it@example.com"],
        )
        message = Message("subject", "body", {})
        assert not send_mail(settings, message, None)  # the test CA is not trusted yet
        assert box.raw == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # now it is
        assert send_mail(settings, message, None)
    assert box.logins == [("connector", PASSWORD)]
    assert len(box.mails) == 1 and box.mails[0]["Subject"] == "subject"
