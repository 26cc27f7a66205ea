"""The read side the API serves: live view, interval KPIs and one record per contact.

All three are folds over the ledger's events, fed by the Center's ``subscribe`` in the writer
thread; requests read them under the same lock. A batch that arrives after a gap (events written
before we subscribed) first reads the gap from the ledger, and a fold skips a seq it already
applied, so attaching while the center writes loses and doubles nothing.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from joignable.center import Center
from joignable.core import events as ev
from joignable.ledger.kpis import KpiProjection, LiveView
from joignable.ledger.store import EventStore


class ContactRecord(msgspec.Struct, kw_only=True):
    """One contact as a person reads it afterwards: where it came from and how it ended."""

    contact: str
    customer: str
    channel: str
    queue: str  # where it arrived
    final_queue: str
    priority: int
    arrived_at: float
    answered_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None  # None: still open
    reason: str = ""
    agent: str | None = None
    wait: float | None = None
    transfers: int = 0
    overflows: int = 0
    callback_requested: bool = False
    disposition: str = ""
    notes: str = ""


CSV_FIELDS = tuple(ContactRecord.__struct_fields__)


class ContactRecords:
    """Every contact's record, and each customer's contacts in arrival order."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.records: dict[str, ContactRecord] = {}
        self.by_customer: dict[str, list[str]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            ev.ContactArrived: self._arrived,
            ev.ContactRequeued: self._requeued,
            ev.OfferAccepted: self._accepted,
            ev.CallbackRequested: self._callback,
            ev.ContactEnded: self._ended,
            ev.WrapupEnded: self._wrapup_ended,
        }

    def apply(self, event: ev.Event, seq: int) -> None:
        if seq <= self.last_seq:
            return
        self.last_seq = seq
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _arrived(self, e: ev.ContactArrived) -> None:
        self.records[e.contact] = ContactRecord(
            contact=e.contact,
            customer=e.customer,
            channel=e.channel.value,
            queue=e.queue,
            final_queue=e.queue,
            priority=e.priority,
            arrived_at=e.at,
        )
        if e.customer:
            self.by_customer.setdefault(e.customer, []).append(e.contact)

    def _requeued(self, e: ev.ContactRequeued) -> None:
        r = self.records.get(e.contact)
        if r is not None:
            r.final_queue = e.queue
            r.transfers += e.reason == "transfer"
            r.overflows += e.reason == "overflow"

    def _accepted(self, e: ev.OfferAccepted) -> None:
        r = self.records.get(e.contact)
        if r is not None:
            r.agent = e.agent
            if r.answered_at is None:
                r.answered_at = e.at

    def _callback(self, e: ev.CallbackRequested) -> None:
        r = self.records.get(e.contact)
        if r is not None:
            r.callback_requested = True

    def _ended(self, e: ev.ContactEnded) -> None:
        r = self.records.get(e.contact)
        if r is not None:
            r.ended_at = e.at
            r.outcome = e.outcome.value
            r.reason = e.reason
            r.wait = e.wait
            if e.agent is not None:
                r.agent = e.agent

    def _wrapup_ended(self, e: ev.WrapupEnded) -> None:
        r = self.records.get(e.contact)
        if r is not None:
            r.disposition = e.disposition
            r.notes = e.notes


def csv_rows(records: Iterable[ContactRecord]) -> Iterator[str]:
    """The export, one line per contact, header first (streamed: no whole file in memory)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for r in records:
        writer.writerow(["" if v is None else v for v in (getattr(r, f) for f in CSV_FIELDS)])
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
    yield buf.getvalue()


class Projections:
    def __init__(self, interval: int = 900) -> None:
        self.lock = threading.Lock()
        self.live = LiveView()
        self.kpis = KpiProjection(interval)
        self.contacts = ContactRecords()
        self._reader: EventStore | None = None

    @property
    def last_seq(self) -> int:
        return self.contacts.last_seq

    def _apply(self, pairs: Iterable[tuple[int, ev.Event]]) -> None:
        live, kpis, contacts = self.live.apply, self.kpis.apply, self.contacts.apply
        for seq, e in pairs:
            live(e, seq)
            kpis(e, seq)
            contacts(e, seq)

    def _catch_up(self, upto: int) -> None:
        if self._reader is not None and upto > self.last_seq:
            self._apply(self._reader.read(self.last_seq + 1, upto))

    def attach(self, center: Center, reader: EventStore) -> None:
        """Fold the log so far from ``reader`` (a store of its own), then follow the center."""
        with self.lock:
            self._reader = reader
            center.subscribe(self._on_batch)
            self._catch_up(center.durable)

    def _on_batch(self, batch: list[tuple[int, ev.Event]]) -> None:
        with self.lock:
            self._catch_up(batch[0][0] - 1)
            self._apply(batch)
