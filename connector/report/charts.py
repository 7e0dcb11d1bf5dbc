"""Bar charts per day as plain geometry, drawn by the page template as inline SVG.

No chart library: a page that must open offline, on a phone, under 1 MB, needs only stacked
bars, and the geometry fits in a screenful of arithmetic. Each chart carries its text
alternative (title and a one-sentence description with the total and the busiest day).
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.report.facts import Day
from connector.report.words import Words

WIDTH, HEIGHT = 600, 200
LEFT, RIGHT, BOTTOM, TOP = 48, 20, 24, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # CSS class index: the colour
    tip: str  # "23/11: 20"


@dataclass(frozen=True)
class Chart:
    ident: str
    title: str
    desc: str
    legend: list[str]
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # y position, label (0 and the maximum)
    days: list[tuple[float, str]]  # x position, label (a few days, not all thirty)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    base: int = HEIGHT - BOTTOM  # the x axis


def chart(
    ident: str, title: str, days: list[Day], series: dict[str, list[float]], words: Words
) -> Chart:
    """Stacked bars, one per day; ``series`` maps a legend label to one value per day."""
    columns = list(series.values())
    totals = [sum(values) for values in zip(*columns, strict=True)] if columns else []
    top = max(totals, default=0) or 1
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    scale = (HEIGHT - BOTTOM - TOP) / top
    bars = []
    for index, day in enumerate(days):
        base: float = HEIGHT - BOTTOM
        for number, values in enumerate(columns):
            value = values[index]
            if value <= 0:
                continue
            height = value * scale
            base = base - height
            tip = f"{words.day(day.day)}: {words.number(value, 1 if value % 1 else 0)}"
            bars.append(Bar(LEFT + index * slot + 1, base, max(slot - 2, 1), height, number, tip))
    step = max(1, len(days) // 6)
    labels = [
        (LEFT + (i + 0.5) * slot, words.day(day.day))
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % step == 0
    ]
    ticks: list[tuple[float, str]] = [
        (HEIGHT - BOTTOM, "0"),
        (TOP, words.number(top, 1 if top % 1 else 0)),
    ]
    desc = _describe(days, totals, words)
    return Chart(ident, title, desc, list(series), bars, ticks, labels)


def _describe(days: list[Day], totals: list[float], words: Words) -> str:
    if not any(totals):
        return words.say("chart_desc_empty", days=len(days))
    busiest = max(range(len(totals)), key=lambda i: totals[i])
    decimals = 1 if any(t % 1 for t in totals) else 0
    return words.say(
        "chart_desc",
        total=words.number(sum(totals), decimals),
        days=len(days),
        day=words.day(days[busiest].day),
        top=words.number(totals[busiest], decimals),
    )


def charts(days: list[Day], words: Words) -> list[Chart]:
    def per_day(key: str) -> list[float]:
        return [day.get(key) for day in days]

    return [
        chart("sent", words.say("chart_sent"), days, {words.say("sent"): per_day("sent")}, words),
        chart(
            "problems",
            words.say("chart_problems"),
            days,
            {
                words.say("rejected"): per_day("rejected"),
                words.say("refused_n"): per_day("refused"),
            },
            words,
        ),
        chart(
            "orders",
            words.say("chart_orders"),
            days,
            {words.say("orders_written"): per_day("orders_written")},
            words,
        ),
        chart(
            "seconds",
            words.say("chart_seconds"),
            days,
            {words.say("seconds"): [round(day.longest_seconds, 1) for day in days]},
            words,
        ),
    ]
