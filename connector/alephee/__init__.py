"""The Alephee API v2 client: requests, pacing by the rate-limit headers, retries as data.

Owns: ``client`` (httpx; every endpoint the connector calls, results by SKU or OrderId),
``models`` (pydantic shapes of requests and answers), ``ratelimit`` (pacing) and ``retry``
(the policy: what is retried, how long it waits, the run's budget).

May import: the shared ground only (``connector.config``, ``errors``, ``redact``, ``clock``).
"""
