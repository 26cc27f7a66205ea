"""The runtime: the single writer between the world and the ledger.

Commands run one at a time on the pure engine (under a lock); the events they emit get the next
sequence numbers and go to a writer thread, which stores whatever has accumulated in one
transaction (group commit: one fsync for many commands). A command is acknowledged only once its
events are durable. The state a later command sees may include events still being written; that is
safe because nothing leaves the process (no acknowledgement, no notification) before the write.
If a write fails the center stops: the state in memory would no longer match the log.

On open, the state is rebuilt from the log, offers pending at the crash are released and agents
come back as configured; the live watchdog (the audit, fed event by event) raises an alarm event
when it finds a discrepancy.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from joignable.core import events as ev
from joignable.core.engine import Engine, replay
from joignable.core.errors import DomainError, InvalidInput
from joignable.ledger.store import EventStore, LedgerError

# Garbage-collector thresholds and interpreter switch interval for a process that holds one
# center (see ``settle_process``).
GC_THRESHOLDS = (10_000, 20, 10)
SWITCH_INTERVAL = 0.001  # seconds


def settle_process() -> None:
    """Tune the interpreter for a process that runs one center for its life (the server, the
    benchmarks), once its state is loaded.

    The switch interval: the ledger's writer thread gives up the interpreter lock while SQLite
    writes and syncs, and must get it back to confirm the batch; while commands keep the other
    thread busy it waits up to a whole switch interval for that (5 ms by default), and every
    acknowledgement with it. One millisecond keeps the writer close behind the commands.

    The routing state is a large graph that lives as long as the process: agents, their pools,
    the indexes. CPython's collector would traverse it again at every full collection, a pause
    of tens of milliseconds on a center of 5,000 agents, for nothing (it holds no garbage).
    Freezing moves what exists now out of the collector's sight; objects made later (contacts,
    index entries) are still collected, in rarer young collections (a new contact is a handful
    of objects, none of them in a cycle). Not for a process that builds and drops many centers,
    such as the tests: a frozen object is freed only by its reference count, so the cycles of a
    dropped center (an agent and its pools) would stay.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL)


log = logging.getLogger("joignable.center")

Listener = Callable[[list[tuple[int, ev.Event]]], None]
Command = tuple[str, tuple[Any, ...], dict[str, Any]]  # engine method, args, kwargs

# What the outside may ask of the engine (its other methods are internal).
COMMANDS = frozenset(
    {
        "tick",
        "configure",
        "define_skill",
        "configure_queue",
        "configure_agent",
        "set_presence",
        "disconnect",
        "accept",
        "reject",
        "complete",
        "end_wrapup",
        "callback_not_reached",
        "transfer",
        "arrive",
        "schedule_callback",
        "request_callback",
        "abandon",
        "deflect",
        "fail",
    }
)


def _commands(engine: Engine) -> dict[str, Callable[..., Any]]:
    """The engine's commands by name, bound once (not at every call)."""
    return {name: getattr(engine, name) for name in COMMANDS}


def _no_command(name: str) -> Callable[..., Any]:
    raise InvalidInput(f"no command {name!r}")


class CenterStopped(LedgerError):
    code = "center_stopped"
    status = 503


class Center:
    def __init__(
        self,
        store: EventStore,
        clock: Callable[[], float] = time.time,
        *,
        watchdog: bool = True,
        tolerance: float = 2.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()
        self._cond = threading.Condition()
        self._queue: list[tuple[int, ev.Event]] = []
        self._listeners: list[Listener] = []
        self._failure: BaseException | None = None
        self._closing = False
        self.auditor: Any = None
        # While the watchdog catches up with the log after a restart (``_catch_up``): the
        # batches stored since, which it reads next. None once it watches live.
        self._audit_backlog: list[list[tuple[int, ev.Event]]] | None = None
        self.watchdog_ready = threading.Event()  # set once the watchdog watches live (or is off)
        self.alarms: list[Any] = []

        # Rebuild from the log. The garbage collector is paused meanwhile: a million events
        # are a million new objects in no cycle, and its passes over them cost a third of the time.
        self.seq = 0
        collecting = gc.isenabled()
        gc.disable()
        try:
            events: list[ev.Event] = []
            for seq, e in store.read():
                events.append(e)
                self.seq = seq
            self.recovered_events = len(events)
            self.engine: Engine = replay(events, clock)
            self._commands = _commands(self.engine)
            del events
        finally:
            if collecting:
                gc.enable()
        self.durable = self.seq
        reader = getattr(store, "reader", None)
        if watchdog:
            from joignable.ledger.audit import Auditor

            auditor = Auditor(tolerance=tolerance)
            if self.seq and reader is not None:
                # The center serves as soon as its state is rebuilt; the watchdog folds the log
                # in the background (about as long again as the replay) and then watches live.
                self._audit_backlog = []
                threading.Thread(
                    target=self._catch_up,
                    args=(auditor, reader, self.seq),
                    name="watchdog-catch-up",
                    daemon=True,
                ).start()
            else:
                for seq, e in store.read() if self.seq else ():
                    auditor.feed(seq, e)
                self.auditor = auditor
                self.watchdog_ready.set()
        else:
            self.watchdog_ready.set()
        if self.seq:
            self.engine.recover(self.seq)
        self._writer = threading.Thread(target=self._write_loop, name="ledger-writer", daemon=True)
        self._writer.start()
        if self.seq or self.engine.pending:
            with self.lock:
                last = self._push(self.engine.take())
            self.wait_durable(last)

    # -- commands ----------------------------------------------------------------------------

    def submit(self, command: str, *args: Any, **kwargs: Any) -> tuple[Any, int]:
        """Run a command; return its result and the seq to wait for before acknowledging it.

        A refused command (``DomainError``) changed nothing, but time may have passed inside it
        (due timers fired): those events are stored all the same.
        """
        if self._failure is not None:
            raise CenterStopped("the ledger failed; the center stopped", cause=str(self._failure))
        with self.lock:
            try:
                fn = self._commands.get(command) or _no_command(command)
                result = fn(*args, **kwargs)
            finally:
                last = self._push(self.engine.take())
        return result, last

    def submit_many(self, commands: Sequence[Command]) -> tuple[list[Any], int]:
        """Run several commands in one turn of the lock, as a server does with the requests that
        came in while the last write was on disk; return each one's result (or the
        ``DomainError`` that refused it: a refused command changed nothing) and the one seq to
        wait for before acknowledging any of them."""
        if self._failure is not None:
            raise CenterStopped("the ledger failed; the center stopped", cause=str(self._failure))
        results: list[Any] = []
        known = self._commands
        with self.lock:
            try:
                for name, args, kwargs in commands:
                    try:
                        fn = known.get(name) or _no_command(name)
                        results.append(fn(*args, **kwargs))
                    except DomainError as exc:
                        results.append(exc)
            finally:
                last = self._push(self.engine.take())
        return results, last

    def run(self, command: str, *args: Any, **kwargs: Any) -> Any:
        """Run a command and return once its events are durable."""
        try:
            result, last = self.submit(command, *args, **kwargs)
        except DomainError:
            self.wait_durable(self.seq)
            raise
        self.wait_durable(last)
        return result

    def tick(self) -> None:
        """Let time pass (offer deadlines, widening, wrap-up limits, callbacks coming due).

        The watchdog then looks at the quiet time too: a contact left waiting beside an idle
        agent is a fault even when no event arrives to reveal it.
        """
        now = self.run("tick")
        if self.auditor is not None:
            with self.lock:
                found = self.auditor.check(now)
                if found:
                    self.wait_durable(self._push_alarms(found))

    def next_timer(self) -> float | None:
        with self.lock:
            return self.engine.next_timer()

    def read(self, fn: Callable[[Engine], Any]) -> Any:
        """Look at the state consistently (under the writer lock)."""
        with self.lock:
            return fn(self.engine)

    def subscribe(self, listener: Listener) -> None:
        """Be told of each batch of events once it is durable (in the writer thread)."""
        self._listeners.append(listener)

    # -- the write path ----------------------------------------------------------------------

    def _push(self, events: list[ev.Event]) -> int:
        if not events:
            return self.seq
        first = self.seq + 1
        self.seq += len(events)
        batch = list(zip(range(first, self.seq + 1), events, strict=True))
        if self.auditor is not None:
            self._watch(batch)
        elif self._audit_backlog is not None:
            self._audit_backlog.append(list(batch))
        with self._cond:
            self._queue.extend(batch)
            self._cond.notify_all()
        return self.seq

    def _watch(self, batch: list[tuple[int, ev.Event]]) -> None:
        found = []
        try:
            for seq, e in batch:
                if not isinstance(e, ev.AlarmRaised):
                    found.extend(self.auditor.feed(seq, e))
        except Exception as exc:  # noqa: BLE001 - the watchdog must never stop the write path
            # These events are applied already: they must reach the ledger whatever the
            # watchdog thinks of them. Without it the center goes on, saying so in the log.
            log.exception("the live watchdog failed; it is off until the next restart")
            self.auditor = None
            self.engine.raise_alarm(
                "watchdog_failed", f"The live watchdog stopped: {exc!r}.", [], []
            )
            for e in self.engine.take():
                self.seq += 1
                batch.append((self.seq, e))
            return
        if found:
            batch.extend(self._alarm_events(found))

    def _catch_up(self, auditor: Any, reader: Callable[[], EventStore], upto: int) -> None:
        """Fold the log up to ``upto`` into ``auditor`` (its own read connection), then the
        batches stored since, then hand it over to watch live. What it finds in those later
        batches is raised as alarms, as the live watchdog would have."""
        try:
            store = reader()
            try:
                for seq, e in store.read(1, upto):
                    auditor.feed(seq, e)
                    if self._closing:
                        return
            finally:
                store.close()
            while not self._closing:
                with self.lock:
                    assert self._audit_backlog is not None
                    backlog, self._audit_backlog = self._audit_backlog, []
                    if not backlog:  # caught up: from now on every batch is watched live
                        self._audit_backlog = None
                        self.auditor = auditor
                        break
                found = [
                    d
                    for batch in backlog
                    for seq, e in batch
                    if not isinstance(e, ev.AlarmRaised)
                    for d in auditor.feed(seq, e)
                ]
                if found:
                    with self.lock:
                        for d in found:
                            self.alarms.append(d)
                            self.engine.raise_alarm(
                                d.kind, d.message, list(d.contacts), list(d.agents)
                            )
                        self._push(self.engine.take())
        except Exception:  # noqa: BLE001 - as in _watch: never stop the center
            log.exception("the watchdog could not catch up with the log; it stays off")
            with self.lock:
                self._audit_backlog = None
        finally:
            self.watchdog_ready.set()

    def _alarm_events(self, found: list[Any]) -> list[tuple[int, ev.Event]]:
        for d in found:
            self.alarms.append(d)
            self.engine.raise_alarm(d.kind, d.message, list(d.contacts), list(d.agents))
        out = []
        for e in self.engine.take():
            self.seq += 1
            out.append((self.seq, e))
            self.auditor.feed(self.seq, e)
        return out

    def _push_alarms(self, found: list[Any]) -> int:
        batch = self._alarm_events(found)
        with self._cond:
            self._queue.extend(batch)
            self._cond.notify_all()
        return self.seq

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue and self._closing:
                    return
                batch, self._queue = self._queue, []
            try:
                self.store.append(batch)
            except BaseException as exc:  # the log no longer matches memory: stop
                with self._cond:
                    self._failure = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self.durable = batch[-1][0]
                self._cond.notify_all()
            for listener in self._listeners:
                listener(batch)

    def wait_durable(self, seq: int, timeout: float | None = 30.0) -> None:
        with self._cond:
            ok = self._cond.wait_for(
                lambda: self.durable >= seq or self._failure is not None, timeout
            )
            if self._failure is not None:
                raise CenterStopped(
                    "the ledger failed; the center stopped", cause=str(self._failure)
                )
            if not ok:
                raise CenterStopped(f"the ledger did not confirm seq {seq} in time")

    def close(self) -> None:
        """Flush what is pending and stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._writer.join()
        self.store.close()

    def __enter__(self) -> Center:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
