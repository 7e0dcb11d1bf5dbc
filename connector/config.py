"""``connector.toml``: load, overlay the ALEPHEE_* environment, validate once, fail plainly.

Relative paths resolve against the config file's folder, so a scheduled task that starts in
``C:\\Windows\\System32`` still finds its folders.
"""

from __future__ import annotations

import os
import tomllib
from datetime import time
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from connector.errors import ConfigError
from connector.redact import register_secret

CONFIG_NAME = "connector.toml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlephSettings(Section):
    # A plain text checked below: pydantic's URL types cost 0.1 s of import in every run.
    base_url: str = "https://api.alephcrm.com"
    api_key: SecretStr = SecretStr("")
    account_id: int = Field(gt=0)
    price_list_id: int | None = Field(default=None, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # The largest POST /v2/products batch tried first; a 413 halves it (kept in api-profile.json).
    batch_size: int = Field(default=1000, ge=1, le=1000)
    integrate_batch_size: int = Field(default=100, ge=1, le=1000)
    # 100 until a larger page is proven (``connector check --probe`` measures the real cap):
    # no live client ever asked for more, and a server that caps lower would skip pages.
    products_page_size: int = Field(default=100, ge=1, le=1000)
    orders_page_size: int = Field(default=100, ge=1, le=1000)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("is not a web address: write it like https://api.alephcrm.com")
        return value.strip()

    @field_validator("api_key")
    @classmethod
    def _key_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty: set ALEPHEE_API_KEY (preferred) or alephee.api_key")
        return value


class RetrySettings(Section):
    max_attempts: int = Field(default=6, ge=1, le=100)
    base_seconds: float = Field(default=1.0, gt=0)
    max_wait_seconds: float = Field(default=120.0, gt=0)
    budget_seconds: float = Field(default=600.0, gt=0)
    low_remaining: int = Field(default=2, ge=0)
    fallback_per_minute: int = Field(default=29, ge=1)
    # Live clients needed 65-120 s after repeated 429s: after ``rate_limit_streak`` 429s in a
    # row, wait at least ``rate_limit_floor_seconds`` (and never more than the run's budget).
    rate_limit_streak: int = Field(default=2, ge=1)
    rate_limit_floor_seconds: float = Field(default=60.0, ge=0)
    rate_limit_max_attempts: int = Field(default=30, ge=1, le=200)
    # ``run`` shares the key with other integrations: use at most this share of its limit.
    run_rate_share: float = Field(default=0.5, gt=0, le=1)


class FolderSettings(Section):
    inbox: Path = Path("inbox")
    outbox: Path = Path("outbox")
    state: Path = Path("state")
    archive: Path = Path("archive")
    failed: Path = Path("failed")
    mappings: Path = Path("mappings")


class ScheduleSettings(Section):
    timezone: str = "America/Argentina/Buenos_Aires"
    night_start: time = time(0, 0)
    night_end: time = time(6, 0)
    stock_changes: Literal["now", "night"] = "now"
    price_changes: Literal["now", "night"] = "night"
    # A change held for the night slot whose night passed while the connector did not run waits
    # for the next night, unless it has waited this long: then it goes with the next run.
    deferred_max_wait_hours: float = Field(default=48.0, gt=0)
    catalog_refresh_hours: float = Field(default=24.0, gt=0)
    orders_every_minutes: float = Field(default=15.0, gt=0)
    cancellations_every_hours: float = Field(default=6.0, gt=0)
    cancellations_lookback_days: float = Field(default=7.0, gt=0)
    missing_products: Literal["leave"] = "leave"
    # A value Alephee refused is sent again after this long (its cause may have gone).
    refused_retry_hours: float = Field(default=24.0, gt=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as "
                "America/Argentina/Buenos_Aires"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class IntakeSettings(Section):
    min_age_seconds: float = Field(default=5.0, ge=0)
    stable_checks: int = Field(default=2, ge=1)
    check_interval_seconds: float = Field(default=1.0, gt=0)
    rescan_seconds: float = Field(default=60.0, gt=0)
    # ``once``: how long to wait for files to settle before leaving them to the next run.
    settle_wait_seconds: float = Field(default=30.0, ge=0)
    observer: Literal["auto", "native", "polling"] = "auto"
    done_marker: bool = False
    order_pattern: str | None = None  # regex with (?P<seq>...) or (?P<date>...)(?P<time>...)
    incomplete_grace_seconds: float = Field(default=300.0, ge=0)
    max_read_attempts: int = Field(default=3, ge=1, le=100)
    read_memory_mb: int = Field(default=2048, ge=256)
    ignore: list[str] = Field(
        default_factory=lambda: ["*.tmp", "*.part", "~$*", ".~lock*", ".*", "*.done", "*.ok"]
    )


class OrderSettings(Section):
    enabled: bool = True
    mapping: str = "orders.toml"
    erp_status: str = "integrated"


class ShippingSettings(Section):
    """Order status and tracking from the ERP (``connector.shipping``)."""

    enabled: bool = True
    batch_size: int = Field(default=100, ge=1, le=1000)  # items per PUT /v2/orders


DocumentType = Literal["invoice", "receipt", "e-fiscal-invoice"]


class DocumentPattern(Section):
    """A file-name pattern naming the order, e.g. ``factura-{OwnOrderId}.pdf`` or
    ``{ExternalOrderId}_FC.pdf``, and the document type Alephee files it as."""

    pattern: str
    type: DocumentType = "invoice"


class DocumentSettings(Section):
    """Invoices and other order documents from the ERP (``connector.documents``)."""

    enabled: bool = True
    folder: Path | None = None  # None: the inbox (documents are told apart by their patterns)
    max_mb: float = Field(default=10.0, gt=0, le=100)
    files: list[DocumentPattern] = Field(
        default_factory=lambda: [DocumentPattern(pattern="factura-{OwnOrderId}.pdf")]
    )


class OutboxSettings(Section):
    locale: Literal["es-AR", "pt-BR", "en-US"] = "es-AR"
    format: Literal["csv", "xlsx"] = "csv"
    bom: bool = True


class ReportSettings(Section):
    """The HTML page written after every run (connector.report)."""

    enabled: bool = True
    path: Path | None = None  # default: outbox/report.html
    days: int = Field(default=30, ge=1, le=366)


class AlertSettings(Section):
    """Mail and webhook alerts (connector.alerts). Secrets come from environment variables."""

    repeat_hours: float = Field(default=12.0, gt=0)
    no_contact_hours: float = Field(default=24.0, gt=0)
    deferred_hours: float = Field(default=48.0, gt=0)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password_env: str = "CONNECTOR_SMTP_PASSWORD"  # noqa: S105 (a variable name)
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)
    mail_from: str = ""
    mail_to: list[str] = Field(default_factory=list)
    webhook_url: str = ""
    webhook_timeout_seconds: float = Field(default=20.0, gt=0)

    @property
    def mail(self) -> bool:
        return bool(self.smtp_host and self.mail_to)

    @property
    def enabled(self) -> bool:
        return self.mail or bool(self.webhook_url)


class Config(Section):
    alephee: AlephSettings
    retry: RetrySettings = RetrySettings()
    folders: FolderSettings = FolderSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    intake: IntakeSettings = IntakeSettings()
    orders: OrderSettings = OrderSettings()
    outbox: OutboxSettings = OutboxSettings()
    shipping: ShippingSettings = ShippingSettings()
    documents: DocumentSettings = DocumentSettings()
    report: ReportSettings = ReportSettings()
    alerts: AlertSettings = AlertSettings()
    source: Path = Path(CONFIG_NAME)
    # Keys whose value came from an ALEPHEE_* variable, by key: "env" alone, or "env+file" when
    # the file had a value too (the variable wins). Set by load_config, shown by check.
    from_env: dict[str, str] = Field(default_factory=dict, exclude=True)

    @property
    def db_path(self) -> Path:
        return self.folders.state / "connector.db"

    @property
    def documents_folder(self) -> Path:
        return self.documents.folder or self.folders.inbox

    @property
    def log_dir(self) -> Path:
        return self.folders.state / "logs"

    @property
    def report_path(self) -> Path:
        return self.report.path or self.folders.outbox / "report.html"


# The four documented environment overrides. Read with os.environ, not pydantic-settings'
# BaseSettings: four plain texts, validated below with the file's values, and that library's
# import (asyncio, importlib.metadata, its sources) cost 0.13 s of every run (issue 14).
ENV_KEYS = ("base_url", "api_key", "account_id", "price_list_id")


def _from_environment() -> dict[str, str]:
    found = {key: os.environ.get(f"ALEPHEE_{key.upper()}") for key in ENV_KEYS}
    return {key: value for key, value in found.items() if value is not None}


def find_config(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return Path.cwd() / CONFIG_NAME


ENV_NAMES = {name: f"ALEPHEE_{name.upper()}" for name in ENV_KEYS}


def load_config(path: Path | None = None) -> Config:
    """Read, overlay the environment, validate. Raises ConfigError with one line per problem."""
    path = find_config(path).absolute()
    raw = _read_toml(path)
    alephee = raw.setdefault("alephee", {})
    if not isinstance(alephee, dict):
        raise ConfigError(["[alephee] must be a table"], source=str(path))
    from_env = {}
    for key, value in _from_environment().items():
        from_env[key] = "env+file" if key in alephee else "env"
        alephee[key] = value
    register_secret(str(alephee.get("api_key") or ""))
    alerts = raw.get("alerts")
    if isinstance(alerts, dict):  # a Slack or Teams webhook URL carries its own token
        register_secret(str(alerts.get("webhook_url") or ""))
    try:
        config = Config.model_validate({**raw, "source": path, "from_env": from_env})
    except ValidationError as exc:
        problems = _problems(exc, from_env, path.name)
        every_one_from_env = all(line.startswith("ALEPHEE_") for line in problems)
        raise ConfigError(problems, source="" if every_one_from_env else str(path)) from None
    return _resolve_paths(config, path.parent)


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(
            [f"no configuration file at {path}: run 'connector init' there, or pass --config PATH"]
        )
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [f"not valid TOML ({exc}); fix the line it names"], source=str(path)
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot be read ({exc})"], source=str(path)) from None


def _problems(exc: ValidationError, from_env: dict[str, str], file: str) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc) or "(file)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling (see docs/configuration.md)"
        elif error["type"] == "missing":
            message = "is required: add it to the file (or set its ALEPHEE_* variable)"
        lines.append(_where(loc, from_env, file, key) + message)
    return lines


def _where(loc: list[str], from_env: dict[str, str], file: str, key: str) -> str:
    """Name the place the operator must fix: the variable when the value came from it."""
    name = loc[1] if len(loc) == 2 and loc[0] == "alephee" else ""
    if name in from_env:
        also = f"; it overrides {key} in {file}" if from_env[name] == "env+file" else ""
        return f"{ENV_NAMES[name]} (environment variable{also}): "
    if name in ENV_NAMES:
        return f"{key} (in {file}; {ENV_NAMES[name]} is not set in this environment): "
    return f"{key}: "


def _resolve_paths(config: Config, base: Path) -> Config:
    folders = {
        name: value if value.is_absolute() else (base / value)
        for name, value in config.folders.model_dump().items()
    }
    update: dict[str, Any] = {"folders": FolderSettings(**folders)}
    documents = config.documents
    if documents.folder is not None and not documents.folder.is_absolute():
        update["documents"] = documents.model_copy(update={"folder": base / documents.folder})
    if config.report.path is not None and not config.report.path.is_absolute():
        update["report"] = config.report.model_copy(update={"path": base / config.report.path})
    return config.model_copy(update=update)


def env_has_key() -> bool:
    return bool(os.environ.get("ALEPHEE_API_KEY"))
