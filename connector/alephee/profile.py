"""What the live API really does, measured once by ``connector check --probe``.

A few read-only calls (accounts, one products page asked at 1,000, one orders page) are
recorded in ``state/api-profile.json``: the real page cap, the rate-limit headers and their
values, the shapes of dates and SKUs, the status codes met. The connector then pages the
catalog at the measured cap. The batch cap of POST /v2/products is learnt by sending: the
first batch goes at ``alephee.batch_size`` (1,000 unless set lower), a 413 halves it, and the
size that worked is kept here (``products_batch_cap``) so later runs start from it. The file
is meant to be sent to support: it holds no key (only
``x-ratelimit-*`` headers, the base URL without its query, no request URL).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from connector.alephee.client import AlephClient
from connector.config import Config
from connector.errors import RequestRejected
from connector.fsutil import fsync_dir
from connector.redact import redact

log = logging.getLogger(__name__)
PROFILE_NAME = "api-profile.json"
PROBE_PAGE = 1000
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def profile_path(config: Config) -> Path:
    return config.folders.state / PROFILE_NAME


def measured_page_cap(config: Config) -> int | None:
    """The products page cap a probe proved, or None (then ``products_page_size`` applies)."""
    cap = _profile(config).get("products_page_cap")
    return cap if isinstance(cap, int) and cap > 0 else None


def measured_batch_cap(config: Config) -> int | None:
    """The POST /v2/products batch size a 413 proved (the largest that worked), or None."""
    cap = _profile(config).get("products_batch_cap")
    return cap if isinstance(cap, int) and cap > 0 else None


def remember_batch_cap(config: Config, cap: int) -> None:
    """Keep the batch size that worked after a 413, beside what a probe measured."""
    profile = _profile(config)
    if profile.get("products_batch_cap") == cap:
        return
    profile["products_batch_cap"] = cap
    _replace_text(profile_path(config), redact(json.dumps(profile, indent=2)) + "\n")
    log.info("POST /v2/products: %d products per call from now on (kept in %s)", cap, PROFILE_NAME)


def _profile(config: Config) -> dict[str, Any]:
    try:
        data = json.loads(profile_path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def open_client(
    config: Config,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    shared_key: bool = False,
    kind: type[AlephClient] = AlephClient,
) -> AlephClient:
    """The client a run uses: the measured page cap, and in ``run`` a share of the key's rate
    limit left to other integrations. ``kind``: a dry run's recording client."""
    client = kind(config.alephee, config.retry, sleep=sleep, clock=clock)
    cap = measured_page_cap(config)
    if cap is not None:
        client.products_page_size = cap
    client.products_cap = min(config.alephee.batch_size, measured_batch_cap(config) or 1000)
    if shared_key:
        client.pacer.share = config.retry.run_rate_share
    return client


def probe(config: Config, client: AlephClient, now: datetime) -> dict[str, Any]:
    """Make the read-only calls and write the profile; returns it."""
    calls: list[dict[str, Any]] = []
    accounts = _get(client, "/v2/accounts", {}, calls)
    products = _get(client, "/v2/products", {"offset": "0", "limit": str(PROBE_PAGE)}, calls)
    orders = _get(client, "/v2/orders", {"offset": "0", "limit": "100"}, calls)
    bodies = [b for b in (accounts, products, orders) if b is not None]
    page = _page_facts(products)
    profile = {
        "measured_at": now.isoformat(),
        "base_url": base_url(config),
        "products_page_cap": page.pop("cap"),
        "products_page": page,
        "rate_limit_headers": _rate_headers(calls),
        "date_shapes": dict(Counter(_date_shape(v) for v in _strings(bodies) if DATE.match(v))),
        "sku_shapes": dict(Counter(type(s).__name__ for s in _skus(products))),
        "status_codes": dict(Counter(str(c["status"]) for c in calls)),
        "calls": calls,
    }
    if (batch_cap := measured_batch_cap(config)) is not None:
        profile["products_batch_cap"] = batch_cap  # learnt by sending; a probe does not POST
    text = redact(json.dumps(profile, indent=2, ensure_ascii=False))
    _replace_text(profile_path(config), text + "\n")
    return profile


def _replace_text(path: Path, text: str) -> None:
    """Write beside, then rename over: a reader never sees half a profile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def base_url(config: Config) -> str:
    """The configured base URL without query or fragment (a key may have been pasted there)."""
    return str(config.alephee.base_url).split("?")[0].split("#")[0].rstrip("/")


def _get(
    client: AlephClient, path: str, params: dict[str, str], calls: list[dict[str, Any]]
) -> Any:
    try:
        body = client.get_json(path, params)
    except RequestRejected as problem:
        body = None
        log.warning("probe %s: %s", path, problem)
    headers = client.last_headers
    calls.append(
        {
            "endpoint": f"GET {path}",
            "status": client.last_status,
            "headers": {k: v for k, v in headers.items() if k.startswith("x-ratelimit-")}
            | ({"retry-after": headers["retry-after"]} if "retry-after" in headers else {}),
        }
    )
    return body


def _page_facts(body: Any) -> dict[str, Any]:
    results = _ci(body, "Results") or []
    paging = _ci(body, "Paging") or {}
    received, total = len(results), _ci(paging, "Total", _ci(body, "Total", 0)) or 0
    if received >= PROBE_PAGE:
        cap: int | None = PROBE_PAGE
    elif received < total:
        cap = received  # fewer than asked before the end: the server's real cap
    else:
        cap = None  # the whole catalog fits in one page: the cap is not proven
    return {
        "asked": PROBE_PAGE,
        "received": received,
        "paging_limit_echoed": _ci(paging, "Limit"),
        "total": total,
        "cap": cap,
    }


def _rate_headers(calls: list[dict[str, Any]]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for call in calls:
        for name, value in call["headers"].items():
            values = seen.setdefault(name, [])
            if value not in values:
                values.append(value)
    return seen


def _date_shape(value: str) -> str:
    fraction = re.search(r":\d{2}\.(\d+)", value)
    offset = re.search(r"[+-]\d{2}:?\d{2}$", value[10:])
    zone = "Z" if value.endswith("Z") else ("offset" if offset else "none")
    digits = f"{len(fraction.group(1))} fraction digits" if fraction else "no fraction"
    return f"{digits}, zone {zone}"


def _skus(body: Any) -> Iterator[Any]:
    for row in _ci(body, "Results") or []:
        sku = _ci(_ci(row, "Identification"), "SKU")
        if sku is not None:
            yield sku


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _ci(mapping: Any, key: str, default: Any = None) -> Any:
    if not isinstance(mapping, dict):
        return default
    for name, value in mapping.items():
        if str(name).lower() == key.lower():
            return value
    return default


def summary_lines(profile: dict[str, Any]) -> list[str]:
    """The plain summary ``check --probe`` prints."""
    page = profile["products_page"]
    cap = profile["products_page_cap"]
    cap_text = (
        f"{cap} per page (asked {page['asked']}, got {page['received']}, "
        f"Paging.Limit said {page['paging_limit_echoed']}, Total {page['total']})"
        if cap
        else f"not proven: the whole catalog ({page['total']}) fits in one page"
    )
    headers = profile["rate_limit_headers"]
    return [
        f"Alephee at {profile['base_url']}",
        f"  products page cap: {cap_text}",
        "  rate-limit headers: "
        + (", ".join(f"{k}={'/'.join(v)}" for k, v in headers.items()) or "none seen"),
        "  dates: " + (_counted(profile["date_shapes"]) or "none seen"),
        "  SKUs as: " + (_counted(profile["sku_shapes"]) or "no products seen"),
        "  status codes: " + _counted(profile["status_codes"]),
    ]


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} ({n})" for name, n in counts.items())
