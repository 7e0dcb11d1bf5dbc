"""The order-status mapping: which ERP file columns hold the order, its status and tracking.

A TOML file in the mappings folder with ``kind = "order-status"``. It shares every file key of
the products mapping (``files``, ``encoding``, ``delimiter``, ``header_row``, ``sheets``...:
see docs/mapping-products.md) and adds:

    order_reference = "OwnOrderId"   what the order column holds: "OwnOrderId" (the id the
                                     connector sent when it marked the order), "Id" (Alephee's)
                                     or "ExternalOrderId" (the marketplace's)
    allow_backwards = false          true: a status may go back (20 after 80)
    tracking_required_for = [20]     status codes whose rows must carry a tracking number

    [columns]                        header name, aliases, or 1-based position, as for products
    order = "Pedido"                 required
    status = "Estado"                required: the ERP's word for the status
    tracking = "Guia"                the tracking number
    tracking_status = "Estado envio" free text sent as Tracking.Status
    carrier = "Transporte"           free text; sent before the tracking status

    [statuses]                       the ERP's words -> Alephee codes (10, 17, 20, 80, 90);
    DESPACHADO = 20                  matched ignoring case, accents, spaces and punctuation
    "EN PREPARACION" = 10

See docs/mapping-order-status.md for a complete example.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector.alephee.orderrefs import RefKind
from connector.readers.mapping import (
    ColumnRef,
    ColumnSpec,
    FileMapping,
    column_refs,
    load_kind,
    normalise_header,
)

DOCS = "docs/mapping-order-status.md"
SETTABLE = (10, 17, 20, 80, 90)  # what PUT /v2/orders takes (section 7.1); 90 only for some
FIELDS = ("order", "status", "tracking", "tracking_status", "carrier")


class StatusColumns(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    order: ColumnSpec
    status: ColumnSpec
    tracking: ColumnSpec | None = None
    tracking_status: ColumnSpec | None = None
    carrier: ColumnSpec | None = None

    def refs(self) -> dict[str, ColumnRef]:
        return column_refs(self, FIELDS)


class StatusMapping(FileMapping):
    KIND: ClassVar[str] = "order-status"
    kind: Literal["order-status"]
    order_reference: RefKind = "OwnOrderId"
    allow_backwards: bool = False
    tracking_required_for: list[int] = Field(default_factory=list)
    statuses: dict[str, int]
    columns: StatusColumns

    def column_refs(self) -> dict[str, ColumnRef]:
        return self.columns.refs()

    @field_validator("statuses")
    @classmethod
    def _known_codes(cls, value: dict[str, int]) -> dict[str, int]:
        if not value:
            raise ValueError("is empty: list the ERP's status words, e.g. DESPACHADO = 20")
        for word, code in value.items():
            if code not in SETTABLE:
                raise ValueError(
                    f"{word!r} = {code}: Alephee takes 10, 17, 20, 80 or 90 through PUT /v2/orders"
                )
            if not normalise_header(word):
                raise ValueError(f"{word!r} has no letters or digits")
        return value

    @field_validator("tracking_required_for")
    @classmethod
    def _settable(cls, value: list[int]) -> list[int]:
        wrong = [code for code in value if code not in SETTABLE]
        if wrong:
            raise ValueError(f"unknown status codes {wrong}: use 10, 17, 20, 80 or 90")
        return value

    def code_of(self, word: str) -> int | None:
        """The Alephee code of an ERP status word, or None when the mapping does not list it."""
        return self.words().get(normalise_header(word))

    def words(self) -> dict[str, int]:
        return {normalise_header(word): code for word, code in self.statuses.items()}


def load_status_mappings(folder: Path) -> list[StatusMapping]:
    """Every order-status mapping in ``folder`` (ConfigError lists every problem)."""
    return load_kind(folder, StatusMapping, DOCS)
