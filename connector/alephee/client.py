"""The Alephee API v2 client: every endpoint the connector needs, careful with the key.

One ``_attempt`` classifies a response into the error hierarchy; ``_call`` retries it with the
policy; the endpoint methods speak the domain. The key is added to each request's query string
at the last moment and never kept in any message: errors are re-raised ``from None`` with the
endpoint name only (httpx errors carry the full URL).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connector import clock
from connector.alephee.models import (
    Account,
    ActionResult,
    CatalogProduct,
    DocumentUpload,
    IntegrateMark,
    IntegrateResponse,
    IntegrateResult,
    Page,
    PriceList,
    ProductItem,
    StatusUpdate,
)
from connector.alephee.ratelimit import Pacer, parse_seconds
from connector.alephee.results import ItemResult, match_products
from connector.alephee.retry import RetryPolicy, RunBudget, build_retrying
from connector.config import AlephSettings, RetrySettings
from connector.errors import (
    AlephUnavailable,
    AuthError,
    NetworkError,
    NothingApplied,
    PayloadTooLarge,
    RateLimited,
    RequestRejected,
    RetryableError,
    ServerError,
)
from connector.redact import redact, register_secret

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)
JSON = Any


@dataclass
class CallStats:
    calls: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    last_success: datetime | None = None

    def count(self, status: int) -> None:
        self.calls += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


class AlephClient:
    def __init__(
        self,
        settings: AlephSettings,
        retry: RetrySettings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
    ) -> None:
        retry = retry or RetrySettings()
        self.settings = settings
        self._key = settings.api_key.get_secret_value()
        register_secret(self._key)
        self.policy = RetryPolicy.from_settings(retry)
        self.budget = RunBudget(seconds=retry.budget_seconds)
        self.pacer = Pacer(
            low_remaining=retry.low_remaining,
            fallback_per_minute=retry.fallback_per_minute,
            sleep=sleep,
            clock=clock,
        )
        self.stats = CallStats()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self.products_cap = settings.batch_size
        self.products_page_size = settings.products_page_size
        self.seen_page_cap: int | None = None  # a page shorter than asked before Total
        self.last_status = 0
        self.last_headers: dict[str, str] = {}
        self._client: httpx.Client | None = None
        self._making = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        """Made at the first call: httpx's import and TLS set-up cost 0.5 s, and a pass with
        nothing to do makes no call (issue 14: an idle ``once`` in 0.5 s). Locked: ``once``
        may prepare it on its read-ahead thread while the pass makes its first call."""
        with self._making:
            if self._client is None:
                import httpx  # see above

                self._client = httpx.Client(
                    base_url=str(self.settings.base_url).rstrip("/"),
                    timeout=self.settings.timeout_seconds,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                )
            return self._client

    def prepare(self) -> None:
        """Set up the HTTP client now rather than at the first call (``run``'s warm-up)."""
        self._http  # noqa: B018 - the property makes it

    def new_run(self) -> None:
        """A fresh retry budget (``run`` mode reuses the client, and its pacing, across passes)."""
        self.budget = RunBudget(seconds=self.budget.seconds)

    def __enter__(self) -> AlephClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def __repr__(self) -> str:
        return (
            f"AlephClient(base_url={self.settings.base_url!s}, account={self.settings.account_id})"
        )

    # -- endpoints -------------------------------------------------------------------------

    def accounts(self) -> list[Account]:
        page = Page.model_validate(self._call("GET", "/v2/accounts"))
        return [Account.model_validate(row) for row in page.results]

    def price_lists(self) -> list[PriceList]:
        path = f"/v2/accounts/{self.settings.account_id}/pricelists"
        body = self._call("GET", path, endpoint="GET /v2/accounts/{id}/pricelists")
        rows = body if isinstance(body, list) else Page.model_validate(body).results
        return [PriceList.model_validate(row) for row in rows]

    def iter_catalog(self) -> Iterator[CatalogProduct]:
        """Every catalog product, at the proven page size (see ``_pages``)."""
        for row in self._pages("GET", "/v2/products", self.products_page_size, {}):
            yield CatalogProduct.model_validate(row)

    def iter_catalog_rows(self) -> Iterator[dict[str, Any]]:
        """Every catalog product as Alephee sent it (``products.catalog_values`` reads the few
        fields it needs: a model per product is too slow for a million)."""
        yield from self._pages("GET", "/v2/products", self.products_page_size, {})

    def iter_orders(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        yield from self._pages("GET", "/v2/orders", self.settings.orders_page_size, params)

    def get_json(self, path: str, params: dict[str, str]) -> JSON:
        """A raw GET body (``check --probe`` looks at shapes the models would normalise)."""
        return self._call("GET", path, params=params)

    def orders_page(self, params: dict[str, str], offset: int = 0) -> Page:
        query = {**params, "offset": str(offset), "limit": str(self.settings.orders_page_size)}
        return Page.model_validate(self._call("GET", "/v2/orders", params=query))

    def post_products(self, items: list[ProductItem]) -> dict[str, ItemResult]:
        """Send one batch; results by SKU. A 413 splits the batch and lowers the cap.

        Raises ``RequestRejected`` when Alephee refused the request as a whole (another 4xx),
        ``NothingApplied`` for a 404/412 that names no item: the caller tells a request-level
        error from an item refusal (``products.sync``), never this method.
        """
        if len(items) > self.products_cap:
            return self._split(items, self.products_cap)
        params = {}
        if self.settings.price_list_id is not None:
            params["priceListId"] = str(self.settings.price_list_id)
        try:
            body = self._call(
                "POST",
                "/v2/products",
                params=params,
                json=[i.body() for i in items],
                accept={404, 412},
            )
        except PayloadTooLarge:
            if len(items) == 1:
                raise
            self.products_cap = max(1, len(items) // 2)
            log.warning(
                "Alephee said the batch was too large; sending %d per call", self.products_cap
            )
            return self._split(items, self.products_cap)
        result = ActionResult.model_validate(body if isinstance(body, dict) else {})
        if self.last_status in (404, 412) and not result.items:
            message = _body_message(body) or "Alephee applied none of the items"
            raise NothingApplied(
                f"POST /v2/products: nothing applied ({self.last_status}: {message})",
                status=self.last_status,
                reason=message,
            )
        return match_products(items, result)

    def _split(self, items: list[ProductItem], size: int) -> dict[str, ItemResult]:
        results: dict[str, ItemResult] = {}
        for start in range(0, len(items), size):
            results.update(self.post_products(items[start : start + size]))
        return results

    def integrate(self, marks: list[IntegrateMark]) -> dict[int, IntegrateResult]:
        """PUT /v2/orders/integrate; results matched by OrderId (never by position)."""
        return self._put_orders("/v2/orders/integrate", [m.body() for m in marks], misaligned=True)

    def update_status(self, updates: list[StatusUpdate]) -> dict[int, IntegrateResult]:
        """PUT /v2/orders (status and tracking); per-item results matched by OrderId."""
        return self._put_orders("/v2/orders", [u.body() for u in updates])

    def _put_orders(
        self, path: str, items: list[dict[str, Any]], *, misaligned: bool = False
    ) -> dict[int, IntegrateResult]:
        """A PUT of order items; a 413 halves the list until Alephee takes it.

        The vendor's own example of integrate (``misaligned``) echoes the wrong ``OrderStatus``
        beside each result, so there an echo is trusted only when it cannot matter: every
        result says the same, and each order sent is echoed once. Otherwise each order is sent
        again alone (marking is idempotent), where the answer can only be about that order.
        PUT /v2/orders has no such evidence: its results are matched by the echoed OrderId
        when each order sent is echoed once (docs/sandbox.md)."""
        try:
            body = self._call("PUT", path, json=items)
        except PayloadTooLarge:
            if len(items) == 1:
                raise
            half = len(items) // 2
            first = self._put_orders(path, items[:half], misaligned=misaligned)
            return {**first, **self._put_orders(path, items[half:], misaligned=misaligned)}
        response = IntegrateResponse.model_validate(body if isinstance(body, dict) else {})
        if len(items) == 1:
            return _single_result(items[0], response)
        if _echo_trustworthy(items, response, same_answers=misaligned):
            return _by_order_id(response)
        log.warning(
            "%s: mixed results with echoes that may not line up; asking order by order", path
        )
        results: dict[int, IntegrateResult] = {}
        for item in items:
            results.update(self._put_orders(path, [item]))
        return results

    def attach_document(
        self, order_id: int, document: DocumentUpload, attached: Callable[[], bool]
    ) -> None:
        """POST /v2/orders/{orderId}/documents (JSON, content in base64). A document must not be
        attached twice, so after a failure whose outcome is unknown (a timeout, a 5xx: Alephee
        may have stored it) ``attached()`` is asked before the next attempt; a 429 is safe to
        repeat (Alephee did not process the request)."""
        path, name = f"/v2/orders/{order_id}/documents", "POST /v2/orders/{id}/documents"
        unsure = False

        def attempt() -> JSON:
            nonlocal unsure
            if unsure and attached():
                return None
            try:
                return self._attempt("POST", path, name, {}, document.body(), set())
            except RateLimited:
                raise
            except RetryableError:
                unsure = True
                raise

        retrying = build_retrying(self.policy, self.budget, sleep=self._sleep, rng=self._rng)
        try:
            retrying(attempt)
        except RetryableError as exc:
            raise AlephUnavailable(
                f"Alephee did not accept {name} after retries ({exc}); the document waits "
                "for the next run"
            ) from None

    # -- transport -------------------------------------------------------------------------

    def _pages(
        self, method: str, path: str, size: int, params: dict[str, str]
    ) -> Iterator[dict[str, Any]]:
        """Offset paging that trusts only what arrived: the offset advances by the number of
        results received (a live server may cap lower and still echo the limit asked), and it
        stops on ``Total`` or an empty page, never on a short page."""
        offset = 0
        while True:
            query = {**params, "offset": str(offset), "limit": str(size)}
            page = Page.model_validate(self._call(method, path, params=query))
            yield from page.results
            received = len(page.results)
            total = page.paging.total or page.total
            offset += received
            if received == 0 or offset >= total:
                return
            if received < size and self.seen_page_cap is None:
                self.seen_page_cap = received
                log.warning(
                    "%s %s: Alephee returned %d results where %d were asked (Paging.Limit says "
                    "%d); its real page cap is %d, paging goes on",
                    method,
                    path,
                    received,
                    size,
                    page.paging.limit,
                    received,
                )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: JSON = None,
        endpoint: str | None = None,
        accept: set[int] | None = None,
    ) -> JSON:
        name = endpoint or f"{method} {path}"
        retrying = build_retrying(self.policy, self.budget, sleep=self._sleep, rng=self._rng)
        try:
            return retrying(self._attempt, method, path, name, params or {}, json, accept or set())
        except RetryableError as exc:
            stop = AlephUnavailable(
                f"Alephee did not accept {name} after retries ({exc}); the pending work is kept "
                "and goes with the next run"
            )
            stop.cause = exc  # ``check`` words it for a set-up, not for a run
            raise stop from None

    def _attempt(
        self,
        method: str,
        path: str,
        name: str,
        params: dict[str, str],
        body: JSON,
        accept: set[int],
    ) -> JSON:
        query = {**params, "API_KEY": self._key, "accountId": str(self.settings.account_id)}
        self._pace(name)
        started = time.monotonic()
        http = self._http
        import httpx  # loaded by ``_http`` already; here for its errors

        try:
            response = http.request(method, path, params=query, json=body)
        except httpx.TimeoutException:
            raise NetworkError(f"{name}: Alephee did not answer in time") from None
        except httpx.TransportError as exc:
            raise NetworkError(
                f"{name}: network error ({type(exc).__name__})", reason=_transport_reason(exc)
            ) from None
        self.pacer.after(name, response.headers)
        self.stats.count(response.status_code)
        self.last_status = response.status_code
        self.last_headers = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code != 429:
            self.budget.streak = 0
        log.debug("%s -> %d in %.2f s", name, response.status_code, time.monotonic() - started)
        return self._classify(name, response, accept)

    def _pace(self, name: str) -> None:
        """Pacing waits before a write count in the run's budget like retry waits: a run that
        would wait past it stops (exit 3) with the work kept (the queue resumes where it
        stopped). Reads are exempt: a catalog download is all or nothing, and stopping it
        half-way would only start it over next run."""
        wait = self.pacer.wait_before(name)
        if wait > 0 and not name.startswith("GET ") and not self.budget.allows(wait):
            raise AlephUnavailable(
                f"{name}: keeping to Alephee's rate limit needs {wait:.0f} s more waiting than "
                f"the run's budget allows (retry.budget_seconds = {self.budget.seconds:g}); the "
                "pending work is kept and goes with the next run"
            )
        waited = self.pacer.before(name)
        if not name.startswith("GET "):
            self.budget.spent += waited

    def _classify(self, name: str, response: httpx.Response, accept: set[int]) -> JSON:
        status = response.status_code
        if status in (200, 201, 206) or status in accept:
            try:
                data = response.json() if response.content else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise ServerError(
                    f"{name}: Alephee sent a reply that is not JSON", status=status
                ) from None
            if status < 300:
                self.stats.last_success = clock.now()
            return data
        message = _message(response)
        if status == 429:
            retry_after = parse_seconds(response.headers.get("x-ratelimit-retryafter"))
            raise RateLimited(f"{name}: rate limited by Alephee", retry_after=retry_after)
        if status in (401, 403):
            raise AuthError(
                f"Alephee refused the credentials ({status}: {message}). Check ALEPHEE_API_KEY "
                "and alephee.account_id; the key must be linked to that account"
            )
        if status == 413:
            raise PayloadTooLarge(f"{name}: too many items in one request")
        if status >= 500:
            raise ServerError(f"{name}: Alephee error {status}", status=status)
        raise RequestRejected(
            f"{name}: Alephee rejected the request ({status}: {message})",
            status=status,
            reason=message,
        )


def _transport_reason(exc: httpx.TransportError) -> str:
    """httpx's own words (e.g. "[Errno 111] Connection refused"), never a URL with its query."""
    text = redact(str(exc)) or type(exc).__name__
    return re.sub(r"\?\S*", "", text).strip() or type(exc).__name__


def _single_result(item: dict[str, Any], response: IntegrateResponse) -> dict[int, IntegrateResult]:
    """One order sent, one result: it is that order's, whatever the echo says."""
    order_id = item.get("OrderId")
    if len(response.results) != 1 or not isinstance(order_id, int):
        return _by_order_id(response)
    return {order_id: response.results[0]}


def _echo_trustworthy(
    items: list[dict[str, Any]], response: IntegrateResponse, *, same_answers: bool
) -> bool:
    sent = sorted(i["OrderId"] for i in items if isinstance(i.get("OrderId"), int))
    echoed = sorted(
        r.order_status.order_id
        for r in response.results
        if r.order_status is not None and r.order_status.order_id is not None
    )
    return sent == echoed and (not same_answers or len({r.status for r in response.results}) <= 1)


def _by_order_id(response: IntegrateResponse) -> dict[int, IntegrateResult]:
    return {
        r.order_status.order_id: r
        for r in response.results
        if r.order_status is not None and r.order_status.order_id is not None
    }


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return redact(response.text[:200])
    return _body_message(data) or redact(str(data)[:200])


def _body_message(data: JSON) -> str:
    if isinstance(data, dict):
        for key, value in data.items():
            if key.lower() == "message":
                return redact(str(value))
    return ""
