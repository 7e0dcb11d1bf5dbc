"""Paths into an Alephee order, and templates made of them.

A path is dot-separated field names with optional list indexes: ``Buyer.Name``,
``Payments[0].Total``, ``Shipping.ReceiverAddress.City``. Names match case-insensitively
because the API's casing drifts (``MarketPlace`` in the Swagger sample, ``Marketplace`` in the
docs). A path that starts with ``Item.`` is read from the current order item instead of the
order. ``OwnOrderId`` is reserved: it is the id built from the mapping's ``own_order_id``
template. Resolving never raises: anything missing gives None.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

ITEM_PREFIX = "item"
OWN_ORDER_ID = "ownorderid"
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[-?\d+\])*)")
_INDEX = re.compile(r"\[(-?\d+)\]")

Step = str | int


@dataclass(frozen=True, slots=True)
class FieldPath:
    text: str
    steps: tuple[Step, ...]
    item: bool

    @classmethod
    def parse(cls, text: str) -> FieldPath:
        """Raise ValueError with a plain message when ``text`` is not a path."""
        steps: list[Step] = []
        for segment in text.strip().split("."):
            match = _SEGMENT.fullmatch(segment)
            if match is None:
                raise ValueError(
                    f"{text!r} is not a field path: write names separated by dots, with "
                    "optional list indexes, e.g. Buyer.Name or Payments[0].Total"
                )
            steps.append(match.group(1))
            steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
        item = isinstance(steps[0], str) and steps[0].casefold() == ITEM_PREFIX
        return cls(text.strip(), tuple(steps[1:] if item else steps), item)

    @property
    def is_own_order_id(self) -> bool:
        return (
            not self.item
            and len(self.steps) == 1
            and str(self.steps[0]).casefold() == (OWN_ORDER_ID)
        )

    def resolve(self, order: object, item: object | None) -> object | None:
        """The value at this path, or None when any step is missing (or no item is given)."""
        node = item if self.item else order
        if node is None:
            return None
        for step in self.steps:
            node = child(node, step)
            if node is None:
                return None
        return node


def child(node: object, step: Step) -> object | None:
    """``node[step]`` for a dict (key matched case-insensitively) or a list; None if absent."""
    if isinstance(step, int):
        if isinstance(node, list) and -len(node) <= step < len(node):
            found: object = node[step]
            return found
        return None
    if not isinstance(node, Mapping):
        return None
    if step in node:
        found = node[step]
        return found
    folded = step.casefold()
    for name in node:
        if isinstance(name, str) and name.casefold() == folded:
            found = node[name]
            return found
    return None


@dataclass(frozen=True, slots=True)
class Template:
    """Text with ``{path}`` fields (``{path:08d}`` with a format spec); ``{{`` is a brace."""

    text: str
    parts: tuple[tuple[str, FieldPath | None, str], ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        parts: list[tuple[str, FieldPath | None, str]] = []
        try:
            pieces = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise ValueError(
                f"{text!r} is not a valid template ({exc}): balance the braces"
            ) from None
        for literal, field, spec, conversion in pieces:
            if field is None:
                parts.append((literal, None, ""))
                continue
            if conversion or not field.strip():
                raise ValueError(f"{text!r}: write each field as {{Path}}, e.g. ALE-{{Id}}")
            parts.append((literal, FieldPath.parse(field), spec or ""))
        if not any(path is not None for _, path, _ in parts):
            raise ValueError(f"{text!r} has no {{field}}: every order would get the same id")
        return cls(text, tuple(parts))

    @property
    def paths(self) -> tuple[FieldPath, ...]:
        return tuple(path for _, path, _ in self.parts if path is not None)

    def render(self, order: object) -> str:
        """Fill the fields from ``order``; KeyError names a missing field, ValueError a bad spec."""
        out: list[str] = []
        for literal, path, spec in self.parts:
            out.append(literal)
            if path is None:
                continue
            value = path.resolve(order, None)
            if value is None or value == "":
                raise KeyError(path.text)
            out.append(format(value, spec) if spec else _plain(value))
        return "".join(out)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
