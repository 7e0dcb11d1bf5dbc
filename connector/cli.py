"""Thin command line: parse, call the library, map errors to the contract's exit codes.

Exit codes (``once``, and ``run`` when it stops on an error): 0 all done; 1 done, but rows or
files were rejected; 2 configuration or usage error; 3 Alephee unreachable, unauthorised or
rate-limited beyond the run's budget (pending work kept); 4 another instance is running;
5 internal error contained to its cycle or order (see the log; the other cycles ran).
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from connector import __version__, clock
from connector.config import Config, load_config
from connector.errors import EXIT_CONFIG, ConfigError, StopError
from connector.logs import setup_logging
from connector.redact import redact

if TYPE_CHECKING:
    from connector.runner import Options

log = logging.getLogger("connector")


def say(text: str = "") -> None:
    """Print for a person; silent under pythonw (no stdout) instead of crashing."""
    stream = sys.stdout
    if stream is None or getattr(stream, "closed", False):
        return
    try:
        stream.write(redact(text) + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass


def complain(text: str) -> None:
    stream = sys.stderr
    if stream is None or getattr(stream, "closed", False):
        log.error("%s", text)
        return
    try:
        stream.write(redact(text) + "\n")
    except (OSError, ValueError):
        log.error("%s", text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connector",
        description="ERP file-drop connector for Alephee: stock and prices from inbox/ to "
        "Alephee, orders and cancellations from Alephee to outbox/.",
    )
    parser.add_argument("--version", action="version", version=f"connector {__version__}")
    parser.add_argument(
        "--config", type=Path, help="path of connector.toml (default: ./connector.toml)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details (DEBUG)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "init", help="write a commented connector.toml, folders and example mappings"
    )
    p.add_argument("dir", nargs="?", type=Path, default=Path(), help="where (default: here)")
    p.add_argument("--force", action="store_true", help="overwrite an existing connector.toml")

    for name, text in (
        ("once", "one pass for a scheduled task: inbox files, due changes, due order cycles"),
        ("run", "keep running: watch the inbox and run the order cycles on their schedule"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument(
            "--refresh-catalog",
            action="store_true",
            help="download the Alephee catalog now, even if the cached one is fresh",
        )
        p.add_argument("--no-orders", action="store_true", help="skip the order cycles")
        p.add_argument(
            "--cycles-now",
            action="store_true",
            help="run the order cycles now, even if they ran recently",
        )
        if name == "once":
            p.add_argument(
                "--dry-run",
                action="store_true",
                help="show what would be sent and written; send and move nothing",
            )

    p = sub.add_parser(
        "status",
        help="what is queued, deferred, failed; last runs; API health",
        description="What waits for Alephee and when it goes, files waiting or failed, the "
        "last runs, the last contact with Alephee and its rate limits, and whether another "
        "connector is running. Reads the state database only; safe while a connector runs.",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="machine-readable output for monitoring tools (schema: docs/status-schema.json)",
    )
    p.add_argument(
        "--days", type=float, default=7.0, help="failed files of the last DAYS days (default 7)"
    )
    p.add_argument("--runs", type=int, default=10, help="how many last runs to show (default 10)")
    p.add_argument(
        "--check",
        action="store_true",
        help="for monitoring tools: one line and exit code 0 OK, 1 WARNING, 2 CRITICAL "
        "(the Nagios convention)",
    )

    p = sub.add_parser(
        "report",
        help="write the HTML report now (outbox/report.html unless [report] path says else)",
        description="Writes the run report, the page that is also written after every run: "
        "the last run, the last days with charts, failed files, products Alephee refused, "
        "changes waiting for their slot, orders. Reads the state database only.",
    )
    p.add_argument("--output", type=Path, help="write it here instead")

    p = sub.add_parser(
        "check",
        help="check the set-up: config, mappings, files, API key, folders",
        description="Checks connector.toml, the mappings, the folders (exist, writable, state "
        "on a local disk), the API key and account (GET /v2/accounts) and the price list, and "
        "reads each inbox file (or FILE) through its mapping, showing its first rows. One line "
        "per finding. Exit code 0 when all is fine, 2 otherwise. Sends nothing, moves nothing.",
    )
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="an export file to read through its mapping (default: every file in the inbox)",
    )
    p.add_argument(
        "--probe",
        action="store_true",
        help="also measure the live API with a few read-only calls (page cap, rate-limit "
        "headers, date and SKU shapes) into state/api-profile.json, safe to send to support",
    )

    p = sub.add_parser(
        "retry-refused",
        help="send values Alephee refused again with the next run",
        description="Alephee's refusals are sent again by themselves after "
        "schedule.refused_retry_hours (24 h) or when the account, price list or base URL "
        "changes. After fixing the cause in Alephee, this makes them due now: all of them, or "
        "only the SKUs given. The next 'once' (or 'run') sends them.",
    )
    p.add_argument("skus", nargs="*", metavar="SKU", help="only these SKUs (default: all)")

    p = sub.add_parser(
        "reconcile",
        help="compare Alephee's stock and prices with what the connector believes; repair",
        description="Downloads the Alephee catalog now, compares each product's stock and "
        "prices with the accepted state (what the connector believed Alephee holds) and with "
        "the last export's intent, writes the differences to outbox/reconcile-<time>.csv, sets "
        "the accepted state to Alephee's values and queues the export's values where Alephee "
        "differs: the next 'once' (or 'run') sends them. Exit codes as 'once'.",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show what reconcile would find and queue; change nothing (the report goes to a "
        "scratch folder)",
    )

    p = sub.add_parser("sandbox", help="serve the built-in Alephee sandbox on 127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 = any free)")
    p.add_argument("--products", type=int, default=200, help="catalog size to load")
    p.add_argument("--orders", type=int, default=25, help="pending orders to load")
    p.add_argument(
        "--profile",
        choices=("realistic", "kind"),
        default="realistic",
        help="realistic: the live API's quirks (default); kind: as documented",
    )
    p.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME=on|off",
        help="switch one quirk (repeatable), e.g. --quirk streak_429=off (see docs/sandbox.md)",
    )

    p = sub.add_parser("demo", help="the whole loop on bundled sample files against the sandbox")
    p.add_argument(
        "--workdir", type=Path, help="keep the demo workspace here (default: a temp dir)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = COMMANDS[args.command]
    try:
        return handler(args)
    except ConfigError as exc:
        head = f"Configuration problem in {exc.source}:" if exc.source else "Configuration problem:"
        complain(head)
        for line in exc.problems:
            complain(f"  - {line}")
        return EXIT_CONFIG
    except StopError as exc:
        complain(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        complain("stopped")
        return 130


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    setup_logging(config.log_dir, verbose=args.verbose)
    return config


def cmd_init(args: argparse.Namespace) -> int:
    from connector.operator.scaffold import init_workspace

    created = init_workspace(args.dir, force=args.force)
    for path in created:
        say(f"created {path}")
    say("Next: set ALEPHEE_API_KEY and alephee.account_id, then run 'connector check'.")
    return 0


def cmd_once(args: argparse.Namespace) -> int:
    from connector.runner import Options, once

    config = _config(args)
    options = Options(
        dry_run=getattr(args, "dry_run", False),
        refresh_catalog=args.refresh_catalog,
        orders=not args.no_orders,
        force_cycles=args.cycles_now,
    )
    if not options.dry_run:
        options.after_pass = _after_pass(config, options)
    code, summary = once(config, options)
    if options.dry_run:
        from connector.dryrun.report import would_line

        say("Dry run: nothing is sent to Alephee and no inbox file is moved.")
        for line in options.plan:
            say(line)
        say(would_line(summary, options.plan.sending))
    else:
        say(summary.line())
    for note in summary.notes:
        say(f"  ! {note}")
    return code


def cmd_run(args: argparse.Namespace) -> int:
    from connector.runner import Options, StopFlag, run

    config = _config(args)
    stop = StopFlag()
    stop.install()
    options = Options(
        refresh_catalog=args.refresh_catalog,
        orders=not args.no_orders,
        force_cycles=args.cycles_now,
    )
    options.after_pass = _after_pass(config, options)
    say(f"Watching {config.folders.inbox}. Press Ctrl+C to stop.")
    return run(config, options, stop)


def _after_pass(config: Config, options: Options) -> Callable[[sqlite3.Connection], None]:
    """Issue 15: the report and the alerts after every recorded pass of once and run."""
    from connector.alerts import after_pass

    return lambda conn: after_pass(config, conn, options.now())


def cmd_status(args: argparse.Namespace) -> int:
    from connector.operator.status import collect, render

    config = load_config(args.config)
    if args.check:
        from connector.report.check import check_line

        code, line = check_line(config)
        say(line)
        return code
    report = collect(config, days=args.days, runs=args.runs)
    if args.json:
        import json

        say(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        render(report, config)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from connector.report.check import report_now

    config = _config(args)
    if args.output is not None:
        config = config.model_copy(
            update={"report": config.report.model_copy(update={"path": args.output.absolute()})}
        )
    say(f"Report written to {report_now(config)}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from connector.operator.check import run_check

    return run_check(args.config, args.file, say, probe=args.probe)


def cmd_retry_refused(args: argparse.Namespace) -> int:

    from connector.products import refusals
    from connector.runner import instance_lock, open_state

    config = _config(args)
    with instance_lock(config):
        conn = open_state(config)
        try:
            known = refusals.refused_skus(conn)
            due, forgotten = refusals.retry_refused(conn, clock.now(), list(args.skus))
        finally:
            conn.close()
    unknown = sorted(set(args.skus) - known)
    if unknown:
        say(f"Not refused (nothing to retry): {', '.join(unknown)}")
    say(f"{due} refused change(s) are due now and go with the next run.")
    if forgotten:
        say(
            f"{forgotten} older refusal(s) had no value left in the queue: the next export "
            "sends their values again."
        )
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from connector.operator.reconcile import run_reconcile, summary_lines

    config = _config(args)
    outcome = run_reconcile(config, dry_run=args.dry_run)
    if args.dry_run:
        say("Dry run: nothing is changed and no file is written.")
    for line in summary_lines(outcome, dry_run=args.dry_run):
        say(line)
    return outcome.code


def cmd_sandbox(args: argparse.Namespace) -> int:
    from connector.operator.demo import serve_sandbox

    setup_logging(None, verbose=args.verbose, console_level=logging.INFO)
    return serve_sandbox(
        args.port, args.products, args.orders, say, profile=args.profile, quirks=args.quirk
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from connector.operator.demo import run_demo

    return run_demo(args.workdir, say)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "once": cmd_once,
    "run": cmd_run,
    "status": cmd_status,
    "report": cmd_report,
    "check": cmd_check,
    "sandbox": cmd_sandbox,
    "demo": cmd_demo,
    "retry-refused": cmd_retry_refused,
    "reconcile": cmd_reconcile,
}
