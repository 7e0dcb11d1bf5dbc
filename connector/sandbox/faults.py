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

RESPONSE_KINDS = frozenset({"500", "503", "429"})
DROP_KINDS = frozenset({"reset", "timeout"})


def injected_response(fault: Fault, state: Decision) -> tuple[ApiResponse, Decision]:
    """The response and rate-limit headers of an injected 500, 503 or 429."""
    if fault.kind == "500":
        # The documented 500 carries a plain string, not the JSON error object.
        return ApiResponse(500, "Error interno del servidor.", plain_text=True), state
    if fault.kind == "503":
        return ApiResponse(503, error_body(503, "Servicio no disponible.")), state
    limited = replace(
        state,
        allowed=False,
        remaining=0,
        retry_after=fault.retry_after,
        reset=max(state.reset, fault.retry_after),
    )
    return ApiResponse(429, error_body(429, "Too many requests")), limited


def reset_connection(connection: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN, so the client sees a
    "connection reset", not a clean end of stream."""
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass  # already closed by the peer: nothing left to reset
    connection.close()
