"""``connector demo`` and ``connector sandbox``: the whole loop on bundled samples, offline.

The demo starts the sandbox in this process on 127.0.0.1, writes a workspace in a temporary
folder whose configuration points at that sandbox (it can never reach the real Alephee), drops
ERP exports shaped like a legacy ERP's (cp1252, ``;``, decimal commas, a title row, leading-zero
SKUs) and runs ``once`` twice, then the order cycles, printing what happened.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connector.config import Config, load_config
from connector.logs import setup_logging
from connector.operator.demo_back import back_to_alephee
from connector.operator.scaffold import init_workspace, template_text
from connector.operator.status import collect, render
from connector.runner import Options, once
from connector.sandbox import Sandbox, SandboxOptions, serve
from connector.sandbox.fixtures import (
    cancelled_order,
    cart_orders,
    kit_order,
    make_catalog,
    make_orders,
)
from connector.sandbox.quirks import parse_switches

Say = Callable[[str], None]
DEMO_KEY = "sandbox-demo-key"
DEMO_ACCOUNT = 1001
CATALOG_SIZE = 200


def demo_catalog() -> list[dict[str, object]]:
    return make_catalog(CATALOG_SIZE)


def demo_orders() -> list[dict[str, object]]:
    return [
        *make_orders(25, hostile=True),
        kit_order(),
        cancelled_order(),
        *cart_orders(start_id=8001, complete=False),
    ]


def serve_sandbox(
    port: int,
    products: int,
    orders: int,
    say: Say,
    *,
    profile: str = "realistic",
    quirks: list[str] | None = None,
) -> int:
    opts = SandboxOptions(api_key=DEMO_KEY, account_id=DEMO_ACCOUNT, port=port, profile=profile)
    opts.quirks = opts.quirks.with_switches(parse_switches(quirks or []))
    catalog, pending = make_catalog(products), make_orders(orders, hostile=True)
    serve(
        opts,
        catalog=catalog,
        orders=pending,
        announce=lambda sb: _announce(sb, say, catalog, pending),
    )
    return 0


def _announce(
    sandbox: Sandbox, say: Say, catalog: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> None:
    """What a tester needs to point a connector (or another client) at it."""
    opts = sandbox.options
    skus = [str(p["Identification"]["SKU"]) for p in catalog]
    ids = [int(o["Id"]) for o in orders]
    lists = ", ".join(f"{p['Id']} ({p['Name']})" for p in opts.price_lists)
    on = [name for name, value in opts.quirks.to_json().items() if value is True]
    say(f"Alephee sandbox at {sandbox.url} (never the real Alephee). Ctrl+C to stop.")
    say(f"  API key:     {DEMO_KEY}")
    say(f"  accounts:    {', '.join(map(str, opts.account_ids))} (price lists: {lists})")
    say(
        f"  catalog:     {len(skus)} products, SKUs {skus[0]} to {skus[-1]}"
        if skus
        else "  catalog:     empty"
    )
    say(
        f"  orders:      {len(ids)} not integrated, ids {min(ids)} to {max(ids)}"
        if ids
        else "  orders:      none"
    )
    say(f"  profile:     {opts.profile}; quirks on: {', '.join(on) or 'none'}")
    say(f"  control API: {sandbox.url}/_sandbox/ (seed orders, faults, quirks: docs/sandbox.md)")
    say(
        f'  connector.toml: base_url = "{sandbox.url}", account_id = {opts.account_id}, '
        f"and ALEPHEE_API_KEY={DEMO_KEY}"
    )


def export_text(rows: list[tuple[str, str, str, str]]) -> bytes:
    """A legacy-ERP export: a title row, ';', decimal commas, thousands dots, cp1252."""
    lines = [
        "Exportación de stock y precios - Sistema Gestión Ñandú",
        "Código;Descripción;Stock;Precio",
    ]
    lines += [";".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def money(value: float) -> str:
    whole, cents = f"{value:.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"{groups},{cents}"


def first_export(catalog: list[dict[str, object]]) -> bytes:
    rows = []
    for i, product in enumerate(catalog):
        ident = product["Identification"]
        assert isinstance(ident, dict)
        rows.append(
            (str(ident["SKU"]), str(ident["Name"]), str(10 + i % 50), money(1500 + i * 37.5))
        )
    rows += [
        ("9990001", "Producto sin publicar", "4", "1.200,00"),
        ("9990002", "Otro sin publicar", "1", "800,00"),
        ("0000010", "Stock negativo", "-3", "1.000,00"),
        ("0000011", "Precio roto", "5", "abc"),
    ]
    # 0000010 and 0000011 also appear above with good values: the rule rejects both lines.
    return export_text(rows)


def second_export(catalog: list[dict[str, object]]) -> bytes:
    """The same export later in the day: 12 products changed stock, one dropped to 0."""
    rows = []
    for i, product in enumerate(catalog):
        ident = product["Identification"]
        assert isinstance(ident, dict)
        stock = 10 + i % 50
        if i % 17 == 3:
            stock = 0 if i == 3 else stock + 5
        rows.append((str(ident["SKU"]), str(ident["Name"]), str(stock), money(1500 + i * 37.5)))
    return export_text(rows)


def run_demo(workdir: Path | None, say: Say) -> int:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        return _demo(workdir, say)
    with tempfile.TemporaryDirectory(prefix="alephee-demo-") as tmp:
        code = _demo(Path(tmp), say)
        say("(The demo workspace is removed now; 'connector demo --workdir DIR' keeps it.)")
        return code


def _demo(root: Path, say: Say) -> int:
    # The kind profile: the demo shows the loop, not the live API's quirks.
    demo_options = SandboxOptions(api_key=DEMO_KEY, account_id=DEMO_ACCOUNT, profile="kind")
    with Sandbox(demo_options) as sandbox:
        catalog = demo_catalog()
        sandbox.load_catalog(catalog)
        sandbox.add_orders(demo_orders())
        config_text = _demo_config(sandbox.url)
        init_workspace(root, force=True, config_text=config_text)
        config = load_config(root / "connector.toml")
        setup_logging(config.log_dir, console=False)
        say(f"Demo workspace: {root}")
        say(
            f"Sandbox: {sandbox.url} with {len(catalog)} catalog products and "
            f"{len(demo_orders())} orders (never the real Alephee)"
        )
        say("")
        (config.folders.inbox / "stock-20261123-0800.csv").write_bytes(first_export(catalog))
        say("1) The ERP drops stock-20261123-0800.csv (cp1252, ';', title row, 204 lines)")
        code, summary = once(config, Options(progress=False))
        say(f"   exit {code}: {summary.line()}")
        _show_outbox(config.folders.outbox, say)
        (config.folders.inbox / "stock-20261123-1400.csv").write_bytes(second_export(catalog))
        say("2) A later export with 12 stock changes (one product out of stock)")
        code2, summary2 = once(config, Options(progress=False))
        say(f"   exit {code2}: {summary2.line()}")
        posts = [r for r in sandbox.requests if r.endpoint == "POST /v2/products"]
        say(
            f"   POST /v2/products calls so far: {len(posts)} "
            f"(batches of {config.alephee.batch_size}, only changed catalog products)"
        )
        sandbox.cancel_order(5002)
        sandbox.cancel_order(5004)
        say("3) Two orders are cancelled in Alephee after they were written")
        code3, summary3 = once(config, Options(progress=False, force_cycles=True))
        say(f"   exit {code3}: {summary3.line()}")
        _show_outbox(config.folders.outbox, say)
        _show_orders(config.folders.outbox, say)
        code4 = back_to_alephee(sandbox, config, say)  # status, tracking and an invoice
        say("5) connector status:")
        render(collect(config), config)
        say(_price_slot_line(config, summary.deferred))
        failed = [c for c in (code, code2, code3, code4) if c not in (0, 1)]
        return failed[0] if failed else 0


def _price_slot_line(config: Config, deferred: int) -> str:
    """What happened to the first export's price changes, said for the time the demo ran."""
    night = (
        f"{config.schedule.night_start:%H:%M}-{config.schedule.night_end:%H:%M} "
        f"{config.schedule.timezone}"
    )
    if deferred:
        return (
            f"Done. {deferred} price changes wait for the night slot ({night}); "
            "'connector status' shows when they go."
        )
    return f"Done. Price changes were sent at once: the demo ran inside the night slot ({night})."


def _demo_config(url: str) -> str:
    text = template_text("connector.toml")
    text = text.replace('# base_url = "https://api.alephcrm.com"', f'base_url = "{url}"')
    text = text.replace('# api_key = ""', f'api_key = "{DEMO_KEY}"')
    text = text.replace("account_id = 0", f"account_id = {DEMO_ACCOUNT}")
    text = text.replace("# min_age_seconds = 5", "min_age_seconds = 0")
    text = text.replace("# stable_checks = 2", "stable_checks = 1")
    return text


def _show_orders(outbox: Path, say: Say) -> None:
    """The first lines of the orders file, as an accountant's Excel would get them."""
    path = next(iter(sorted(outbox.glob("orders-*.csv"))), None)
    if path is None:
        return
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    say(f"   first lines of {path.name} (';', decimal comma, hostile buyer text neutralised):")
    for line in lines[:4]:
        say(f"     {line[:110]}")


def _show_outbox(outbox: Path, say: Say) -> None:
    for path in sorted(outbox.glob("*")):
        if path.is_file() and not path.name.startswith("."):
            say(f"   outbox/{path.name} ({path.stat().st_size:,} bytes)")
