"""Operator tests: a workspace with a legacy-ERP products mapping, the CLI as a real process,
and a small JSON Schema check for ``status --json``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from connector.clock import TEST_NOW
from connector.config import Config, load_config
from connector.operator.scaffold import init_workspace
from connector.sandbox import Sandbox
from tests.conftest import write_config

ROOT = Path(__file__).resolve().parent.parent

MAPPING = """
kind = "products"
name = "erp-stock"
files = ["stock*.csv"]
encoding = "cp1252"
delimiter = ";"
decimal = ","
thousands = "."
header_row = 2

[columns]
sku = ["Código", "SKU"]
quantity = "Stock"
price_with_taxes = "Precio"
"""


def export(rows: list[tuple[str, str, str]], title: str = "Exportación ERP Ñandú") -> bytes:
    """A legacy-ERP export: title row, ';', decimal commas, cp1252. Rows: (sku, stock, price)."""
    lines = [title, "Código;Descripción;Stock;Precio"]
    lines += [f"{sku};Artículo {sku};{qty};{price}" for sku, qty, price in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def money(value: float) -> str:
    whole, cents = f"{value:.2f}".split(".")
    return f"{int(whole):,}".replace(",", ".") + f",{cents}"


def catalog_rows(n: int, *, bump: int = 0, start: int = 1) -> list[tuple[str, str, str]]:
    return [
        (f"{i:07d}", str(10 + i % 40 + bump), money(1000 + i * 1.25))
        for i in range(start, start + n)
    ]


def setup(folder: Path, sb: Sandbox, extra: str = "", *, key: str | None = None) -> Config:
    """init + a test config against the sandbox + the ERP mapping as the only products mapping."""
    init_workspace(folder)
    if key is None:
        write_config(folder, sb.url, extra=extra)
    else:
        write_config(folder, sb.url, key=key, extra=extra)
    mappings = folder / "mappings"
    for path in mappings.glob("*.toml"):
        if path.name != "orders.toml":
            path.unlink()
    (mappings / "erp-stock.toml").write_text(MAPPING, encoding="utf-8")
    return load_config(folder / "connector.toml")


def drop(config: Config, name: str, content: bytes, mtime: float | None = None) -> Path:
    path = config.folders.inbox / name
    path.write_bytes(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def clean_env(now: datetime | None = None) -> dict[str, str]:
    """The environment of a connector child process; ``now`` starts its clock at that instant."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEPHEE_")}
    if now is not None:
        env[TEST_NOW] = now.isoformat()
    env.pop("CONNECTOR_CRASH_AT", None)
    env["PYTHONPATH"] = str(ROOT)
    env["COLUMNS"] = "120"
    return env


def run_connector(
    config: Config,
    *args: str,
    prefix: tuple[str, ...] = (),
    timeout: float = 120,
    now: datetime | None = None,
) -> subprocess.CompletedProcess[str]:
    """``python -m connector --config ... ARGS`` in a real process, from another folder."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "connector", "--config", str(config.source), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        env=clean_env(now),
        cwd=str(config.source.parent.parent),
    )


def without_write_permission(folder: Path) -> tuple[str, ...]:
    """Make ``folder`` read-only; the command prefix that makes that hold for root too."""
    if os.name == "nt":
        pytest.skip("a directory cannot be made read-only with chmod on Windows")
    folder.chmod(0o555)
    if os.geteuid() != 0:
        return ()
    # root ignores permission bits through CAP_DAC_OVERRIDE: run the child without it.
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a folder unwritable")
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")


def problems(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("PROBLEM")]


# -- a JSON Schema check for the subset pydantic emits ----------------------------------------

ANNOTATIONS = {"title", "description", "default", "$defs"}
TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
HANDLED = {
    "$ref",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "anyOf",
    "minimum",
    "exclusiveMinimum",
}


def schema_errors(
    value: Any, schema: dict[str, Any], root: dict[str, Any], at: str = "$"
) -> list[str]:
    """Every place where ``value`` breaks ``schema``; unknown keywords fail loudly."""
    unknown = set(schema) - HANDLED - ANNOTATIONS
    assert not unknown, f"the test's schema check does not know {unknown}: extend it"
    if "$ref" in schema:
        name = re.fullmatch(r"#/\$defs/(.+)", schema["$ref"])
        assert name, f"unsupported $ref {schema['$ref']}"
        return schema_errors(value, root["$defs"][name[1]], root, at)
    if "anyOf" in schema:
        options = [schema_errors(value, option, root, at) for option in schema["anyOf"]]
        return [] if any(not found for found in options) else [f"{at}: matches no anyOf option"]
    errors = _type_errors(value, schema, at)
    if errors:
        return errors
    if isinstance(value, dict):
        errors += _object_errors(value, schema, root, at)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], root, f"{at}[{index}]")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{at}: {value} < minimum {schema['minimum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append(f"{at}: {value} <= exclusiveMinimum {schema['exclusiveMinimum']}")
    return errors


def _type_errors(value: Any, schema: dict[str, Any], at: str) -> list[str]:
    if "type" not in schema:
        return []
    wanted = TYPES[schema["type"]]
    if isinstance(value, bool) and schema["type"] != "boolean":
        return [f"{at}: boolean where {schema['type']} was expected"]
    if not isinstance(value, wanted):
        return [f"{at}: {type(value).__name__} where {schema['type']} was expected"]
    return []


def _object_errors(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], at: str
) -> list[str]:
    errors = [f"{at}: missing {name!r}" for name in schema.get("required", []) if name not in value]
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            errors += schema_errors(item, properties[name], root, f"{at}.{name}")
        elif extra is False:
            errors.append(f"{at}: unexpected {name!r}")
        elif isinstance(extra, dict):
            errors += schema_errors(item, extra, root, f"{at}.{name}")
    return errors
