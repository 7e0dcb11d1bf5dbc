"""The HTTP side: routing, auth, rate-limit headers, fault playback, request log.

Built on the standard library's ``ThreadingHTTPServer``: a loopback test server needs no new
dependency, and one thread per connection is plenty for tests and ``connector demo``.
Logging: method, path (never the query string: the API key travels there) and status only.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import socket
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from connector.sandbox import control, quirks
from connector.sandbox.binding import (
    ApiError,
    ApiRequest,
    ApiResponse,
    Query,
    encode_json,
    error_body,
)
from connector.sandbox.core import SandboxCore
from connector.sandbox.faults import (
    DROP_KINDS,
    RESPONSE_KINDS,
    dress,
    injected_response,
    reset_connection,
)
from connector.sandbox.gcra import Decision
from connector.sandbox.options import Fault, RequestRecord
from connector.sandbox.routes import Route, resolve

log = logging.getLogger("connector.sandbox")
UNKNOWN_ENDPOINT = "UNKNOWN"  # one rate-limit bucket for every unknown path


@dataclass
class Outcome:
    """What to do with the connection: send a response, reset it, or hold it silently."""

    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    action: str = "send"  # "send" | "reset" | "hold"
    hold_seconds: float = 0.0


def to_outcome(response: ApiResponse, decision: Decision | None) -> Outcome:
    headers = decision.headers() if decision is not None else {}
    if response.plain_text:
        body = str(response.body).encode("utf-8")
        return Outcome(response.status, body, "text/plain; charset=utf-8", headers)
    return Outcome(response.status, encode_json(response.body), headers=headers)


class ApiPipeline:
    """One API request: fault, rate limit, auth, handler, record; in that order."""

    def __init__(self, core: SandboxCore) -> None:
        self.core = core
        self.store = core.store

    def handle(self, method: str, target: str, body: bytes | None) -> Outcome:
        """``body`` None means it was too large to read: answer 413 without applying."""
        split = urlsplit(target)
        query = Query(split.query, utc_offset_hours=self.core.options.filter_utc_offset_hours)
        route, params, path_known = resolve(method, split.path)
        endpoint = route.endpoint if route else f"{method} {split.path}"
        bucket = route.endpoint if route else UNKNOWN_ENDPOINT
        api_key = query.text("API_KEY") or ""
        fault = self.store.take_fault(endpoint)
        record = _Recorder(self.core, method, split.path, endpoint, query, body, fault)
        if fault is not None and fault.kind == "delay":
            self.core.stopping.wait(fault.delay_seconds)
        if fault is not None and fault.kind in DROP_KINDS:
            action = "reset" if fault.kind == "reset" else "hold"
            return record(Outcome(0, action=action, hold_seconds=fault.delay_seconds))
        if fault is not None and fault.kind in RESPONSE_KINDS:
            response, state = injected_response(fault, self.core.limiter.peek(api_key, bucket))
            outcome = to_outcome(response, state)
            outcome.body = dress(fault, outcome.headers, outcome.body)
            return record(outcome)
        decision = self._rate_limit(api_key, bucket)
        if not decision.allowed:  # a 429 changes no state and runs no handler
            response = ApiResponse(429, error_body(429, "Too many requests"))
        elif body is None:
            too_large = "El cuerpo de la solicitud es demasiado grande."
            response = ApiResponse(413, error_body(413, too_large))
        else:
            response = self._run(route, params, path_known, method, endpoint, query, body)
            response = self._shaped(endpoint, response)
        outcome = to_outcome(response, decision)
        if fault is not None and fault.kind == "reset_after_apply":
            outcome.action = "reset"
        return record(outcome)

    def _rate_limit(self, api_key: str, bucket: str) -> Decision:
        """GCRA; with the ``streak_429`` quirk a refusal starts a window-long streak. The headers
        keep telling the GCRA's short wait, as live: a client must not trust them alone."""
        options = self.core.options
        if not options.quirks.streak_429:
            return self.core.limiter.check(api_key, bucket)
        now = options.clock()
        if self.core.streaks.blocked_for(api_key, bucket, now) > 0:
            state = self.core.limiter.peek(api_key, bucket)
            interval = math.ceil(options.window_seconds / max(1, state.limit))
            return replace(state, allowed=False, remaining=0, retry_after=max(1, interval))
        decision = self.core.limiter.check(api_key, bucket)
        if not decision.allowed:
            self.core.streaks.start(api_key, bucket, now, options.window_seconds)
        return decision

    def _shaped(self, endpoint: str, response: ApiResponse) -> ApiResponse:
        if response.plain_text:
            return response
        status, body = quirks.shape(
            self.core.options.quirks, endpoint, response.status, response.body
        )
        return ApiResponse(status, body)

    def _run(
        self,
        route: Route | None,
        params: dict[str, str],
        path_known: bool,
        method: str,
        endpoint: str,
        query: Query,
        body: bytes,
    ) -> ApiResponse:
        try:
            account_id = self._authorise(query, route, params)
            if route is None:
                if path_known:
                    raise ApiError(405, f"El método {method} no está permitido en esta ruta.")
                raise ApiError(404, "No existe el recurso solicitado.")
            request = ApiRequest(method, endpoint, query, body, self.store, account_id, params)
            with self.store.lock:
                return route.handler(request)
        except ApiError as problem:
            return ApiResponse(problem.status, error_body(problem.status, problem.message))
        except Exception:
            log.exception("sandbox handler failed on %s", endpoint)
            return ApiResponse(500, "Error interno del sandbox.", plain_text=True)

    def _authorise(self, query: Query, route: Route | None, params: dict[str, str]) -> int:
        """401 unless the key is the sandbox's and the account is linked to it."""
        sent = (query.text("API_KEY") or "").encode("utf-8")
        if not sent or not hmac.compare_digest(sent, self.core.options.api_key.encode("utf-8")):
            raise ApiError(401, "API_KEY ausente o inválida.")
        account = (query.text("accountId") or "").strip()
        on_accounts = route is not None and route.endpoint.startswith("GET /v2/accounts")
        if not account and on_accounts and self.core.options.quirks.account_optional:
            # Live: GET /v2/accounts takes the key alone; /v2/accounts/{id}/... the path id.
            account = params.get("id") or str(self.core.options.account_id)
        if not account.isdigit() or int(account) not in self.core.options.account_ids:
            raise ApiError(401, "La cuenta (accountId) no está vinculada a la API_KEY.")
        return int(account)


class _Recorder:
    """Appends the RequestRecord once the outcome is known; returns the outcome."""

    def __init__(
        self,
        core: SandboxCore,
        method: str,
        path: str,
        endpoint: str,
        query: Query,
        body: bytes | None,
        fault: Fault | None,
    ) -> None:
        self.core, self.fault = core, fault
        self.fields: dict[str, Any] = {
            "method": method,
            "path": path,
            "endpoint": endpoint,
            "query": query.masked(),
            "body": _parsed(body),
        }

    def __call__(self, outcome: Outcome) -> Outcome:
        kind = self.fault.kind if self.fault else None
        status = 0 if outcome.action != "send" and kind != "reset_after_apply" else outcome.status
        at = self.core.options.clock()
        self.core.store.record(RequestRecord(**self.fields, status=status, at=at, fault=kind))
        return outcome


def _parsed(body: bytes | None) -> Any:
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a held connection must never keep the process alive

    def __init__(self, address: tuple[str, int], core: SandboxCore) -> None:
        self.core = core
        self.pipeline = ApiPipeline(core)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, SandboxRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Cut every live connection: a stopped sandbox must not keep answering on a client's
        pooled keep-alive connection (tests stop it to play "Alephee unreachable")."""
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a dropped client is routine here.
        problem = sys.exc_info()[1]  # called from socketserver's except block
        log.debug("sandbox connection ended abruptly (%s)", type(problem).__name__)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects
    server_version = "AlepheeSandbox/1.0"
    timeout = 120  # a silent client does not pin a thread forever
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms stall

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _handle(self) -> None:
        started = time.perf_counter()  # a duration for ``busy_seconds``, never a date
        path = urlsplit(self.path).path
        body = self._read_body()
        if path.lower().startswith(control.PREFIX):
            host = str(self.client_address[0])
            response = control.handle(self.server.core, self.command, self.path, body, host)
            outcome = to_outcome(response, None)
        else:
            outcome = self.server.pipeline.handle(self.command, self.path, body)
        self._deliver(outcome)
        with self.server.core.busy_lock:
            self.server.core.busy_seconds += time.perf_counter() - started
        log.info("%s %s -> %s", self.command, path, outcome.status or outcome.action)

    def _read_body(self) -> bytes | None:
        length_text = self.headers.get("Content-Length") or "0"
        length = int(length_text) if length_text.strip().isdigit() else 0
        if length > self.server.core.options.max_body_bytes:
            self.close_connection = True  # the unread body cannot be skipped safely
            return None
        return self.rfile.read(length) if length else b""

    def _deliver(self, outcome: Outcome) -> None:
        if outcome.action == "reset":
            self.close_connection = True
            self.rfile.close()  # release the makefile reference so close() is immediate
            reset_connection(self.connection)
            return
        if outcome.action == "hold":
            self.server.core.stopping.wait(outcome.hold_seconds)
            self.close_connection = True
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", outcome.content_type)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        self.wfile.write(outcome.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the stdlib logs the request line, and the API key is in it."""

    def log_error(self, format: str, *args: Any) -> None:
        log.warning("sandbox rejected a malformed request")
