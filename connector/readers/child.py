"""The child process of ``connector.readers.isolate``: ``python -m connector.readers.child``."""

from __future__ import annotations

import sys

from connector.readers.isolate import serve

if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
