"""The built-in Alephee sandbox: a real HTTP server on 127.0.0.1 that behaves like API v2.

    from connector.sandbox import Sandbox, SandboxOptions, Fault
    with Sandbox(SandboxOptions(api_key="k", account_id=1001)) as sb:
        sb.load_catalog(make_catalog(100))
        ...  # talk to sb.url over HTTP

``serve`` runs one in the foreground (``connector sandbox``); ``SandboxControl`` drives one that
runs in another process through its ``/_sandbox/`` control API.

May import: the shared ground only (``connector.errors``, ``connector.clock``). It is a tool
beside the data path, used by the tests, ``connector sandbox`` and ``connector demo``.
"""

from connector.sandbox.app import Sandbox, serve
from connector.sandbox.options import Fault, RequestRecord, SandboxOptions
from connector.sandbox.remote import SandboxControl

__all__ = ["Fault", "RequestRecord", "Sandbox", "SandboxControl", "SandboxOptions", "serve"]
