"""One batch to Alephee and what its answer means for each queued change.

A 4xx for a whole batch is either *request-level* (a cause outside the items: a price list
removed, an account setting) or caused by some items. It is told apart with as few calls as
possible:

- unless the error names one of the batch's SKUs (then it is about that item) or is a 404/412
  "nothing applied", an *empty* batch is sent once per distinct error (nothing to apply, so
  harmless): the same answer means the request itself is refused. Nothing is stored as
  refused, the work stays queued and the run stops (exit 3): 2 calls whatever the batch size
  (it cost 79 for 40 SKUs). An empty batch accepted proves the cause is in the items;
- the batch is then split in halves down to the items that carry the cause (item refusals):
  one bad item among 100 costs about 15 calls;
- when the empty batch got some other answer (it proves nothing), both halves failing alike
  are checked with one item of each alone, and two SKUs refused alike alone mean the request.

Items whose answer was unclear (the counts cannot tell them apart) are sent again in halves at
once: absolute values make a resend safe, and a smaller part can only be read one way.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from connector.alephee.client import AlephClient
from connector.alephee.models import ProductItem
from connector.alephee.results import ItemResult
from connector.db import atomic
from connector.errors import NothingApplied, RequestLevelError, RequestRejected
from connector.intake.crashpoints import crashpoint
from connector.products import pending
from connector.products.recording import Stamps, record
from connector.slots import iso

log = logging.getLogger(__name__)
Batch = list[list[pending.Queued]]  # the queued changes of each SKU in the batch
ErrorKey = tuple[int, str]


@dataclass
class SendReport:
    sent: int = 0
    accepted: int = 0
    refused: list[tuple[pending.Queued, str]] = field(default_factory=list)
    retry_later: int = 0
    calls: int = 0

    def count(self, batch: Batch, results: dict[str, ItemResult]) -> None:
        """Tally a recorded batch (after its commit: a rolled-back batch counts nothing)."""
        for item in (item for group in batch for item in group):
            result = results[item.sku]
            if result.transient:
                self.retry_later += 1
            elif result.ok:
                self.accepted += 1
            else:
                self.refused.append((item, result.message))


class BatchSender:
    """Sends batches for one run, remembering what each refusal proved about its cause."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        client: AlephClient,
        now: datetime,
        report: SendReport,
        *,
        build: Callable[[list[pending.Queued]], ProductItem],
        retry_after: timedelta,
    ) -> None:
        self.conn, self.client, self.now, self.report = conn, client, now, report
        self.build = build
        self.on_record: Callable[[int], None] | None = None  # products recorded, in the batch
        self.stamps = Stamps(now=iso(now), retry_at=iso(now + retry_after))
        self.item_level: set[ErrorKey] = set()  # errors proven to be about items
        self.open_questions: set[ErrorKey] = set()  # the empty batch did not decide these
        self.singles: dict[ErrorKey, str] = {}  # error -> a SKU that got it alone

    def send(self, batch: Batch) -> None:
        error = self._try(batch)
        if error is not None:
            self._resolve(batch, error)

    def _try(self, batch: Batch) -> RequestRejected | None:
        """Send; record the answer when there is one, else return the whole-batch error."""
        updates = [self.build(group) for group in batch]
        before = self.client.stats.calls
        try:
            results = self.client.post_products(updates)
        except RequestRejected as error:
            return error
        finally:
            self.report.calls += self.client.stats.calls - before
        unclear = [g for g in batch if results[g[0].sku].transient] if len(batch) > 1 else []
        clear = [g for g in batch if g not in unclear]
        if clear:
            self.commit(clear, results)
        if unclear:  # smaller parts give answers the counts can tell apart (a resend is safe)
            half = max(1, len(unclear) // 2)
            for part in (unclear[:half], unclear[half:]):
                if part:
                    self.send(part)
        return None

    def _resolve(self, batch: Batch, error: RequestRejected) -> None:
        unsure = self._unsure(batch, error)  # raises when the request itself is refused
        if len(batch) == 1:
            self._single(batch[0], error, unsure=unsure)
            return
        half = len(batch) // 2
        parts = [(part, self._try(part)) for part in (batch[:half], batch[half:])]
        failed = [(part, err) for part, err in parts if err is not None]
        if len(failed) < 2:
            self.item_level.add(_key(error))
        elif unsure and all(_same(err, error) for _, err in failed):
            self._confirm(batch, error, failed)
            return
        for part, err in failed:
            self._resolve(part, err)

    def _unsure(self, batch: Batch, error: RequestRejected) -> bool:
        """Is ``error`` perhaps about the request rather than its items? An empty batch decides
        it in one call (nothing to apply, so harmless): the same answer -> request-level
        (raises); accepted -> the items. Any other answer leaves it open (True)."""
        key = _key(error)
        if key in self.item_level or isinstance(error, NothingApplied):
            return False
        if not _request_like(error, batch):
            return False
        if key not in self.open_questions:
            answer = self._try_empty()
            if answer is not None and _same(answer, error):
                raise RequestLevelError(_request_level_message(error))
            if answer is None:
                self.item_level.add(key)
                return False
            self.open_questions.add(key)
        return True

    def _try_empty(self) -> RequestRejected | None:
        before = self.client.stats.calls
        try:
            self.client.post_products([])
        except RequestRejected as error:
            return error
        finally:
            self.report.calls += self.client.stats.calls - before
        return None

    def _confirm(
        self, batch: Batch, error: RequestRejected, failed: list[tuple[Batch, RequestRejected]]
    ) -> None:
        """Both halves failed alike and the empty batch did not decide: one item of each,
        alone, decides."""
        probes = [(part[:1], self._try(part[:1])) for part, _ in failed]
        if all(err is not None and _same(err, error) for _, err in probes):
            raise RequestLevelError(_request_level_message(error))
        self.item_level.add(_key(error))
        for (part, _), (probe, err) in zip(failed, probes, strict=True):
            if err is not None:
                self._single(probe[0], err, unsure=False)
            if part[1:]:
                self.send(part[1:])

    def _single(self, group: list[pending.Queued], error: RequestRejected, *, unsure: bool) -> None:
        key = _key(error)
        sku = group[0].sku
        other = self.singles.setdefault(key, sku)
        if unsure and other != sku and key not in self.item_level:
            raise RequestLevelError(_request_level_message(error))  # two SKUs alone, alike
        self.commit([group], {sku: ItemResult(False, error.reason or str(error))})

    def commit(self, batch: Batch, results: dict[str, ItemResult]) -> None:
        self.report.sent += sum(len(group) for group in batch)  # in changes, like the queue
        crashpoint("sync.after_post")
        with atomic(self.conn):
            record(self.conn, [(i, results[i.sku]) for g in batch for i in g], self.stamps)
            if self.on_record is not None:
                self.on_record(len(batch))  # progress, durable with what it counts
        crashpoint("sync.after_commit")
        self.report.count(batch, results)


def _key(error: RequestRejected) -> ErrorKey:
    return (error.status, (error.reason or str(error)).strip().casefold())


def _same(a: RequestRejected, b: RequestRejected) -> bool:
    return _key(a) == _key(b)


def _request_like(error: RequestRejected, batch: Batch) -> bool:
    """An error that names one of the batch's SKUs is about that item, never the request."""
    words = error.reason or str(error)
    return not any(
        re.search(rf"(?<![\w.-]){re.escape(group[0].sku)}(?![\w.-])", words, re.IGNORECASE)
        for group in batch
    )


def _request_level_message(error: RequestRejected) -> str:
    return (
        f"Alephee refused the whole request, whatever products it carried ({error.status}: "
        f"{error.reason or error}; the same answer for other sets of products, or none). "
        "Nothing was stored as refused and the changes stay queued: fix the cause in Alephee "
        "or in connector.toml (price list, account), then run again"
    )
