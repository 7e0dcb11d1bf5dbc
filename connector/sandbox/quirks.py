"""The live API's quirks (shared/notes/real-api-evidence.md), each switchable.

Profiles: ``realistic`` (every quirk on: the default in the connector's tests, and of
``connector sandbox``) and ``kind`` (the documented behaviour, for the demo). Switch single
quirks with ``SandboxOptions(quirks=...)``, ``POST /_sandbox/quirks {"name": bool}`` or
``connector sandbox --quirk name=off``. Most quirks only reshape a finished response
(``shape``), so the handlers stay those of the documentation.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from connector.errors import ConfigError
from connector.sandbox.model import ci_get, ci_set

PROFILES = ("realistic", "kind")
PLAIN_FRACTION = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d+)Z$")


@dataclass(frozen=True)
class Quirks:
    """One switch per quirk; see docs/sandbox.md for what each does and its evidence."""

    short_pages: bool = False  # GET products caps at ``page_cap``, echoes the limit asked, 200
    page_cap: int = 100
    no_validation_level: bool = False  # refused items without ValidationLevel, ``keyValue``
    status_412: bool = False  # nothing applied -> 412 (the only status seen live), not 404
    bare_412: bool = False  # ... and its body is {Status, Message}, naming no item
    streak_429: bool = False  # a 429 starts a streak: every call refused for a whole window
    plain_dates: bool = False  # dates as Json.NET writes them: no ".000", fractions trimmed
    numeric_skus: bool = False  # all-digit SKUs without a leading zero come as JSON numbers
    misaligned_echo: bool = False  # integrate results echo another item's OrderStatus
    account_optional: bool = False  # accountId optional on /v2/accounts endpoints
    # Not seen live, the audit's case: a 200 whose counts say items failed, naming none.
    unnamed_errors: bool = False

    @classmethod
    def profile(cls, name: str) -> Quirks:
        if name not in PROFILES:
            raise ConfigError(f"unknown sandbox profile {name!r}: use realistic or kind")
        if name == "kind":
            return cls()
        on = {f.name: True for f in fields(cls) if f.type in (bool, "bool")}
        on["bare_412"] = False  # the body of a live 412 is unknown: an option, not the default
        on["unnamed_errors"] = False
        return cls(**on)

    def with_switches(self, switches: dict[str, Any]) -> Quirks:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(switches) - known)
        if unknown:
            names = ", ".join(sorted(known))
            raise ConfigError(f"unknown sandbox quirk {', '.join(unknown)}: use one of {names}")
        values: dict[str, Any] = {
            k: (int(v) if k == "page_cap" else _flag(k, v)) for k, v in switches.items()
        }
        return replace(self, **values)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "on", "true", "yes"):
        return True
    if text in ("0", "off", "false", "no"):
        return False
    raise ConfigError(f"sandbox quirk {name}: say on or off, not {value!r}")


def parse_switches(specs: list[str]) -> dict[str, Any]:
    """``["streak_429=off", "page_cap=50"]`` from the command line."""
    switches: dict[str, Any] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep:
            raise ConfigError(f"--quirk {spec!r}: write NAME=on or NAME=off")
        switches[name.strip()] = value.strip()
    return switches


# -- 429 streaks ---------------------------------------------------------------------------------


class StreakGate:
    """Live keys answered 429 for a minute or more once over their limit: after one refusal
    every call on that (key, endpoint) is refused until a whole window has passed."""

    def __init__(self) -> None:
        self._until: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def blocked_for(self, key: str, bucket: str, now: float) -> float:
        """Seconds left in the streak (0 when none)."""
        with self._lock:
            return max(0.0, self._until.get((key, bucket.upper()), 0.0) - now)

    def start(self, key: str, bucket: str, now: float, window: float) -> None:
        with self._lock:
            self._until[(key, bucket.upper())] = now + window

    def reset(self) -> None:
        with self._lock:
            self._until.clear()


def whole_seconds(seconds: float) -> int:
    return max(1, math.ceil(seconds))


# -- reshaping responses -------------------------------------------------------------------------


def shape(quirks: Quirks, endpoint: str, status: int, body: Any) -> tuple[int, Any]:
    """The documented response as the live API would send it."""
    if endpoint == "POST /v2/products" and isinstance(ci_get(body, "Quantities"), dict):
        status, body = _action_result(quirks, status, body)
    if endpoint == "GET /v2/products" and quirks.numeric_skus and isinstance(body, dict):
        for row in ci_get(body, "Results") or []:
            ident = ci_get(row, "Identification")
            if isinstance(ident, dict):
                ci_set(ident, "SKU", _number_if_digits(ci_get(ident, "SKU")))
    if endpoint == "PUT /v2/orders/integrate" and quirks.misaligned_echo:
        _misalign(ci_get(body, "Results"))
    if quirks.plain_dates:
        body = _plain_dates(body)
    return status, body


def _action_result(quirks: Quirks, status: int, body: dict[str, Any]) -> tuple[int, Any]:
    nothing_applied = status >= 400
    if nothing_applied and quirks.status_412:
        status = 412
    if nothing_applied and quirks.bare_412:
        return status, {"Status": status, "Message": "No se procesaron cambios."}
    if quirks.unnamed_errors and not nothing_applied:
        body["Items"] = [i for i in body.get("Items") or [] if not _is_error(i)]
    for number, item in enumerate(ci_get(body, "Items") or [], start=1):
        if quirks.no_validation_level:
            item.pop("ValidationLevel", None)
            item["ItemNumber"] = number  # the vendor's example counts from 1
            item["keyValue"] = item.pop("KeyValue", None)
            for message in item.get("Messages") or []:
                message.pop("Level", None)
        if quirks.numeric_skus:
            key = "keyValue" if "keyValue" in item else "KeyValue"
            item[key] = _number_if_digits(item.get(key))
    return status, body


def _is_error(item: Any) -> bool:
    return bool(ci_get(ci_get(item, "ValidationLevel"), "Id") == 0)


def _number_if_digits(value: Any) -> Any:
    if isinstance(value, str) and value.isdigit() and not value.startswith("0"):
        return int(value)
    return value


def _misalign(results: Any) -> None:
    """Rotate the echoes by one, as in the vendor's example ("400 Order not found" beside the
    order that was marked)."""
    if not isinstance(results, list) or len(results) < 2:
        return
    echoes = [ci_get(r, "OrderStatus") for r in results]
    for result, echo in zip(results, echoes[1:] + echoes[:1], strict=True):
        if isinstance(result, dict):
            ci_set(result, "OrderStatus", echo)


def _plain_dates(value: Any) -> Any:
    if isinstance(value, str):
        found = PLAIN_FRACTION.match(value)
        if found:
            fraction = found.group(2).rstrip("0")
            return f"{found.group(1)}.{fraction}Z" if fraction else f"{found.group(1)}Z"
        return value
    if isinstance(value, dict):
        return {k: _plain_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_dates(v) for v in value]
    return value
