"""Settings of the built-in Alephee sandbox, and the small records it exchanges with tests.

Every behaviour the API reference marks [INF] (an inference, not documented) has a switch here,
so a test can flip it when the vendor confirms otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from connector import clock as connector_clock
from connector.errors import ConfigError
from connector.sandbox.quirks import Quirks

Clock = Callable[[], float]
"""Seconds since the epoch (``time.time`` by default); tests inject a fake one."""

FAULT_KINDS = frozenset(
    {
        "500",
        "503",
        "429",
        "400",  # a whole-request 400 (nothing applied), as when Alephee dislikes the request
        "bad_shape",  # a 200 whose JSON is not the documented shape ("Results" is not a list)
        "bad_gzip",  # a 200 that says Content-Encoding: gzip and is not gzip
        "reset",
        "reset_after_apply",
        "delay",
        "timeout",
    }
)

# The documented table of allowed price combinations (section 5.4) stops after eight rows;
# SalesMargin alone and B2BDiscountRate alone are accepted too [INF].
DEFAULT_PRICE_COMBINATIONS: frozenset[frozenset[str]] = frozenset(
    frozenset(combo)
    for combo in (
        {"Cost", "Price"},
        {"Cost", "PriceWithTaxes"},
        {"Cost", "SuggestedRetailPrice"},
        {"Cost"},
        {"Price", "SuggestedRetailPrice"},
        {"PriceWithTaxes", "SuggestedRetailPrice"},
        {"Price"},
        {"PriceWithTaxes"},
        {"SalesMargin"},
        {"B2BDiscountRate"},
    )
)


def _default_price_lists() -> list[dict[str, Any]]:
    return [{"Id": 1, "Name": "Lista general", "DiscountRate": 0}]


def _default_marketplaces() -> list[dict[str, Any]]:
    return [{"Id": 1, "Name": "Mercado Libre"}, {"Id": 2, "Name": "Tienda Nube"}]


def _default_stores() -> list[dict[str, Any]]:
    return [
        {
            "Id": 1,
            "Name": "Depósito central",
            "BusinessName": "Sandbox S.A.",
            "ExternalStoreId": "DC-1",
            "IntegrationCode": "DC1",
            "IsPrincipal": True,
            "OpenHours": "Lun a Vie 9 a 18",
            "AvailabilityTimeInHours": 24,
        }
    ]


@dataclass
class SandboxOptions:
    """How the sandbox behaves. Defaults follow section 2.6 of the API reference."""

    api_key: str = field(default="sandbox-key", repr=False)  # a secret: never in a repr
    account_id: int = 1001
    linked_account_ids: tuple[int, ...] = ()  # more accounts served by the same key
    account_name: str = "Cuenta Sandbox"
    port: int = 0  # 0 = pick a free port
    # Rate limits: GCRA per (api_key, endpoint). burst = calls allowed back to back =
    # x-ratelimit-limit (redis-cell's max_burst + 1).
    rate_per_minute: int = 30
    burst: int = 30
    rate_limits: dict[str, tuple[int, int]] = field(default_factory=dict)
    window_seconds: float = 60.0  # the "minute": tests shrink it to run fast
    gcra_second_grace: bool = False  # redis-cell only blocks when >= 1 s early [INF]
    clock: Clock = field(default=lambda: connector_clock.now().timestamp())  # follows TEST_NOW
    # Limits per request (413 on writes, 206 on reads).
    products_max_items: int = 100
    integrate_max_items: int = 100
    order_status_max_items: int = 100
    products_page_cap: int = 1000
    orders_page_cap: int = 100
    max_body_bytes: int = 20_000_000
    # Accounts.
    price_lists: list[dict[str, Any]] = field(default_factory=_default_price_lists)
    marketplaces: list[dict[str, Any]] = field(default_factory=_default_marketplaces)
    stores: list[dict[str, Any]] = field(default_factory=_default_stores)
    account_type: str = "distributor"  # "brand" | "distributor" | "seller" (section 5.4)
    # Products [INF switches].
    all_failed_status: int = 404  # POST products where no item succeeds (412 is the other reading)
    price_combinations: frozenset[frozenset[str]] = DEFAULT_PRICE_COMBINATIONS
    movement_below_zero: str = "reject"  # or "clamp"
    item_number: str = "returned"  # ItemNumber = index in Items; "request" = index in the body
    tax_rate: float = 0.21  # derives Price <-> PriceWithTaxes
    info_on_unchanged: bool = False  # an item that changes nothing gets an Info message
    # A batch holding one of these SKUs is refused whole (400 naming no item), as a strict
    # validator in front of the API might: the connector must find the item by splitting.
    batch_poison_skus: tuple[str, ...] = ()
    refuse_empty_batch: bool = False  # POST products with [] -> 400 (the live answer is unknown)
    # Orders [INF switches].
    integrated_default_false: bool = True  # GET orders without Integrated = Integrated=false
    pending_payments_privilege: bool = True  # False: includePendingPayments=true -> 403
    shuffle_integrate_results: bool = True  # the vendor's example is not in request order
    shuffle_seed: int = 7
    misaligned_integrate_echo: bool = False  # each echo beside another item's result (vendor)
    enforce_transitions: bool = False  # suggested status transitions of section 6.4
    filter_utc_offset_hours: float = 0.0  # filter dates are read as UTC plus this offset
    # The live API's quirks (connector.sandbox.quirks): "realistic" has them all, "kind" none;
    # ``quirks`` given explicitly wins over the profile.
    profile: str = "realistic"
    quirks: Quirks = field(default=None)  # type: ignore[assignment]  # set from the profile

    def __post_init__(self) -> None:
        if self.quirks is None:
            self.quirks = Quirks.profile(self.profile)
        problems = []
        if self.rate_per_minute < 1 or self.burst < 1:
            problems.append("rate_per_minute and burst must be at least 1")
        if any(rate < 1 or burst < 1 for rate, burst in self.rate_limits.values()):
            problems.append("every rate_limits entry needs a rate and a burst of at least 1")
        if self.window_seconds <= 0:
            problems.append("window_seconds must be greater than 0")
        if not 0 <= self.port <= 65535:
            problems.append(f"port {self.port} is not a TCP port number (0 to 65535)")
        if self.movement_below_zero not in ("reject", "clamp"):
            problems.append('movement_below_zero must be "reject" or "clamp"')
        if self.item_number not in ("returned", "request"):
            problems.append('item_number must be "returned" or "request"')
        if not 400 <= self.all_failed_status <= 499:
            problems.append("all_failed_status must be a 4xx code (404 or 412)")
        if problems:
            raise ConfigError(problems, source="sandbox options")

    @property
    def account_ids(self) -> tuple[int, ...]:
        return (self.account_id, *(a for a in self.linked_account_ids if a != self.account_id))


@dataclass
class Fault:
    """A failure the sandbox plays on the next matching request(s), in the order injected."""

    kind: str
    count: int = 1
    endpoint: str | None = None  # e.g. "PUT /v2/orders/integrate"; None = any API endpoint
    retry_after: int | str = 1  # seconds, for kind "429"; text (e.g. "1.5s") is sent as is
    delay_seconds: float = 1.0  # for "delay" and "timeout"

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            kinds = ", ".join(sorted(FAULT_KINDS))
            raise ConfigError(f"unknown fault kind {self.kind!r}: use one of {kinds}")
        if self.count < 1:
            raise ConfigError("a fault needs count >= 1")

    @property
    def retry_after_seconds(self) -> int:
        if isinstance(self.retry_after, int):
            return self.retry_after
        digits = "".join(c for c in self.retry_after if c.isdigit() or c == ".")
        return max(1, round(float(digits or 1)))

    def matches(self, endpoint: str) -> bool:
        return self.endpoint is None or self.endpoint.upper() == endpoint.upper()


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the sandbox saw it. The API key value is already masked."""

    method: str
    path: str
    endpoint: str
    query: dict[str, str]
    body: Any
    status: int  # 0 when a fault dropped the connection before any reply
    at: float
    fault: str | None = None  # the kind of fault played on this request, if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
