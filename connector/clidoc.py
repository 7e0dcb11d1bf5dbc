"""The CLI reference (docs/cli.md), generated from the parser's own ``--help`` texts.

    python -m connector.clidoc > docs/cli.md

A test regenerates it in memory and fails when the file has drifted from the code. The width is
fixed (COLUMNS=100) and colour is off, so the text does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from connector.cli import build_parser

WIDTH = "100"
HEAD = """\
# Command line reference

Generated from `connector --help` by `python -m connector.clidoc > docs/cli.md`; do not edit by
hand (a test fails when this page and the code disagree). What the commands are for, with
examples, is in the [README](../README.md#the-operators-guide); exit codes are in
[exit-codes.md](exit-codes.md).
"""


@contextmanager
def _stable_terminal() -> Iterator[None]:
    """argparse wraps to $COLUMNS; newer Pythons colour help unless NO_COLOR is set."""
    saved = {name: os.environ.get(name) for name in ("COLUMNS", "NO_COLOR")}
    os.environ["COLUMNS"] = WIDTH
    os.environ["NO_COLOR"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse offers no public way to list sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render() -> str:
    """The whole docs/cli.md text."""
    with _stable_terminal():
        parser = build_parser()
        parts = [HEAD, "## connector\n", _block(parser.format_help())]
        for name, sub in subcommands(parser).items():
            parts += [f"## connector {name}\n", _block(sub.format_help())]
    return "\n".join(parts)


def _block(text: str) -> str:
    return "```text\n" + text.rstrip() + "\n```\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
