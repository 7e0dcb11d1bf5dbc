"""``connector check``: validate the set-up and say what to fix, one line per finding.

Checks, in order: the configuration; the mappings; the folders (exist, writable, state on a
local disk); Alephee (key and account with GET /v2/accounts, the configured price list); and
each inbox file (or the file given) read through its mapping, showing its first rows as the
connector understands them. Exit 0 when all is fine, 2 when the set-up needs fixing, and 1 when
the set-up is right but a file has rows a run would reject (as ``once`` exits 1 for them): they
are shown, and the last line says where a run would report them.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from connector import clock, db
from connector.alephee import orderrefs
from connector.alephee.client import AlephClient
from connector.alephee.profile import base_url, profile_path, summary_lines
from connector.alephee.profile import probe as probe_api
from connector.config import ENV_NAMES, Config, load_config
from connector.errors import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_REJECTS,
    AlephUnavailable,
    ConfigError,
    ConnectorError,
    NetworkError,
)
from connector.intake.scan import is_ignored
from connector.intake.watcher import choose_observer
from connector.operator.check_back import check_document, check_status_file
from connector.orders import ledger as orders_ledger
from connector.orders.mapping import load_order_mapping
from connector.readers import Export, read_export
from connector.readers.mapping import ProductMapping, load_mappings, match_mapping
from connector.readers.skip import footer_hint
from connector.shipping import state as shipping_state
from connector.shipping.mapping import StatusMapping
from connector.shipping.stage import mappings_for

Say = Callable[[str], None]
SAMPLE_ROWS = 5
FOLDERS = ("inbox", "outbox", "state", "archive", "failed")  # mappings: see check_mappings
LABELS = {
    "sku": "SKU",
    "brand": "brand",
    "quantity": "stock",
    "price_e4": "price",
    "price_with_taxes_e4": "price with taxes",
    "suggested_retail_price_e4": "suggested retail price",
    "cost_e4": "cost",
}


class Findings:
    """Prints each finding as it is found; counts the problems."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.problems = 0
        self.rejected_files: list[str] = []  # files read fine but with rejected rows

    def ok(self, text: str) -> None:
        self.say(f"OK       {text}")

    def problem(self, text: str) -> None:
        self.problems += 1
        self.say(f"PROBLEM  {text}")

    def note(self, text: str) -> None:
        self.say(f"NOTE     {text}")

    def detail(self, text: str) -> None:
        self.say(f"           {text}")


def run_check(
    config_path: Path | None,
    file: Path | None,
    say: Say,
    *,
    mounts: str | None = None,
    probe: bool = False,
) -> int:
    """Every check, each finding printed through ``say``; the exit code (0 or 2)."""
    findings = Findings(say)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        for line in exc.problems:
            findings.problem(f"{exc.source or 'configuration'}: {line}")
        say("Fix the configuration first, then run 'connector check' again.")
        return EXIT_CONFIG
    findings.ok(f"configuration {config.source}")
    _say_env_overrides(config, findings)
    mappings = check_mappings(config, findings)
    statuses = check_status_mappings(config, findings)
    check_folders(config, findings, mounts=mounts)
    check_alephee(config, findings, probe=probe)
    for path in _files_to_sample(config, file, findings):
        status = match_mapping(path, statuses)
        if status is not None:
            check_status_file(path, status, config, findings, lambda: _state(config))
        elif not check_document(path, config, findings, lambda: _state(config)):
            check_file(path, mappings, findings)
    if findings.problems:
        say(f"{findings.problems} problem(s) to fix.")
        return EXIT_CONFIG
    if findings.rejected_files:
        say(
            f"The set-up is right, but {len(findings.rejected_files)} file(s) have rejected rows "
            f"({', '.join(findings.rejected_files)}): a run sends their good rows and lists the "
            f"rejected ones in a rejects-<file>-<time> report in {config.folders.outbox} "
            "(docs/rejects.md)."
        )
        return EXIT_REJECTS
    say("All good.")
    return EXIT_OK


def _say_env_overrides(config: Config, findings: Findings) -> None:
    """Which value is used when a setting comes from an ALEPHEE_* variable."""
    for key, where in sorted(config.from_env.items()):
        name = ENV_NAMES[key]
        if where == "env+file":
            findings.note(
                f"{name} is set in the environment: it is used, and alephee.{key} in "
                f"{config.source.name} is ignored"
            )
        else:
            findings.note(f"alephee.{key} comes from the environment variable {name}")


def check_mappings(config: Config, findings: Findings) -> list[ProductMapping]:
    mappings: list[ProductMapping] = []
    try:
        mappings = load_mappings(config.folders.mappings)
    except ConfigError as exc:
        for line in exc.problems:
            findings.problem(f"mapping: {line}")
    else:
        if mappings:
            names = ", ".join(m.source.name for m in mappings)
            findings.ok(f"{len(mappings)} product mapping(s): {names}")
        else:
            findings.problem(
                f'no product mapping (kind = "products") in {config.folders.mappings}: '
                "copy an example from 'connector init' and adapt it (docs/mapping-products.md)"
            )
    if config.orders.enabled:
        try:
            load_order_mapping(config.folders.mappings / config.orders.mapping)
            findings.ok(f"orders mapping {config.orders.mapping}")
        except ConfigError as exc:
            for line in exc.problems:
                findings.problem(f"orders mapping: {line}")
    return mappings


def check_status_mappings(config: Config, findings: Findings) -> list[StatusMapping]:
    try:
        found = mappings_for(config)
    except ConfigError as exc:
        for line in exc.problems:
            findings.problem(f"order-status mapping: {line}")
        return []
    if found:
        findings.ok(
            f"{len(found)} order-status mapping(s): {', '.join(m.source.name for m in found)}"
        )
    return found


def _state(config: Config) -> sqlite3.Connection:
    """The state database to resolve orders with; an empty one in memory when there is none
    yet (check creates nothing)."""
    from connector.runner import open_state

    if config.db_path.exists():
        return open_state(config)
    conn = db.connect(":memory:")
    for part in (orders_ledger, orderrefs, shipping_state):
        part.init(conn)
    return conn


def check_folders(config: Config, findings: Findings, *, mounts: str | None = None) -> None:
    for name in FOLDERS:
        path: Path = getattr(config.folders, name)
        if not path.is_dir():
            findings.problem(
                f"folder {name} ({path}) does not exist: create it, or fix folders.{name} "
                "in connector.toml"
            )
        else:
            _writable(name, path, findings)
    state = config.folders.state
    if state.is_dir() and not state_is_local(state, mounts=mounts):
        findings.problem(
            f"the state folder {state} is on a network share: its database needs a local "
            r"disk; set folders.state to a local path such as C:\ProgramData\connector\state"
        )


def _writable(name: str, path: Path, findings: Findings) -> None:
    probe = path / f".connector-check-{uuid.uuid4().hex}.tmp"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        findings.problem(
            f"folder {name} ({path}) is not writable ({exc.strerror or exc}): give the user "
            "that runs the connector (the scheduled task's account) modify rights on it"
        )
    else:
        findings.ok(f"folder {name} {path} is writable")


def state_is_local(path: Path, *, mounts: str | None = None) -> bool:
    """Not a UNC path, a mapped network drive or a network mount (SQLite needs a local disk)."""
    return choose_observer(path, "auto", mounts=mounts) == "native"


def check_alephee(config: Config, findings: Findings, *, probe: bool = False) -> None:
    # Two attempts and a short budget: check answers in seconds, even when Alephee is down.
    retry = config.retry.model_copy(update={"max_attempts": 2, "budget_seconds": 20.0})
    try:
        with AlephClient(config.alephee, retry) as client:
            _account(config, client, findings)
            _price_list(config, client, findings)
            if probe:
                check_probe(config, client, findings)
    except AlephUnavailable as exc:
        findings.problem(unreachable(config, exc))
    except ConnectorError as exc:
        findings.problem(f"Alephee ({base_url(config)}): {exc}")


def unreachable(config: Config, exc: AlephUnavailable) -> str:
    """``check`` runs nothing, so no word of pending work: where it could not go, and why."""
    cause = exc.cause
    if isinstance(cause, NetworkError):
        return (
            f"cannot connect to {base_url(config)}: {cause.reason}. Try: is the URL right "
            "(alephee.base_url or ALEPHEE_BASE_URL)? Does this machine need a proxy (set "
            "HTTPS_PROXY)? Does a firewall block it?"
        )
    if cause is not None:
        return (
            f"Alephee at {base_url(config)} did not answer properly: {cause}. Try again "
            "later; if it lasts, check Alephee's status and the URL (alephee.base_url)"
        )
    return f"Alephee ({base_url(config)}): {exc}"


def check_probe(config: Config, client: AlephClient, findings: Findings) -> None:
    """``check --probe``: measure the live API into state/api-profile.json."""
    profile = probe_api(config, client, clock.now())
    findings.ok(f"measured Alephee's behaviour into {profile_path(config)}")
    for line in summary_lines(profile):
        findings.detail(line)
    if profile["products_page_cap"]:
        findings.detail(
            f"  the catalog is now read {profile['products_page_cap']} products per page"
        )


def _account(config: Config, client: AlephClient, findings: Findings) -> None:
    wanted = config.alephee.account_id
    ids = {account.id for account in client.accounts()}
    if ids and wanted not in ids:
        findings.problem(
            f"account {wanted} is not among the accounts of this API key "
            f"({', '.join(map(str, sorted(ids)))}): fix alephee.account_id"
        )
    else:
        findings.ok(f"Alephee accepts the API key for account {wanted}")


def _price_list(config: Config, client: AlephClient, findings: Findings) -> None:
    lists = {p.id: p.name for p in client.price_lists()}
    wanted = config.alephee.price_list_id
    known = ", ".join(f"{pid} ({name})" for pid, name in sorted(lists.items()))
    if wanted is None and len(lists) > 1:
        findings.problem(
            f"the account has {len(lists)} price lists ({known}) and alephee.price_list_id "
            "is not set: set it to the list the ERP prices belong to"
        )
    elif wanted is not None and wanted not in lists:
        findings.problem(
            f"price list {wanted} does not exist in the account (it has {known or 'none'}): "
            "fix alephee.price_list_id"
        )
    elif wanted is not None:
        findings.ok(f"price list {wanted} ({lists[wanted]}) exists")


def _files_to_sample(config: Config, file: Path | None, findings: Findings) -> list[Path]:
    if file is not None:
        if not file.is_file():
            findings.problem(f"{file} is not a file: give the path of an ERP export")
            return []
        return [file]
    inbox = config.folders.inbox
    if not inbox.is_dir():
        return []
    found = sorted(
        p for p in inbox.iterdir() if p.is_file() and not is_ignored(p.name, config.intake.ignore)
    )
    if not found:
        findings.note(
            f"the inbox {inbox} is empty: give an export as 'connector check FILE' to "
            "try the mapping on it"
        )
    return found


def check_file(path: Path, mappings: list[ProductMapping], findings: Findings) -> None:
    """Read one export through its mapping and show its first rows and row errors."""
    mapping = match_mapping(path, mappings)
    if mapping is None:
        findings.problem(
            f"{path.name}: no mapping matches this file name: add a pattern for it to "
            "the 'files' list of a mapping"
        )
        return
    try:
        export = read_export(path, mapping)
    except ConnectorError as exc:
        message = str(exc).removeprefix(f"{path.name}: ")
        hint = getattr(exc, "hint", "")
        findings.problem(f"{path.name} (mapping {mapping.source.name}): {message}" + _hint(hint))
        return
    findings.ok(
        f"{path.name}: read with mapping {mapping.source.name}: {len(export.table):,} good "
        f"rows, {len(export.rejects):,} rejected"
    )
    if export.rejects:
        findings.rejected_files.append(path.name)
    _show_rows(export, findings)
    footer = footer_hint(export)
    if footer:
        findings.note(f"{path.name}: {footer}")


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


def _show_rows(export: Export, findings: Findings) -> None:
    unit = "row" if export.source.kind == "xlsx" else "line"
    for record in export.table.head(SAMPLE_ROWS).to_dict("records"):
        where = _where(unit, record.get("line"), record.get("sheet"))
        values = ", ".join(
            f"{label} {shown}"
            for key, label in LABELS.items()
            if (shown := show_value(key, record.get(key))) != ""
        )
        findings.detail(f"{where}: {values}")
    for reject in export.rejects[:SAMPLE_ROWS]:
        findings.detail(f"{_where(unit, reject.line, reject.sheet)}: REJECTED: {reject.reason}")
    if len(export.rejects) > SAMPLE_ROWS:
        more = len(export.rejects) - SAMPLE_ROWS
        findings.detail(f"... and {more:,} more rejected rows (a real run lists them all)")


def _where(unit: str, line: Any, sheet: Any) -> str:
    place = f"{unit} {line}"
    return f"sheet {sheet!r} {place}" if sheet else place


def show_value(key: str, value: Any) -> str:
    """A table value as the operator wrote it: prices back from 1/10,000 units; '' if empty."""
    if value is None or str(value) in ("", "<NA>", "nan", "None"):
        return ""
    if key.endswith("_e4"):
        return format(Decimal(int(value)) / 10_000, "f")
    return str(value)
