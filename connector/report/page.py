"""The report as one self-contained HTML page: no script, no external file, no request.

Jinja2 with autoescaping writes it, so every text from a file, a buyer or Alephee is escaped
by the template engine, not by remembering to; a Content-Security-Policy that allows no
script and no fetch is the second line. The finished text passes ``redact`` like a log line.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from jinja2 import (
    Environment,
    FileSystemBytecodeCache,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from connector.redact import redact
from connector.report.charts import charts
from connector.report.facts import MAX_LISTED, MAX_RUNS, Facts
from connector.report.problems import Problem, problems
from connector.report.words import Words

FIGURES = (
    "files",
    "files_failed_n",
    "rows",
    "rejected",
    "sent",
    "accepted",
    "refused_n",
    "deferred",
    "orders_written",
    "cancellations",
    "calls",
    "rate_limited",
)
# page label -> RunSummary field, where the two differ
SUMMARY_FIELD = {"files_failed_n": "files_failed", "refused_n": "refused"}


@cache
def _environment(state: Path) -> Environment:
    """Compiling the page's template costs 0.2 s, in every ``once``: the compiled form is kept
    in ``state/cache`` (Jinja checks it against the template's checksum)."""
    cache_dir = state / "cache" / "report"
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        bytecode = FileSystemBytecodeCache(str(cache_dir))
    except OSError:  # a read-only state folder: compile every time, as before
        bytecode = None
    return Environment(
        loader=PackageLoader("connector", "data/report"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        bytecode_cache=bytecode,
    )


def words_for(facts: Facts) -> Words:
    return Words(facts.config.outbox.locale, facts.config.schedule.zone)


def render(facts: Facts, found: list[Problem] | None = None) -> str:
    words = words_for(facts)
    found = problems(facts, words) if found is None else found
    runs = [_relabel(run.counts) for run in facts.runs]
    last = facts.last_run
    html = (
        _environment(facts.config.folders.state)
        .get_template("page.html.j2")
        .render(
            w=words,
            facts=facts,
            worst=found[0] if found else None,
            others=found[1:],
            last=replace(last, counts=runs[0]) if last else None,
            figures=FIGURES,
            totals={key: sum(run.get(key, 0) for run in runs) for key in FIGURES},
            charts=charts(facts.days, words),
            max_listed=MAX_LISTED,
            max_runs=MAX_RUNS,
        )
    )
    return redact(html)


def _relabel(counts: dict[str, float]) -> dict[str, float]:
    out = dict(counts)
    for label, name in SUMMARY_FIELD.items():
        out[label] = counts.get(name, 0)
    return out
