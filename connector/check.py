"""``connector check``: validate the set-up and say what to fix, one line per finding.

Checks, in order: the configuration; the mappings; the folders (exist, writable, state on a
local disk); Alephee (key and account with GET /v2/accounts, the configured price list); and
a sample of each inbox file (or the file given) read through its mapping.
Exit 0 when all is fine, 2 otherwise.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from connector.alephee.client import AlephClient
from connector.config import Config, load_config
from connector.errors import EXIT_CONFIG, ConfigError, ConnectorError
from connector.intake.watcher import choose_observer
from connector.mapping import ProductMapping, load_mappings, match_mapping
from connector.order_mapping import load_order_mapping
from connector.readers import read_export

Say = Callable[[str], None]
SAMPLE_ROWS = 5


class Findings:
    def __init__(self, say: Say) -> None:
        self.say = say
        self.problems = 0

    def ok(self, text: str) -> None:
        self.say(f"OK       {text}")

    def problem(self, text: str) -> None:
        self.problems += 1
        self.say(f"PROBLEM  {text}")


def run_check(config_path: Path | None, file: Path | None, say: Say) -> int:
    findings = Findings(say)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for line in exc.problems:
            findings.problem(f"{exc.source or 'configuration'}: {line}")
        return EXIT_CONFIG
    findings.ok(f"configuration {config.source}")
    mappings = _mappings(config, findings)
    _folders(config, findings)
    _alephee(config, findings)
    for path in (
        [file] if file else sorted(p for p in config.folders.inbox.glob("*") if p.is_file())
    ):
        _sample(path, mappings, findings)
    say("All good." if not findings.problems else f"{findings.problems} problem(s) to fix.")
    return 0 if not findings.problems else EXIT_CONFIG


def _mappings(config: Config, findings: Findings) -> list[ProductMapping]:
    mappings: list[ProductMapping] = []
    try:
        mappings = load_mappings(config.folders.mappings)
        findings.ok(f"{len(mappings)} product mapping(s) in {config.folders.mappings}")
    except ConfigError as exc:
        for line in exc.problems:
            findings.problem(f"mapping: {line}")
    if not mappings and not findings.problems:
        findings.problem(f"no product mapping in {config.folders.mappings}: run 'connector init'")
    if config.orders.enabled:
        try:
            load_order_mapping(config.folders.mappings / config.orders.mapping)
            findings.ok(f"orders mapping {config.orders.mapping}")
        except ConfigError as exc:
            for line in exc.problems:
                findings.problem(f"orders mapping: {line}")
    return mappings


def _folders(config: Config, findings: Findings) -> None:
    folders = config.folders
    for name in ("inbox", "outbox", "state", "archive", "failed"):
        path: Path = getattr(folders, name)
        if not path.is_dir():
            findings.problem(
                f"folder {name} ({path}) does not exist: create it or fix folders.{name}"
            )
            continue
        probe = path / f".connector-check-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
            findings.ok(f"folder {name} {path} is writable")
        except OSError as exc:
            findings.problem(
                f"folder {name} ({path}) is not writable ({exc.strerror}): give the "
                "connector's user write access"
            )
    if folders.state.is_dir() and choose_observer(folders.state) == "polling":
        findings.problem(
            f"the state folder {folders.state} is on a network share: SQLite needs "
            "a local disk; set folders.state to a local path"
        )


def _alephee(config: Config, findings: Findings) -> None:
    try:
        with AlephClient(
            config.alephee, config.retry.model_copy(update={"max_attempts": 2})
        ) as client:
            accounts = client.accounts()
            ids = {account.id for account in accounts}
            if ids and config.alephee.account_id not in ids:
                findings.problem(
                    f"account {config.alephee.account_id} is not among the accounts "
                    f"of this key ({sorted(ids)}): fix alephee.account_id"
                )
            else:
                findings.ok(f"Alephee accepts the key for account {config.alephee.account_id}")
            if config.alephee.price_list_id is not None:
                lists = {p.id for p in client.price_lists()}
                if config.alephee.price_list_id in lists:
                    findings.ok(f"price list {config.alephee.price_list_id} exists")
                else:
                    findings.problem(
                        f"price list {config.alephee.price_list_id} does not exist "
                        f"(the account has {sorted(lists)}): fix price_list_id"
                    )
    except ConnectorError as exc:
        findings.problem(f"Alephee: {exc}")


def _sample(path: Path, mappings: list[ProductMapping], findings: Findings) -> None:
    mapping = match_mapping(path, mappings)
    if mapping is None:
        findings.problem(
            f"{path.name}: no mapping matches this file name: add it to the "
            "'files' patterns of a mapping"
        )
        return
    try:
        export = read_export(path, mapping)
    except ConnectorError as exc:
        findings.problem(f"{path.name}: {exc}")
        return
    findings.ok(
        f"{path.name}: mapping {mapping.name!r}, {len(export.table)} good rows, "
        f"{len(export.rejects)} rejected"
    )
    for record in export.table.head(SAMPLE_ROWS).to_dict("records"):
        values = ", ".join(
            f"{k}={_show(k, v)}"
            for k, v in record.items()
            if k not in ("line", "sheet") and v is not None and str(v) not in ("<NA>", "nan", "")
        )
        findings.say(f"           line {record['line']}: {values}")
    for reject in export.rejects[:SAMPLE_ROWS]:
        findings.say(f"           line {reject.line}: REJECTED {reject.reason}")


def _show(key: str, value: object) -> str:
    if key.endswith("_e4"):
        return f"{int(value) / 10_000:g}"  # type: ignore[call-overload]
    return str(value)
