"""Spot typos in mapping paths by checking them against the shape of an Alephee order.

The shape is the vendor's Swagger sample (``connector/data/order-model.json``). A path outside
it is only a *warning*: the API may add fields, and a missing path just gives an empty cell.
``connector check`` shows these warnings so ``Buyer.Nmae`` is caught before an accountant sees
an empty column.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from connector.orders.paths import FieldPath, child

# Raw marketplace payload: its content is the marketplace's, so anything under it is accepted.
_FREE_FORM = {"externaljson"}


@cache
def order_model() -> dict[str, Any]:
    text = resources.files("connector").joinpath("data/order-model.json").read_text("utf-8")
    model: dict[str, Any] = json.loads(text)
    return model


def path_warnings(paths: Iterable[FieldPath]) -> list[str]:
    """One line per path that does not exist in the order model, with a suggestion."""
    lines: list[str] = []
    for path in dict.fromkeys(paths):
        problem = _problem(path)
        if problem and problem not in lines:
            lines.append(problem)
    return lines


def _problem(path: FieldPath) -> str | None:
    if path.is_own_order_id:
        return None
    node: object = order_model()
    if path.item:
        node = order_model()["Items"][0]
    walked: list[str] = ["Item"] if path.item else []
    for step in path.steps:
        if isinstance(step, str) and step.casefold() in _FREE_FORM and not path.item:
            return None
        message = _step_problem(node, step, walked)
        if message:
            return f"path {path.text!r}: {message}; the cell will stay empty"
        node = _next(node, step)
        walked.append(str(step))
    return None


def _step_problem(node: object, step: str | int, walked: list[str]) -> str | None:
    where = ".".join(walked) or "the order"
    if isinstance(step, int):
        return None if isinstance(node, list) else f"{where} is not a list: remove [{step}]"
    if isinstance(node, list):
        return f"{where} is a list: pick one entry, e.g. {where}[0].{step}"
    if not isinstance(node, Mapping):
        return f"{where} has no fields below it"
    if child(node, step) is not None:
        return None
    hint = difflib.get_close_matches(step, list(node), n=1, cutoff=0.6) or _folded(step, node)
    suggestion = f" (did you mean {hint[0]}?)" if hint else ""
    return f"{where} has no field {step!r}{suggestion}"


def _folded(step: str, node: Mapping[str, Any]) -> list[str]:
    names = {name.casefold(): name for name in node}
    found = difflib.get_close_matches(step.casefold(), list(names), n=1, cutoff=0.6)
    return [names[name] for name in found]


def _next(node: object, step: str | int) -> object:
    if isinstance(step, int) and isinstance(node, list):
        return node[0] if node else None
    return child(node, step)
