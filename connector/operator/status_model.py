"""The shape of ``connector status --json``: pydantic models, and the JSON Schema made from them.

docs/status-schema.json is
``python -m connector.operator.status_model > docs/status-schema.json``; a test
fails when it drifts from these models and validates real output against the file. Times are
UTC ISO 8601 text (``...Z`` or ``+00:00``); ``*_local`` fields repeat them in the configured
time zone for people. Bump ``SCHEMA_VERSION`` on any change a monitoring script could notice.
"""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from connector.runlog import RunSummary

# 2: counts in changes, missed_night, status_updates, documents, exit 5; 3: sending
SCHEMA_VERSION = 3


class Strict(BaseModel):
    # Output always carries every field, so the schema lists them all as required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Upcoming(Strict):
    at: str = Field(description="when these deferred changes go (UTC)")
    at_local: str = Field(description="the same moment in the schedule's time zone")
    stock: int = Field(ge=0)
    price: int = Field(ge=0)


class Queue(Strict):
    """Counted in changes: one change is one product's stock, or one product's prices."""

    due: int = Field(ge=0, description="changes due now: the next run sends them")
    deferred: int = Field(ge=0, description="changes waiting for their time slot")
    missed_night: int = Field(
        ge=0,
        description="deferred changes whose night slot passed while the connector did not "
        "run: they wait for the next night, or until they have waited max_wait_hours",
    )
    max_wait_hours: float = Field(
        gt=0, description="schedule.deferred_max_wait_hours: the longest a change waits"
    )
    next_deferred_at: str | None = Field(description="when the first deferred change goes (UTC)")
    held_refused: int = Field(
        ge=0,
        description="values Alephee refused, held until their retry (not counted as deferred; "
        "the refusals report in the outbox says why)",
    )
    next_retry_at: str | None = Field(description="when the first held refusal is retried (UTC)")
    by_group: dict[str, int] = Field(description="queued changes per group: stock, price")
    due_by_group: dict[str, int] = Field(description="changes due now per group")
    held_by_group: dict[str, int] = Field(description="held refusals per group")
    upcoming: list[Upcoming] = Field(description="deferred changes by the time they go")


class Sending(Strict):
    """The current or last send of stock and price changes, in products (brand + SKU)."""

    state: str = Field(
        description="sending (a run is busy with it), finished, stopped (it ended early: "
        "Alephee unreachable, a stop request; the rest waits in the queue) or interrupted "
        "(its run ended without closing it: killed)"
    )
    started_at: str
    total: int = Field(ge=0, description="products due when it started")
    done: int = Field(ge=0, description="products whose answer is recorded")
    calls: int = Field(ge=0, description="POST /v2/products calls so far")
    calls_per_minute: float | None = Field(description="observed; null before it is known")
    seconds_left: float | None = Field(description="estimated from the observed pace")
    finished_at: str | None
    slot_ends_at: str | None = Field(description="the night slot it runs in ends then (UTC)")


class Accepted(Strict):
    """Counted in changes: a product's stock and its prices count one each."""

    accepted: int = Field(ge=0, description="stock and price values Alephee acknowledged")
    refused: int = Field(
        ge=0, description="stock and price values Alephee refused (see rejects-alephee-*)"
    )


class Catalog(Strict):
    products: int = Field(ge=0, description="products in the cached Alephee catalog")
    refreshed_at: str | None


class FailedFile(Strict):
    name: str
    when: str | None = Field(description="when it was taken from the inbox (UTC)")
    reason: str


class Files(Strict):
    days: float = Field(gt=0, description="the window of 'counts' and 'failed'")
    counts: dict[str, int] = Field(
        description="files per outcome in the window: done, failed, duplicate, claimed; "
        "unsettled = finished files still waiting to be moved (any age)"
    )
    failed: list[FailedFile] = Field(description="newest first, at most 20")
    waiting: list[str] = Field(description="file names in the inbox now")


class UnresolvedOrder(Strict):
    order_id: int = Field(description="Alephee's order Id")
    own_order_id: str = Field(description="the ERP's id for it (OwnOrderId)")
    state: str = Field(
        description="written: Alephee said 'Order not found', re-checked next cycle; "
        "not_found: still unknown after every re-check, no longer tried"
    )
    checks: int = Field(ge=0, description="'Order not found' answers so far")
    message: str = Field(description="Alephee's last answer")
    since: str | None = Field(description="when Alephee last answered it (UTC)")


class Orders(Strict):
    by_state: dict[str, int] = Field(
        description="orders per state: written (in a file, mark pending), marked (integrated "
        "in Alephee), not_found; cancellations = cancellation lines written"
    )
    last_orders_cycle: str | None
    last_cancellations_cycle: str | None
    unresolved: list[UnresolvedOrder] = Field(
        description="orders in the outbox that Alephee said it does not know (at most 50)"
    )


class StatusRefusal(Strict):
    order_id: int = Field(description="the Alephee order Id")
    status: int = Field(description="the status code Alephee refused")
    message: str = Field(description="Alephee's reason")
    at: str | None = Field(description="when it was refused (UTC)")


class StatusUpdates(Strict):
    waiting: int = Field(ge=0, description="order status changes queued: the next run sends them")
    sent: int = Field(ge=0, description="orders whose status and tracking Alephee acknowledged")
    refused: int = Field(
        ge=0,
        description="orders whose last value Alephee refused (not sent again until it changes)",
    )
    last_sent_at: str | None = Field(description="last acknowledged status update (UTC)")
    refusals: list[StatusRefusal] = Field(
        description="the latest refusals, newest first, at most 20"
    )


class DocumentFailure(Strict):
    name: str
    order_id: int | None = Field(description="the Alephee order, when it was found")
    reason: str
    when: str | None = Field(description="UTC")


class Documents(Strict):
    folder: str = Field(description="where the ERP drops invoices (the inbox when not set)")
    waiting: list[str] = Field(description="documents in that folder now, not attached yet")
    attached: int = Field(ge=0, description="documents Alephee stored on their orders")
    uploading: int = Field(ge=0, description="uploads interrupted before their answer was recorded")
    failed: int = Field(ge=0, description="refused, unmatched or unusable (in failed/)")
    recent_failures: list[DocumentFailure] = Field(description="newest first, at most 10")


class RateLimit(Strict):
    limit: int | None
    remaining: int | None
    reset: int | None = Field(description="seconds until the allowance was full again")


class Alephee(Strict):
    last_contact: str | None = Field(description="last successful answer from Alephee (UTC)")
    last_exit: int | None = Field(description="exit code of the last run that called Alephee")
    rate_limits: dict[str, RateLimit] = Field(
        description="per endpoint, as Alephee's x-ratelimit-* headers said at the last contact"
    )


class RunCounts(Strict):
    """The run summary line, as numbers (see connector.runlog.RunSummary). queued, deferred,
    sent, accepted and refused count changes: one product's stock, or one product's prices."""

    files: int = 0
    files_failed: int = 0
    duplicates: int = 0
    rows: int = 0
    rejected: int = 0
    not_in_catalog: int = 0
    queued: int = 0
    deferred: int = 0
    superseded: int = 0
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    orders_written: int = 0
    orders_waiting: int = 0
    cancellations: int = 0
    status_sent: int = 0
    status_refused: int = 0
    documents_attached: int = 0
    documents_failed: int = 0
    calls: int = 0
    rate_limited: int = Field(default=0, description="429 answers during the run")
    internal_errors: int = Field(
        default=0, description="unexpected errors contained to a cycle or an order (exit 5)"
    )
    seconds: float = 0.0
    notes: list[str] = []


class Run(Strict):
    mode: str = Field(description="once or run")
    started_at: str
    finished_at: str
    exit_code: int = Field(
        description="0 ok, 1 rejects, 2 configuration, 3 Alephee, 4 locked, 5 internal error"
    )
    summary: RunCounts
    message: str


class StatusReport(Strict):
    schema_version: int = Field(description=f"{SCHEMA_VERSION} for this shape")
    generated_at: str
    timezone: str
    config: str = Field(description="the connector.toml this report is about")
    instance_running: bool = Field(
        description="a connector is running on this state folder now (its running marker is held)"
    )
    queue: Queue
    sending: Sending | None = Field(description="the current or last send; null before any")
    accepted: Accepted
    catalog: Catalog
    files: Files
    orders: Orders
    status_updates: StatusUpdates
    documents: Documents
    runs: list[Run] = Field(description="the last runs, newest first")
    alephee: Alephee


def run_counts(raw: dict[str, Any]) -> RunCounts:
    """A stored summary; keys of another connector version are dropped, missing ones are 0."""
    known = {f.name for f in fields(RunSummary)} & set(RunCounts.model_fields)
    return RunCounts.model_validate({k: v for k, v in raw.items() if k in known})


def schema() -> dict[str, Any]:
    return StatusReport.model_json_schema(mode="serialization")


def schema_text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(schema_text())
