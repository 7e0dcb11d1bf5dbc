"""``Sandbox``: start, drive and stop the built-in Alephee sandbox; ``serve`` for the CLI."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Self

from connector.errors import ConfigError
from connector.sandbox.core import SandboxCore
from connector.sandbox.options import Fault, RequestRecord, SandboxOptions
from connector.sandbox.server import SandboxHTTPServer

log = logging.getLogger("connector.sandbox")
HOST = "127.0.0.1"  # loopback only, by design: the sandbox has no real security


class Sandbox:
    """A real HTTP server on 127.0.0.1 that behaves like Alephee API v2.

    ``Sandbox(opts).start()`` serves in a background thread; ``stop()`` (or leaving a ``with``
    block) shuts it down. The data methods work before ``start()`` too.
    """

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self._core = SandboxCore(self.options)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        try:
            server = SandboxHTTPServer((HOST, self.options.port), self._core)
        except OSError as problem:
            raise ConfigError(
                f"the sandbox cannot listen on {HOST}:{self.options.port} ({problem.strerror}); "
                "choose another port, or 0 for any free one"
            ) from None
        self._core.stopping.clear()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="alephee-sandbox",
        )
        self._thread.start()
        log.info("sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._core.stopping.set()  # releases requests held by delay/timeout faults
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # -- driving it ------------------------------------------------------------------------

    def load_catalog(
        self, products: list[dict[str, Any]], *, replace: bool = False, owned: bool = False
    ) -> None:
        """Add ProductCatalog-shaped dicts; ``replace`` empties the catalog first. ``owned``:
        the caller hands the dicts over and never touches them again (no copy: a benchmark's
        million products)."""
        self._core.load_catalog(products, replace=replace, owned=owned)

    def add_orders(self, orders: list[dict[str, Any]], *, created_via_post: bool = False) -> None:
        """Add GET-orders-model dicts. ``created_via_post`` marks them as created through
        POST /v2/orders, the only orders that accept status 90 through PUT /v2/orders."""
        self._core.add_orders(orders, created_via_post=created_via_post)

    def cancel_order(
        self, order_id: int, status: int = 90, item_ids: list[int] | None = None
    ) -> None:
        """A late cancellation (90, 93 or 11); ``item_ids`` cancels only those items."""
        self._core.cancel_order(order_id, status, item_ids)

    def approve_payment(self, order_id: int) -> None:
        self._core.approve_payment(order_id)

    def forget_order(self, order_id: int, times: int = 1) -> None:
        """PUT orders/integrate answers "Order not found" for this order ``times`` times,
        without applying the mark (GET orders still lists it)."""
        self._core.forget_order(order_id, times)

    def inject(self, fault: Fault) -> None:
        self._core.inject(fault)

    def set_quirks(self, **switches: Any) -> None:
        """Switch live-API quirks (``streak_429=False``; ``profile="kind"`` resets them all)."""
        self._core.set_quirks(switches)

    def clear_faults(self) -> None:
        self._core.clear_faults()

    def reset_limits(self) -> None:
        """Forget the rate-limit state: every bucket is full again."""
        self._core.reset_limits()

    @property
    def requests(self) -> list[RequestRecord]:
        return self._core.requests()

    def reset_requests(self) -> None:
        self._core.reset_requests()

    @property
    def busy_seconds(self) -> float:
        """Seconds the sandbox spent handling API and control requests since it started."""
        return self._core.busy_seconds

    def product(self, sku: str, brand: str | None = None) -> dict[str, Any]:
        """The product Alephee would match: SKU, then OwnCode; ``brand`` (name or id) narrows."""
        return self._core.product(sku, brand)

    def order(self, order_id: int) -> dict[str, Any]:
        return self._core.order(order_id)

    def documents(self, order_id: int) -> list[dict[str, Any]]:
        """The documents POSTed to the order (metadata, ``Content`` in base64, ``Sha256``)."""
        return self._core.documents(order_id)

    def tracking(self, order_id: int) -> Any:
        """The last ``Tracking`` object PUT /v2/orders stored for the order (None: none yet)."""
        return self._core.tracking(order_id)

    def updates(self, sku: str) -> int:
        """How many POST /v2/products items were applied to this catalog SKU."""
        return self._core.updates(sku)

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"Sandbox({where}, account_id={self.options.account_id})"


def serve(
    options: SandboxOptions,
    *,
    catalog: list[dict[str, Any]] | None = None,
    orders: list[dict[str, Any]] | None = None,
    announce: Callable[[Sandbox], None] | None = None,
) -> None:
    """Serve until Ctrl+C or SIGTERM (``connector sandbox``). Prints nothing itself:
    ``announce`` is called once it listens (the CLI says what it serves)."""
    stop = threading.Event()
    sandbox = Sandbox(options)
    sandbox.load_catalog(catalog or [])
    sandbox.add_orders(orders or [])
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_term(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = signal.signal(signal.SIGTERM, on_term)
    with sandbox:
        if announce is not None:
            announce(sandbox)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            log.info("sandbox stopping on Ctrl+C")
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
    log.info("sandbox stopped")
