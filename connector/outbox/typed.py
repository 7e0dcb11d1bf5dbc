"""Typed outbox cells: what a value *is* decides how each writer puts it in a file.

``Text``
    Anything a person or a marketplace typed, and every id or SKU. Writers neutralise it
    (``connector.cells.safe_text``) and store it as a string cell in XLSX, so leading
    zeros and
    long ids keep every digit and nothing ever runs as a formula.
``Number``
    A number the connector formats itself (amounts, quantities). Never neutralised: a negative
    amount such as ``-1234,56`` stays a number. The writer picks the decimal separator from the
    locale unless the column fixed one.
``Date``
    A moment already converted to the configured time zone, written with the mapping's pattern.

The converters below turn raw JSON values into these cells and never raise: a value that does
not fit its format falls back to ``Text`` with the raw value, so nothing is lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

_PLAIN_NUMBER = re.compile(r"\s*-?\d+(?:\.\d+)?\s*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Text:
    value: str


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal
    decimals: int | None = None
    decimal_separator: str | None = None

    def render(self, decimal_separator: str) -> str:
        """Plain digits, no thousands separator, the column's or the locale's decimal mark."""
        value = self.value
        if self.decimals is not None:
            try:
                value = value.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP)
            except InvalidOperation:  # more digits than Decimal's precision: keep it whole
                pass
        if value.is_zero():
            value = value.copy_abs()  # never "-0,00"
        text = format(value, "f")
        return text.replace(".", self.decimal_separator or decimal_separator)


@dataclass(frozen=True, slots=True)
class Date:
    value: datetime
    pattern: str

    def render(self) -> str:
        return self.value.strftime(self.pattern)


Cell = Text | Number | Date
EMPTY = Text("")


def to_text(raw: object) -> str:
    """The JSON value as a person would type it (objects and lists as compact JSON)."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float):
        number = to_decimal(raw)
        return repr(raw) if number is None else format(number, "f")
    if isinstance(raw, dict | list):
        return json.dumps(raw, ensure_ascii=False, separators=(",", ":"))
    return str(raw)


def to_decimal(raw: object) -> Decimal | None:
    """A finite number from a JSON number or a plain numeric string; None otherwise."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        # repr is the shortest text that round-trips: 0.1 stays 0.1, not 0.1000000000000000055
        number = Decimal(repr(raw))
        return number if number.is_finite() else None
    if isinstance(raw, str) and _PLAIN_NUMBER.fullmatch(raw):
        return Decimal(raw.strip())
    return None


def to_moment(raw: object, tz: ZoneInfo) -> datetime | None:
    """An ISO date-time from the API (UTC, with or without fraction and ``Z``) in ``tz``.

    A value without an offset is UTC (the API says so). A bare date has no time to convert,
    so it keeps its day instead of moving to the evening before.
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if _DATE_ONLY.fullmatch(text):
        return moment.replace(tzinfo=tz)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def lookup_key(raw: object) -> str:
    """The text a lookup table is keyed by: 1, 1.0 and "1" all give "1"."""
    number = to_decimal(raw) if not isinstance(raw, str) else None
    if number is not None and number == number.to_integral_value():
        return str(int(number))
    return to_text(raw)


def significant_digits(number: Decimal) -> int:
    """How many digits Excel would have to keep (it keeps 15)."""
    digits = number.normalize().as_tuple().digits
    return len(digits)
