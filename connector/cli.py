"""Thin command line: parse, call the library, map errors to the contract's exit codes."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="connector")
    parser.parse_args(argv)
    return 0
