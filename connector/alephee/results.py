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
    LEVEL_INFO,
    LEVEL_WARNING,
    ActionResult,
    ProductItem,
    Quantities,
    ResultItem,
)

log = logging.getLogger(__name__)
UNCLEAR = "no clear answer from Alephee for this item; it stays queued and is sent again"
UNNAMED = "Alephee counted this item as refused without naming it (no reason given)"


@dataclass
class ItemResult:
    ok: bool
    message: str = ""
    transient: bool = False  # outcome unknown: keep it queued and send again


@dataclass
class _Listed:
    level: int | None
    message: str


def match_products(items: list[ProductItem], result: ActionResult) -> dict[str, ItemResult]:
    """Per-SKU outcome of one batch, cross-checked with ``Quantities``.

    Items named with a level are what they say. The others are read from the counts, by group:
    items listed without a level are each an Error or a Warning/Info; items not listed are each
    Ok or a refusal the list left out. A group is decided only when the counts allow a single
    reading (all of it applied, or all of it refused); otherwise it is unclear."""
    skus = [item.sku for item in items]
    listed = _listed_by_sku(skus, result.items)
    outcomes: dict[str, ItemResult] = {}
    for sku, entry in listed.items():
        if entry.level is not None:
            outcomes[sku] = ItemResult(entry.level != LEVEL_ERROR, entry.message)
    unknown = [sku for sku, entry in listed.items() if entry.level is None]
    rest = [sku for sku in skus if sku not in listed]
    decided = _by_counts(result.quantities, listed, unknown, rest, len(skus))
    for group, failed in zip((unknown, rest), decided, strict=True):
        for sku in group:
            found = listed.get(sku)
            if failed is None:
                outcomes[sku] = ItemResult(False, UNCLEAR, transient=True)
            elif failed:
                outcomes[sku] = ItemResult(False, found.message if found else UNNAMED)
            else:
                outcomes[sku] = ItemResult(True, found.message if found else "")
    if any(o.transient for o in outcomes.values()):
        log.warning(
            "Alephee's answer does not account for every item (counts %s, %d listed without a "
            "level, %d not listed); the unclear items stay queued",
            _describe(result.quantities),
            len(unknown),
            len(rest),
        )
    return outcomes


def _by_counts(
    counts: Quantities | None,
    listed: dict[str, _Listed],
    unknown: list[str],
    rest: list[str],
    sent: int,
) -> tuple[bool | None, bool | None]:
    """(unknown failed?, rest failed?): True, False, or None when the counts cannot tell."""
    unsure = (None if unknown else False, None if rest else False)
    if counts is None or counts.total != sent:
        return unsure
    levels = [e.level for e in listed.values() if e.level is not None]
    named_errors = levels.count(LEVEL_ERROR)
    named_notes = sum(1 for lvl in levels if lvl in (LEVEL_WARNING, LEVEL_INFO))
    named_ok = len(levels) - named_errors - named_notes
    # Listed items are not Ok: those without a level that did not fail are the Warnings and
    # Infos not named yet. Items not listed are Ok, unless the list left a refusal out.
    unknown_applied = counts.warning + counts.info - named_notes
    unknown_errors = len(unknown) - unknown_applied
    rest_errors = counts.error - named_errors - unknown_errors
    rest_ok = counts.ok - named_ok
    if not 0 <= unknown_errors <= len(unknown) or not 0 <= rest_errors <= len(rest):
        return unsure
    if rest_ok + rest_errors != len(rest):
        return unsure
    return (_all_or_none(unknown_errors, len(unknown)), _all_or_none(rest_errors, len(rest)))


def _all_or_none(failed: int, size: int) -> bool | None:
    if failed == 0:
        return False
    return True if failed == size else None


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


def _describe(counts: Quantities | None) -> str:
    if counts is None:
        return "missing"
    return (
        f"Ok {counts.ok}, Warning {counts.warning}, Info {counts.info}, "
        f"Error {counts.error}, Total {counts.total}"
    )
