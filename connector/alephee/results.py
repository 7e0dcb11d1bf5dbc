"""Per-item outcomes of POST /v2/products: accepted only when Alephee clearly said so.

An ActionResult lists the items that are not plain Ok (``Items``) and counts every item by its
level (``Quantities``). Live answers differ from the documentation: the vendor's own example
lists items without ``ValidationLevel`` and spells ``keyValue``; a 200 may count errors that its
list does not name. So an item is accepted only when the list and the counts agree that it was
applied; an item the list names as an error is refused; anything else is *unclear*: it stays
queued, is sent again, and is reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from connector.alephee.models import (
    LEVEL_ERROR,
    ActionResult,
    ProductUpdate,
    Quantities,
    ResultItem,
)

log = logging.getLogger(__name__)
UNCLEAR = "no clear answer from Alephee for this item; it stays queued and is sent again"


@dataclass
class ItemResult:
    ok: bool
    message: str = ""
    transient: bool = False  # outcome unknown: keep it queued and send again


@dataclass
class _Listed:
    level: int | None
    message: str


def match_products(items: list[ProductUpdate], result: ActionResult) -> dict[str, ItemResult]:
    """Per-SKU outcome of one batch, cross-checked with ``Quantities``."""
    skus = [item.sku for item in items]
    listed = _listed_by_sku(skus, result.items)
    errors = {sku for sku, entry in listed.items() if entry.level == LEVEL_ERROR}
    unknown = {sku for sku, entry in listed.items() if entry.level is None}
    counts = result.quantities
    if unknown and counts is not None and counts.error == len(errors) + len(unknown):
        errors |= unknown  # the counts say every listed item without a level failed
        unknown = set()
    clear = _counts_agree(counts, len(skus), len(errors)) and not unknown
    if not clear:
        log.warning(
            "Alephee's answer does not account for every item (counts %s, %d named as refused, "
            "%d without a level); the unclear items stay queued",
            _describe(counts),
            len(errors),
            len(unknown),
        )
    outcomes: dict[str, ItemResult] = {}
    for sku in skus:
        entry = listed.get(sku)
        if sku in errors and entry is not None:
            outcomes[sku] = ItemResult(False, entry.message)
        elif entry is not None and entry.level is not None:
            outcomes[sku] = ItemResult(True, entry.message)  # listed as Ok, Info or Warning
        elif clear:
            outcomes[sku] = ItemResult(True)
        else:
            outcomes[sku] = ItemResult(False, UNCLEAR, transient=True)
    return outcomes


def _listed_by_sku(skus: list[str], entries: list[ResultItem]) -> dict[str, _Listed]:
    """Listed entries tied to the batch's SKUs (case-insensitively, numbers as digits); an
    entry naming no SKU of the batch is left to the counts."""
    by_fold = {sku.casefold(): sku for sku in skus}
    listed: dict[str, _Listed] = {}
    for entry in entries:
        sku = by_fold.get(str(entry.key_value).strip().casefold())
        if sku is None:
            continue
        level, before = entry.level, listed.get(sku)
        if before is not None and before.level is not None and level is not None:
            level = min(level, before.level)  # listed twice: the worse level wins
        listed[sku] = _Listed(level, entry.text)
    return listed


def _counts_agree(counts: Quantities | None, sent: int, refused: int) -> bool:
    if counts is None:
        return False  # no counts: nothing is acknowledged by silence
    applied = counts.ok + counts.warning + counts.info
    return counts.total == sent and counts.error == refused and applied == sent - refused


def _describe(counts: Quantities | None) -> str:
    if counts is None:
        return "missing"
    return (
        f"Ok {counts.ok}, Warning {counts.warning}, Info {counts.info}, "
        f"Error {counts.error}, Total {counts.total}"
    )
