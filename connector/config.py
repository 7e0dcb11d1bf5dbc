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
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from connector.errors import ConfigError
from connector.redact import register_secret

CONFIG_NAME = "connector.toml"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlephSettings(Section):
    base_url: AnyHttpUrl = AnyHttpUrl("https://api.alephcrm.com")
    api_key: SecretStr = SecretStr("")
    account_id: int = Field(gt=0)
    price_list_id: int | None = Field(default=None, gt=0)
    timeout_seconds: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=100, ge=1, le=1000)
    integrate_batch_size: int = Field(default=100, ge=1, le=1000)
    products_page_size: int = Field(default=1000, ge=1, le=1000)
    orders_page_size: int = Field(default=100, ge=1, le=1000)

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
    observer: Literal["auto", "native", "polling"] = "auto"
    done_marker: bool = False
    order_pattern: str | None = None  # regex with (?P<seq>...) or (?P<date>...)(?P<time>...)
    incomplete_grace_seconds: float = Field(default=300.0, ge=0)
    ignore: list[str] = Field(
        default_factory=lambda: ["*.tmp", "*.part", "~$*", ".~lock*", ".*", "*.done", "*.ok"]
    )


class OrderSettings(Section):
    enabled: bool = True
    mapping: str = "orders.toml"
    erp_status: str = "integrated"


class OutboxSettings(Section):
    locale: Literal["es-AR", "pt-BR", "en-US"] = "es-AR"
    format: Literal["csv", "xlsx"] = "csv"
    bom: bool = True


class Config(Section):
    alephee: AlephSettings
    retry: RetrySettings = RetrySettings()
    folders: FolderSettings = FolderSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    intake: IntakeSettings = IntakeSettings()
    orders: OrderSettings = OrderSettings()
    outbox: OutboxSettings = OutboxSettings()
    source: Path = Path(CONFIG_NAME)

    @property
    def db_path(self) -> Path:
        return self.folders.state / "connector.db"

    @property
    def log_dir(self) -> Path:
        return self.folders.state / "logs"


class AlephEnv(BaseSettings):
    """The four documented environment overrides."""

    model_config = SettingsConfigDict(env_prefix="ALEPHEE_", extra="ignore")
    base_url: str | None = None
    api_key: str | None = None
    account_id: str | None = None
    price_list_id: str | None = None


def find_config(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    return Path.cwd() / CONFIG_NAME


def load_config(path: Path | None = None) -> Config:
    """Read, overlay the environment, validate. Raises ConfigError with one line per problem."""
    path = find_config(path).absolute()
    raw = _read_toml(path)
    alephee = raw.setdefault("alephee", {})
    if not isinstance(alephee, dict):
        raise ConfigError(["[alephee] must be a table"], source=str(path))
    for key, value in AlephEnv().model_dump(exclude_none=True).items():
        alephee[key] = value
    register_secret(str(alephee.get("api_key") or ""))
    try:
        config = Config.model_validate({**raw, "source": path})
    except ValidationError as exc:
        raise ConfigError(_problems(exc), source=str(path)) from None
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


def _problems(exc: ValidationError) -> list[str]:
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        key = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key: remove it or check its spelling (see docs/configuration.md)"
        elif error["type"] == "missing":
            message = "is required: add it to the file (or set its ALEPHEE_* variable)"
        lines.append(f"{key}: {message}")
    return lines


def _resolve_paths(config: Config, base: Path) -> Config:
    folders = {
        name: value if value.is_absolute() else (base / value)
        for name, value in config.folders.model_dump().items()
    }
    return config.model_copy(update={"folders": FolderSettings(**folders)})


def env_has_key() -> bool:
    return bool(os.environ.get("ALEPHEE_API_KEY"))
