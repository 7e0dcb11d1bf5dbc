"""How injected faults look on the wire.

An injected 500/503/429 stands in for the whole API: it runs no handler and changes no state,
not even the rate limiter's; its headers show the limiter as it stands. "reset" drops the
connection with a TCP RST before anything is applied; "reset_after_apply" applies the request
first, so the change is made but the client never learns it (the case that makes retries
dangerous for non-idempotent writes).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import replace

from connector.sandbox.binding import ApiResponse, error_body
from connector.sandbox.gcra import Decision
from connector.sandbox.options import Fault

RESPONSE_KINDS = frozenset({"500", "503", "429", "400", "bad_shape", "bad_gzip"})
NOT_GZIP = b"\x1f\x8b this is not a gzip stream"
DROP_KINDS = frozenset({"reset", "timeout"})


def injected_response(fault: Fault, state: Decision) -> tuple[ApiResponse, Decision]:
    """The response and rate-limit headers of an injected response fault (see FAULT_KINDS);
    ``bad_gzip`` and a text retry-after are finished by the server (``dress``)."""
    if fault.kind == "400":
        return ApiResponse(400, error_body(400, "La solicitud no es válida.")), state
    if fault.kind in ("bad_shape", "bad_gzip"):
        return ApiResponse(200, {"Total": 1, "Results": "sin resultados"}), state
    if fault.kind == "500":
        # The documented 500 carries a plain string, not the JSON error object.
        return ApiResponse(500, "Error interno del servidor.", plain_text=True), state
    if fault.kind == "503":
        return ApiResponse(503, error_body(503, "Servicio no disponible.")), state
    limited = replace(
        state,
        allowed=False,
        remaining=0,
        retry_after=fault.retry_after_seconds,
        reset=max(state.reset, fault.retry_after_seconds),
    )
    return ApiResponse(429, error_body(429, "Too many requests")), limited


def dress(fault: Fault, headers: dict[str, str], body: bytes) -> bytes:
    """Finish an injected response on the wire: returns the body to send."""
    if fault.kind == "429" and isinstance(fault.retry_after, str):
        headers["x-ratelimit-retryafter"] = fault.retry_after
    if fault.kind == "bad_gzip":
        headers["Content-Encoding"] = "gzip"
        return NOT_GZIP
    return body


def reset_connection(connection: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN, so the client sees a
    "connection reset", not a clean end of stream."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # already closed by the peer: nothing left to reset
    connection.close()
