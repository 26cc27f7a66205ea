"""Webhooks: contact and agent events POSTed to an integrator's URL, signed, at least once, in
order.

Each subscription keeps its own position in the ledger: the seq of the last event it delivered
or had no use for. Its sender reads the next events of the types it asked for straight from the
ledger, never past what is durable, and sends them one at a time in seq order; the position moves
on once the receiver answers 2xx. Nothing waits in memory: the ledger is the queue, so a slow or
dead receiver only makes its own position lag (there is nothing to overflow), and a restart
resumes from the stored position. The event being sent when the process stopped is sent again,
hence at least once: the event id is its ledger seq, for receivers to deduplicate.

The routing center is never slowed: its writer thread only schedules a wake-up on the event loop
(``call_soon_threadsafe`` of an ``asyncio.Event.set``, which coalesces), and the senders read the
ledger through their own read-only connection, in a worker thread.

A failed attempt (a refused address, a connection error, a timeout, any status but 2xx) is tried
again after an exponential backoff with jitter; after ``max_attempts`` failures in a row the
subscription is paused with the reason, and resuming it starts again from the event that failed.
Signing: ``Joignable-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>``
(docs/webhooks.md shows a receiver checking it).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import secrets
import socket
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx
import msgspec
from starlette.concurrency import run_in_threadpool

from joignable.center import Center
from joignable.core import events as ev
from joignable.core.errors import InvalidInput, NotFound

log = logging.getLogger("joignable.webhooks")

SIGNATURE_HEADER = "Joignable-Signature"
REPLAY_WINDOW = 300.0  # seconds a receiver should accept a signature's timestamp either way
PAGE = 100  # events read from the ledger at a time, per subscription
LOG_KEEP = 1000  # delivered entries kept per subscription in the delivery log
TIMEOUT = 10.0  # seconds for a receiver to answer
SECRET_PREFIX = "whsec_"


class EventType(StrEnum):
    """The events a subscription may ask for: what happens to contacts and to agents (the
    configuration and the watchdog's alarms are not offered)."""

    CONTACT_ARRIVED = "contact_arrived"
    CONTACT_REQUEUED = "contact_requeued"
    OFFER_MADE = "offer_made"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_RELEASED = "offer_released"
    CALLBACK_REQUESTED = "callback_requested"
    CALLBACK_DUE = "callback_due"
    CALLBACK_ATTEMPT_FAILED = "callback_attempt_failed"
    CONTACT_ENDED = "contact_ended"
    WRAPUP_STARTED = "wrapup_started"
    WRAPUP_ENDED = "wrapup_ended"
    PRESENCE_CHANGED = "presence_changed"


class UnknownWebhook(NotFound):
    code = "unknown_webhook"


class WebhookUrlRefused(InvalidInput):
    code = "webhook_url_refused"


class Webhook(msgspec.Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    description: str
    created_at: float
    created_by: str
    status: str  # active | paused
    paused_reason: str = ""
    paused_at: float | None = None
    position: int  # the ledger seq up to which this subscription is done
    failures: int = 0  # failed attempts in a row


class Delivery(msgspec.Struct, kw_only=True):
    id: int
    webhook: str
    event_id: int  # the event's ledger seq, as the payload's ``id``
    event_type: str
    status: str  # pending | delivered | failed (the subscription was paused on it)
    attempts: int
    last_status: int | None  # the receiver's HTTP status, None if it never answered
    last_error: str
    created_at: float
    last_try: float | None
    next_try: float | None
    delivered_at: float | None


@dataclass
class RetryPolicy:
    base: float = 5.0  # seconds before the first retry; doubles at each failure
    cap: float = 3600.0
    max_attempts: int = 12  # failures in a row before the subscription is paused (about 2 h)

    def delay(self, failures: int, rng: random.Random) -> float:
        """Exponential, with half of it random: receivers that failed together do not come
        back all at once."""
        full = min(self.cap, self.base * 2 ** max(0, failures - 1))
        return float(full / 2 + rng.uniform(0, full / 2))


# -- signing ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: float, window: float = REPLAY_WINDOW
) -> bool:
    """What a receiver does (docs/webhooks.md): the signature matches and is recent."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > window:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- where we may send --------------------------------------------------------------------------


def _refused_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_url(url: str, allow_private: bool) -> str:
    """Refuse what is not a plain http(s) URL, and (unless allowed) a literal address or a name
    that is not on the public internet: the server must not become a way into its own network."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
        httpx.URL(url)  # what will send it must read it too
    except (ValueError, httpx.InvalidURL) as exc:
        raise WebhookUrlRefused(f"not a URL: {exc}") from None
    if any(c.isspace() for c in url):
        raise WebhookUrlRefused("no spaces in a webhook URL (encode them)")
    if parts.scheme not in ("http", "https"):
        raise WebhookUrlRefused("a webhook URL must be http:// or https://")
    if not parts.hostname:
        raise WebhookUrlRefused("a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("no credentials in a webhook URL: the signature authenticates")
    if port == 0:
        raise WebhookUrlRefused("port 0 is not a port")
    if allow_private:
        return url
    host = parts.hostname.rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise WebhookUrlRefused(f"{host} is not a public host")
    with contextlib.suppress(ValueError):
        if _refused_ip(ipaddress.ip_address(host)):
            raise WebhookUrlRefused(f"{host} is not a public address")
    return url


async def check_resolved(url: str) -> None:
    """At send time: every address the name resolves to must be public (a name can point
    anywhere, and can change)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookUrlRefused(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        address = str(info[4][0]).split("%", 1)[0]
        if _refused_ip(ipaddress.ip_address(address)):
            raise WebhookUrlRefused(f"{host} resolves to {address}, which is not public")


# -- storage ------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (
  id TEXT PRIMARY KEY, url TEXT NOT NULL, events TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', secret TEXT NOT NULL, created_at REAL NOT NULL,
  created_by TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'active',
  paused_reason TEXT NOT NULL DEFAULT '', paused_at REAL, position INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, webhook TEXT NOT NULL, event_id INTEGER NOT NULL,
  event_type TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0, last_status INTEGER, last_error TEXT NOT NULL DEFAULT '',
  created_at REAL NOT NULL, last_try REAL, next_try REAL, delivered_at REAL,
  UNIQUE (webhook, event_id));
"""
_HOOK_COLUMNS = (
    "id, url, events, description, created_at, created_by, status, paused_reason, paused_at,"
    " position, failures"
)
_DELIVERY_COLUMNS = (
    "id, webhook, event_id, event_type, status, attempts, last_status, last_error, created_at,"
    " last_try, next_try, delivered_at"
)


def _hook(row: tuple[Any, ...]) -> Webhook:
    names = _HOOK_COLUMNS.split(", ")
    values = dict(zip(names, row, strict=True))
    values["events"] = json.loads(values["events"])
    return Webhook(**values)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(**dict(zip(_DELIVERY_COLUMNS.split(", "), row, strict=True)))


class WebhookStore:
    """Subscriptions, their positions and the delivery log, in tables beside the ledger's (as the
    accounts): one connection under a lock, short indexed queries. The secret is kept as is,
    since signing needs it."""

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def create(
        self, url: str, events: list[str], description: str, created_by: str, position: int
    ) -> tuple[Webhook, str]:
        wid = "wh" + secrets.token_hex(6)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        with self.lock:
            self.db.execute(
                "INSERT INTO webhooks (id, url, events, description, secret, created_at,"
                " created_by, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    wid,
                    url,
                    json.dumps(sorted(set(events))),
                    description,
                    secret,
                    self.clock(),
                    created_by,
                    position,
                ),
            )
        return self.get(wid), secret

    def all(self) -> list[Webhook]:
        return [_hook(r) for r in self._query(f"SELECT {_HOOK_COLUMNS} FROM webhooks ORDER BY 5")]

    def find(self, wid: str) -> Webhook | None:
        rows = self._query(f"SELECT {_HOOK_COLUMNS} FROM webhooks WHERE id = ?", (wid,))
        return _hook(rows[0]) if rows else None

    def get(self, wid: str) -> Webhook:
        found = self.find(wid)
        if found is None:
            raise UnknownWebhook(f"no webhook {wid!r}", webhook=wid)
        return found

    def secret(self, wid: str) -> str:
        rows = self._query("SELECT secret FROM webhooks WHERE id = ?", (wid,))
        if not rows:
            raise UnknownWebhook(f"no webhook {wid!r}", webhook=wid)
        return str(rows[0][0])

    def delete(self, wid: str) -> Webhook:
        hook = self.get(wid)
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM webhook_deliveries WHERE webhook = ?", (wid,))
            self.db.execute("DELETE FROM webhooks WHERE id = ?", (wid,))
            self.db.execute("COMMIT")
        return hook

    def advance(self, wid: str, position: int) -> None:
        """Done up to ``position`` (the events in between were not of this subscription's types)."""
        with self.lock:
            self.db.execute(
                "UPDATE webhooks SET position = ? WHERE id = ? AND position < ?",
                (position, wid, position),
            )

    def pause(self, wid: str, reason: str) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE webhooks SET status = 'paused', paused_reason = ?, paused_at = ?"
                " WHERE id = ?",
                (reason, self.clock(), wid),
            )

    def resume(self, wid: str) -> Webhook:
        self.get(wid)
        with self.lock:
            self.db.execute(
                "UPDATE webhooks SET status = 'active', paused_reason = '', paused_at = NULL,"
                " failures = 0 WHERE id = ?",
                (wid,),
            )
        return self.get(wid)

    def begin(self, wid: str, event_id: int, event_type: str) -> Delivery:
        """The log entry of this event for this subscription (the same one again after a
        restart or a resume: its attempts keep counting)."""
        with self.lock:
            # not for a subscription deleted meanwhile (its log is gone with it)
            self.db.execute(
                "INSERT OR IGNORE INTO webhook_deliveries (webhook, event_id, event_type,"
                " created_at) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = ?)",
                (wid, event_id, event_type, self.clock(), wid),
            )
            row = self.db.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries"
                " WHERE webhook = ? AND event_id = ?",
                (wid, event_id),
            ).fetchone()
        if row is None:
            raise UnknownWebhook(f"no webhook {wid!r}", webhook=wid)
        return _delivery(row)

    def delivered(self, delivery: Delivery, status: int) -> None:
        """The receiver took it: the log says so and the position moves past it, together."""
        now = self.clock()
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "UPDATE webhook_deliveries SET status = 'delivered', attempts = attempts + 1,"
                " last_status = ?, last_error = '', last_try = ?, next_try = NULL,"
                " delivered_at = ? WHERE id = ?",
                (status, now, now, delivery.id),
            )
            self.db.execute(
                "UPDATE webhooks SET position = max(position, ?), failures = 0 WHERE id = ?",
                (delivery.event_id, delivery.webhook),
            )
            self.db.execute("COMMIT")

    def failed(self, delivery: Delivery, status: int | None, error: str) -> int:
        """Record a failed attempt (``retry_at`` then says when the next one is, unless the
        subscription is paused); return the subscription's failures in a row."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1,"
                " last_status = ?, last_error = ?, last_try = ?, next_try = NULL WHERE id = ?",
                (status, error[:500], self.clock(), delivery.id),
            )
            self.db.execute(
                "UPDATE webhooks SET failures = failures + 1 WHERE id = ?", (delivery.webhook,)
            )
            (failures,) = self.db.execute(
                "SELECT failures FROM webhooks WHERE id = ?", (delivery.webhook,)
            ).fetchone() or (0,)
            self.db.execute("COMMIT")
        return int(failures)

    def retry_at(self, delivery: Delivery, at: float) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_try = ? WHERE id = ?",
                (at, delivery.id),
            )

    def deliveries(self, wid: str, before: int | None, limit: int) -> list[Delivery]:
        """The log, newest first (page with ``before`` = the last id seen)."""
        self.get(wid)
        rows = self._query(
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook = ? AND id < ?"
            " ORDER BY id DESC LIMIT ?",
            (wid, before if before is not None else 1 << 62, limit),
        )
        return [_delivery(r) for r in rows]

    def prune(self, wid: str, keep: int = LOG_KEEP) -> None:
        """Forget delivered entries beyond the ``keep`` newest (failures stay until resolved)."""
        with self.lock:
            self.db.execute(
                "DELETE FROM webhook_deliveries WHERE webhook = ? AND status = 'delivered'"
                " AND id <= (SELECT id FROM webhook_deliveries WHERE webhook = ?"
                " ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (wid, wid, keep),
            )


# -- delivery -----------------------------------------------------------------------------------


class LedgerReader:
    """The events of some types after a seq, through a read-only connection of our own."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.lock = threading.Lock()

    def close(self) -> None:
        self.db.close()

    def after(self, seq: int, upto: int, types: list[str]) -> list[tuple[int, ev.AnyEvent]]:
        marks = ", ".join("?" * len(types))
        with self.lock:
            rows = self.db.execute(
                "SELECT seq, data FROM events WHERE seq > ? AND seq <= ?"
                f" AND json_extract(data, '$.type') IN ({marks})"
                " ORDER BY seq LIMIT ?",
                (seq, upto, *types, PAGE),
            ).fetchall()
        return [(int(s), ev.decode(data)) for s, data in rows]


def payload(hook: Webhook, seq: int, event: ev.Event) -> bytes:
    data = msgspec.to_builtins(event)
    data.pop("type", None)
    return msgspec.json.encode(
        {"id": seq, "type": ev.event_type(event), "at": event.at, "webhook": hook.id, "data": data}
    )


class Dispatcher:
    """One asyncio task per active subscription, started and stopped by ``run``."""

    def __init__(
        self, store: WebhookStore, center: Center, db_path: str, clock: Callable[[], float]
    ) -> None:
        self.store = store
        self.center = center
        self.db_path = db_path
        self.clock = clock
        self.policy = RetryPolicy()
        self.allow_private = os.environ.get("JOIGNABLE_WEBHOOKS_ALLOW_PRIVATE") == "1"
        self.rng = random.Random()
        self.on_pause: Callable[[str, str], None] = lambda wid, reason: None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None  # new durable events, or subscriptions changed
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._events: dict[str, asyncio.Event] = {}
        center.subscribe(self._on_durable)

    def _on_durable(self, batch: list[tuple[int, ev.Event]]) -> None:
        """In the ledger's writer thread: schedule a wake-up of the senders, nothing more (and
        nothing at all with no subscription)."""
        if self._events:
            self._call(self._wake_senders)

    def poke(self) -> None:
        """A subscription changed: the supervisor loop starts or stops senders. From any thread
        or loop (a request may be served by another loop than the senders', as under a test
        client)."""
        self._call(self._wake_all)

    def _call(self, fn: Callable[[], None]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between
            loop.call_soon_threadsafe(fn)

    def _wake_senders(self) -> None:
        for event in self._events.values():
            event.set()

    def _wake_all(self) -> None:
        if self._wake is not None:
            self._wake.set()
        self._wake_senders()

    async def run(self) -> None:
        if self._loop is not None:
            # the app's lifespan entered a second time (a test tool's own loop): one sender
            # per subscription is enough
            await asyncio.Event().wait()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        reader = await run_in_threadpool(LedgerReader, self.db_path)
        client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
        try:
            while True:
                self._wake.clear()
                active = {h.id for h in self.store.all() if h.status == "active"}
                for wid, task in list(self._tasks.items()):
                    if task.done() and not task.cancelled() and task.exception() is not None:
                        # started again below (if still active): its position is stored
                        log.error("webhook %s sender failed", wid, exc_info=task.exception())
                    if wid not in active or task.done():
                        task.cancel()
                        del self._tasks[wid]
                        self._events.pop(wid, None)
                for wid in active - set(self._tasks):
                    self._events[wid] = asyncio.Event()
                    self._tasks[wid] = asyncio.create_task(self._send(wid, reader, client))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), 5.0)
        finally:
            tasks = list(self._tasks.values())
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            self._loop = None
            await client.aclose()
            reader.close()

    async def _send(self, wid: str, reader: LedgerReader, client: httpx.AsyncClient) -> None:
        wake = self._events[wid]
        while True:
            hook = self.store.find(wid)
            if hook is None or hook.status != "active":
                return
            wake.clear()  # before reading ``durable``: a batch landing after it wakes us again
            upto = self.center.durable  # never past what the ledger acknowledged
            page = []
            if hook.position < upto:
                page = await run_in_threadpool(reader.after, hook.position, upto, hook.events)
            if not page:
                self.store.advance(wid, upto)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), 5.0)
                continue
            for seq, event in page:
                try:
                    if not await self._deliver(hook, seq, event, client):
                        return  # paused
                except UnknownWebhook:
                    return  # deleted meanwhile
            if len(page) < PAGE:
                self.store.advance(wid, upto)
            self.store.prune(wid)

    async def _deliver(
        self, hook: Webhook, seq: int, event: ev.Event, client: httpx.AsyncClient
    ) -> bool:
        """Send until the receiver takes it (True) or the subscription is paused (False)."""
        delivery = self.store.begin(hook.id, seq, ev.event_type(event))
        body = payload(hook, seq, event)
        secret = self.store.secret(hook.id)
        attempt = delivery.attempts
        while True:
            attempt += 1
            status, error = await self._attempt(hook, seq, event, body, secret, attempt, client)
            if error is None:
                self.store.delivered(delivery, status or 0)
                return True
            policy = self.policy
            failures = self.store.failed(delivery, status, error)
            if failures >= policy.max_attempts:
                reason = f"{failures} failed attempts in a row; the last: {error}"
                self.store.pause(hook.id, reason)
                self.on_pause(hook.id, reason)
                log.warning("webhook %s paused: %s", hook.id, reason)
                return False
            delay = policy.delay(failures, self.rng)
            self.store.retry_at(delivery, self.clock() + delay)
            await asyncio.sleep(delay)
            if (current := self.store.find(hook.id)) is None or current.status != "active":
                return False

    async def _attempt(
        self,
        hook: Webhook,
        seq: int,
        event: ev.Event,
        body: bytes,
        secret: str,
        attempt: int,
        client: httpx.AsyncClient,
    ) -> tuple[int | None, str | None]:
        """One POST: the receiver's status and, if it failed, why."""
        try:
            check_url(hook.url, self.allow_private)
            if not self.allow_private:
                await check_resolved(hook.url)
        except WebhookUrlRefused as exc:
            return None, f"refused: {exc.message}"
        except ValueError as exc:  # an address the resolver gave that is no address
            return None, f"refused: {exc}"
        now = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "joignable-webhooks",
            "Joignable-Event-Id": str(seq),
            "Joignable-Event-Type": ev.event_type(event),
            "Joignable-Webhook-Id": hook.id,
            "Joignable-Delivery-Attempt": str(attempt),
            SIGNATURE_HEADER: sign(secret, now, body),
        }
        try:
            # streamed and never read: a receiver's answer cannot fill our memory
            async with client.stream("POST", hook.url, content=body, headers=headers) as r:
                status = r.status_code
        except httpx.TimeoutException:
            return None, f"no answer within {TIMEOUT:g} s"
        except Exception as exc:  # noqa: BLE001 (any failure to send is a failed attempt, logged)
            return None, f"{type(exc).__name__}: {exc}"[:500]
        if 200 <= status < 300:
            return status, None
        return status, f"HTTP {status}"


# -- wiring -------------------------------------------------------------------------------------


def install(app: Any, services: Any) -> None:
    """Open the tables beside the ledger and subscribe to it; ``run`` sends (the lifespan)."""
    store = WebhookStore(services.db_path, services.clock)
    services.on_close.append(store.close)
    dispatcher = Dispatcher(store, services.center, services.db_path, services.clock)
    accounts = services.accounts
    dispatcher.on_pause = lambda wid, reason: accounts.record(
        "webhooks", "webhook.paused", wid, reason=reason
    )
    app.state.webhooks = dispatcher


async def run(app: Any) -> None:
    dispatcher: Dispatcher = app.state.webhooks
    await dispatcher.run()
