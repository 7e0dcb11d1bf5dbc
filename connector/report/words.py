"""The page's and the alerts' words in the outbox locale: Spanish, Portuguese or English, with
the locale's decimal mark and date order.

A text is a ``str.format`` template with named fields; ``Words.say`` fills it with numbers and
dates already written the local way. Missing keys fall back to English, so a new text never
breaks a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from connector.report.texts import TEXTS

DATE_ORDER = {
    "es-AR": "{d:02d}/{m:02d}/{y}",
    "pt-BR": "{d:02d}/{m:02d}/{y}",
    "en-US": "{m}/{d}/{y}",
}
DAY_ORDER = {"es-AR": "{d:02d}/{m:02d}", "pt-BR": "{d:02d}/{m:02d}", "en-US": "{m}/{d}"}


@dataclass(frozen=True)
class Words:
    locale: str
    zone: ZoneInfo

    @property
    def lang(self) -> str:
        return self.locale.split("-")[0]

    def say(self, key: str, **fields: object) -> str:
        template = TEXTS.get(self.locale, {}).get(key) or TEXTS["en-US"][key]
        return template.format(**{k: self._show(v) for k, v in fields.items()})

    def _show(self, value: object) -> object:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return self.number(value)
        if isinstance(value, datetime):
            return self.when(value)
        return value

    def number(self, value: float, decimals: int = 0) -> str:
        """1234567.5 -> '1.234.567,5' (es-AR, pt-BR) or '1,234,567.5' (en-US)."""
        text = f"{value:,.{decimals}f}"
        if self.locale == "en-US":
            return text
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".")

    def seconds(self, value: float) -> str:
        return self.number(value, 1 if value < 100 else 0) + " s"

    def day(self, value: date) -> str:
        return DAY_ORDER[self.locale].format(d=value.day, m=value.month, y=value.year)

    def date(self, value: date) -> str:
        return DATE_ORDER[self.locale].format(d=value.day, m=value.month, y=value.year)

    def when(self, value: datetime | None) -> str:
        """A moment in the schedule's time zone, to the minute ('-' for none)."""
        if value is None:
            return "-"
        local = value.astimezone(self.zone)
        if self.locale != "en-US":
            return f"{self.date(local)} {local:%H:%M}"
        hour = local.hour % 12 or 12
        return f"{self.date(local)} {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"

    def exit_meaning(self, code: int) -> str:
        return self.say(f"exit_{code}") if f"exit_{code}" in TEXTS["en-US"] else str(code)
