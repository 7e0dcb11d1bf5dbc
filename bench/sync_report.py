"""Tables of the sync benchmark, the machine they ran on, and the "Diff and sync" section of
bench/README.md (the other sections of that file belong to other benchmarks: left as found).

Standard library only: the parent process of the benchmark must stay small, because a child
started with vfork/exec inherits the parent's peak as its own ``ru_maxrss``.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

SECTION = "## Diff and sync"
# text columns; the others are numbers
LEFT = ("measurement", "step", "file", "note", "figure", "target", "anchor", "result")


@dataclass(frozen=True)
class Row:
    name: str
    rows: int  # 0: not a per-row figure (no rows/s)
    seconds: float | None  # None: skipped
    peak_mb: float | None
    note: str = ""


def machine() -> dict[str, str]:
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("pandas", "pyarrow", "csv-diff"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        **versions,
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def machine_line(info: dict[str, str]) -> str:
    return (
        f"{info['nproc']} cores ({info['cpu']}), {info['os']}, Python {info['python']}, "
        f"pandas {info['pandas']}, pyarrow {info['pyarrow']}, csv-diff {info['csv-diff']}; "
        f"run {info['date']}, load average at start {info['load']}"
    )


def markdown_table(headers: list[str], lines: list[list[str]]) -> str:
    right = [not h.lower().startswith(LEFT) for h in headers]
    rule = ["---:" if r else "---" for r in right]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def text_table(headers: list[str], lines: list[list[str]]) -> str:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    left = [h.lower().startswith(LEFT) for h in headers]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if is_left else c.rjust(w)
            for c, w, is_left in zip(cells, widths, left, strict=True)
        ).rstrip()

    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, lines)])


TIMING_HEADERS = ["Measurement", "Rows", "Seconds", "Peak RSS MB", "Rows/s", "Note"]


def timing_lines(rows: list[Row]) -> list[list[str]]:
    lines = []
    for row in rows:
        count = f"{row.rows:,}" if row.rows else "-"
        if row.seconds is None:
            lines.append([row.name, count, "-", "-", "-", row.note])
            continue
        rate = f"{row.rows / row.seconds:,.0f}" if row.rows and row.seconds > 0 else "-"
        peak = f"{row.peak_mb:,.0f}" if row.peak_mb is not None else "-"
        lines.append([row.name, count, f"{row.seconds:.2f}", peak, rate, row.note])
    return lines


def write_section(readme: Path, body: str, title: str = SECTION) -> None:
    """Replace (or add) the section ``title``; every other line stays as it was."""
    section = f"{title}\n\n{body.strip()}\n"
    if not readme.exists():
        readme.write_text(section, encoding="utf-8")
        return
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        after = pattern.split(text, maxsplit=1)[1]
        text = pattern.sub(lambda _: section + ("\n" if after else ""), text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text, encoding="utf-8")
