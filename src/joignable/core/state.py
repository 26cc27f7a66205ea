"""The routing state and ``apply``: the only code that changes it.

Indexes are kept so each routing decision is O(log n):
- a *pool* groups contacts that the same agents may take (queue, widening step, extra skills, or
  one named agent); it holds per channel the waiting contacts ordered by (priority, arrival) and the
  agents with free capacity ordered by the queue's strategy;
- each agent knows the pools it belongs to, so an agent that frees up looks at the head of each.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from heapq import heappop, heappush
from typing import Any

from joignable.core import events as ev
from joignable.core.events import WrapupStarted
from joignable.core.kinds import Channel, Outcome, Presence, Strategy
from joignable.core.model import AgentConfig, QueueConfig, Requirement, Settings
from joignable.core.rules import meets_any, next_step_time

# (-priority, rank time, arrival seq, contact id); typed loosely on purpose: a compiled core
# would unpack and repack a fixed tuple type at every read and comparison.
WaitKey = tuple[Any, ...]
FreeKey = tuple[Any, ...]  # strategy key ..., agent id (last)
PoolKey = tuple[Any, ...]


_COMPLETED = (Outcome.HANDLED, Outcome.CALLBACK_COMPLETED)


class Status(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    CONNECTED = "connected"
    SCHEDULED = "scheduled"  # a callback not yet due
    ENDED = "ended"


class Contact:
    """An open contact. A plain class, not a dataclass: one is made per arrival, and a compiled
    core runs a dataclass's generated ``__init__`` as interpreted Python."""

    __slots__ = (
        "id",
        "channel",
        "queue",
        "customer",
        "priority",
        "skills",
        "arrived_at",
        "seq",
        "rank_time",
        "alternatives",
        "status",
        "route_channel",
        "step",
        "pool",
        "agent",
        "offer_deadline",
        "accepted_at",
        "callback_number",
        "callback_due",
        "callback_key",
        "attempts",
        "data",
        "history",
        "visited",
    )

    def __init__(
        self,
        id: str,
        channel: Channel,
        queue: str,
        customer: str,
        priority: int,
        skills: Requirement,
        arrived_at: float,
        seq: int,
        alternatives: list[Requirement],
        data: dict[str, str],
    ) -> None:
        self.id = id
        self.channel = channel
        self.queue = queue
        self.customer = customer
        self.priority = priority
        self.skills = skills
        self.arrived_at = arrived_at
        self.seq = seq
        self.rank_time = arrived_at  # moves only for a callback: to its due time
        self.alternatives = alternatives
        self.status = Status.WAITING
        self.route_channel = channel
        self.step = 0
        self.pool: Pool | None = None
        self.agent: str | None = None
        self.offer_deadline = 0.0
        self.accepted_at: float | None = None
        self.callback_number: str | None = None
        self.callback_due: float | None = None
        self.callback_key: tuple[str, str] | None = None
        self.attempts = 0
        self.data = data
        self.history: list[tuple[float, str, str]] = [(arrived_at, "arrived", queue)]
        self.visited: list[str] = [queue]  # queues, for overflow without loops

    @property
    def key(self) -> WaitKey:
        return (-self.priority, self.rank_time, self.seq, self.id)

    def __lt__(self, other: Contact) -> bool:  # for a heap of heads (Engine._serve)
        return before_in_line(self, other)


def before_in_line(x: Contact, y: Contact) -> bool:
    """``x`` comes before ``y`` in line: higher priority, then earlier rank time, then earlier
    arrival (unique). The order of ``Contact.key``, read from plain numbers of this compiled
    class instead of comparing tuples element by element."""
    if x.priority != y.priority:
        return x.priority > y.priority
    if x.rank_time != y.rank_time:
        return x.rank_time < y.rank_time
    return x.seq < y.seq


class Wrapup:
    __slots__ = ("channel", "deadline", "queue", "accepted_at")

    def __init__(self, channel: Channel, deadline: float, queue: str, accepted_at: float) -> None:
        self.channel = channel
        self.deadline = deadline
        self.queue = queue
        self.accepted_at = accepted_at


@dataclass(slots=True, eq=False)
class Agent:
    config: AgentConfig
    order: int
    presence: Presence = Presence.OFFLINE
    reason: str = ""
    presence_since: float = 0.0
    idle_since: float = 0.0
    load: dict[Channel, int] = field(default_factory=dict)
    offers: dict[str, Channel] = field(default_factory=dict)
    contacts: dict[str, Channel] = field(default_factory=dict)
    wrapups: dict[str, Wrapup] = field(default_factory=dict)
    missed: int = 0
    last_offer_seq: int = 0
    pools: list[Pool] = field(default_factory=list)
    # Where it is free: the channels it has room on, and its key in each line it serves (the
    # same key whatever the channel). Its entries in the free indexes are live while they carry
    # its current stamp (see FreeIndex); ``indexed`` says they have been pushed.
    free_channels: tuple[Channel, ...] = ()
    # ``free_keys[i]`` is its key in ``pools[i]`` (parallel lists: no pair tuple to make, keep
    # and collect for each line each time it frees up); None: not computed yet.
    free_keys: list[FreeKey] | None = field(default_factory=list)
    stamp: int = 0
    indexed: bool = True
    channels: tuple[Channel, ...] = ()  # those its capacity allows at all, in config order
    # Copied out of ``config`` by ``configure``: routing reads them at every decision, and an
    # attribute of this (compiled) class costs far less than one of a msgspec struct.
    id: str = ""
    capacity: dict[Channel, int] = field(default_factory=dict)
    mixing: bool = False

    def configure(self, config: AgentConfig) -> None:
        self.config = config
        self.id = config.id
        self.capacity = config.capacity
        self.mixing = config.mixing
        self.channels = tuple(ch for ch, n in config.capacity.items() if n > 0)

    def total_load(self) -> int:
        return sum(self.load.values())

    def room(self) -> tuple[Channel, ...]:
        """The channels it can take one more contact on right now."""
        if self.presence is not Presence.AVAILABLE:
            return ()
        load = self.load
        cap = self.capacity
        if self.mixing:
            return tuple(ch for ch, n in cap.items() if load.get(ch, 0) < n)
        # not mixing: room only on the one channel it works on, if any
        working: Channel | None = None
        channels = self.channels  # nothing on: room on every channel it takes
        for ch, n in load.items():
            if n:
                if working is not None:  # on two channels (a transfer): no room
                    return ()
                working = ch
                channels = (ch,) if n < cap.get(ch, 0) else ()
        return channels

    def free_for(self, channel: Channel) -> bool:
        """Can take one more contact on ``channel`` right now."""
        return channel in self.room()

    def state_name(self) -> str:
        """What a wallboard shows: offline, away, reserved, busy, wrap-up or available."""
        if self.presence is Presence.OFFLINE and not self.load_any():
            return "offline"
        if self.offers:
            return "reserved"
        if self.contacts:
            return "busy"
        if self.wrapups:
            return "wrap-up"
        if self.presence is Presence.AVAILABLE:
            return "available"
        return self.presence.value

    def load_any(self) -> bool:
        return any(self.load.values())


_BLOCK = 512  # keys per block of a line, at most twice this


class Line:
    """The waiting contacts of one line on one channel, in order (priority, then arrival), the
    head first.

    Sorted blocks of at most ``2 * load`` contacts, found by bisecting the blocks' last contacts
    (the idea of sortedcontainers' SortedList, kept to what routing uses so it compiles with the
    core, and comparing contacts by their numbers, ``before_in_line``). Adding or removing a
    contact is O(log n) comparisons plus moving at most one block; the head is read in O(1).
    Iterating gives the contacts' keys (``Contact.key``).
    """

    __slots__ = ("blocks", "maxes", "size", "load")

    def __init__(self, load: int = _BLOCK) -> None:
        self.blocks: list[list[Contact]] = []
        self.maxes: list[Contact] = []  # the last contact of each block
        self.size = 0
        self.load = load

    def add(self, contact: Contact) -> None:
        blocks, maxes = self.blocks, self.maxes
        self.size += 1
        if not blocks:
            blocks.append([contact])
            maxes.append(contact)
            return
        i = _after(maxes, contact)
        if i == len(maxes):  # behind everyone (the common case: a new arrival)
            i -= 1
            block = blocks[i]
            block.append(contact)
            maxes[i] = contact
        else:
            block = blocks[i]
            block.insert(_after(block, contact), contact)
        load = self.load
        if len(block) > 2 * load:
            blocks.insert(i + 1, block[load:])
            del block[load:]
            maxes[i] = block[-1]
            maxes.insert(i + 1, blocks[i + 1][-1])

    def _find(self, contact: Contact) -> tuple[int, int]:
        """(block, place) of ``contact``; ValueError when it is not in the line."""
        i = _before_or_at(self.maxes, contact)
        if i < len(self.maxes):
            block = self.blocks[i]
            j = _before_or_at(block, contact)
            if j < len(block) and block[j] is contact:
                return i, j
        raise ValueError(f"{contact.id!r} is not in the line")

    def remove(self, contact: Contact) -> None:
        i, j = self._find(contact)
        block = self.blocks[i]
        del block[j]
        self.size -= 1
        if not block:
            del self.blocks[i]
            del self.maxes[i]
        elif j == len(block):
            self.maxes[i] = block[-1]

    def head(self) -> Contact | None:
        return self.blocks[0][0] if self.blocks else None

    def index(self, contact: Contact) -> int:
        """How many contacts come before ``contact`` (its place in line, from 0)."""
        i, j = self._find(contact)
        return sum(len(b) for b in self.blocks[:i]) + j

    def contacts(self) -> list[Contact]:
        return [c for block in self.blocks for c in block]

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def __iter__(self) -> Iterator[WaitKey]:
        for block in self.blocks:
            for c in block:
                yield c.key


def _after(line: list[Contact], c: Contact) -> int:
    """The first place in ``line`` (in order) whose contact comes after ``c``."""
    lo, hi = 0, len(line)
    while lo < hi:
        mid = (lo + hi) >> 1
        if before_in_line(c, line[mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _before_or_at(line: list[Contact], c: Contact) -> int:
    """The first place in ``line`` (in order) whose contact does not come before ``c``."""
    lo, hi = 0, len(line)
    while lo < hi:
        mid = (lo + hi) >> 1
        if before_in_line(line[mid], c):
            lo = mid + 1
        else:
            hi = mid
    return lo


class FreeEntry:
    """An agent's place in one free index: its strategy key, and the stamp it had when pushed.

    The key is kept as the tuple ``Pool.free_key`` gives (iteration shows it) and, for the
    heap, as three plain numbers: every strategy's key is one or two numbers, then the agent's
    configuration order (unique), then its id. Comparing numbers held by this compiled class
    costs a few instructions; comparing the tuples cost a few hundred (two rich comparisons per
    element), at every step of every push and pop.
    """

    __slots__ = ("a", "b", "order", "stamp", "agent", "key")

    def __init__(self, key: FreeKey, stamp: int, agent: Agent) -> None:
        self.key = key
        self.stamp = stamp
        self.agent = agent
        if len(key) == 3:  # (number, order, id)
            self.a = float(key[0])
            self.b = 0.0
            self.order: int = key[1]
        else:  # (number, number, order, id)
            self.a = float(key[0])
            self.b = float(key[1])
            self.order = key[2]

    def alive(self, channel: Channel) -> bool:
        agent = self.agent
        return agent.stamp == self.stamp and channel in agent.free_channels


def _before(x: FreeEntry, y: FreeEntry) -> bool:
    if x.a != y.a:
        return x.a < y.a
    if x.b != y.b:
        return x.b < y.b
    return x.order < y.order


def _sift_up(heap: list[FreeEntry], pos: int) -> None:
    """Move the entry at ``pos`` towards the root until its parent comes before it."""
    item = heap[pos]
    while pos > 0:
        parent = (pos - 1) >> 1
        up = heap[parent]
        if not _before(item, up):
            break
        heap[pos] = up
        pos = parent
    heap[pos] = item


def _sift_down(heap: list[FreeEntry], pos: int) -> None:
    """Move the entry at ``pos`` down below the children that come before it."""
    n = len(heap)
    item = heap[pos]
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and _before(heap[right], heap[child]):
            child = right
        if not _before(heap[child], item):
            break
        heap[pos] = heap[child]
        pos = child
    heap[pos] = item


class FreeIndex:
    """The free agents of one line on one channel, best first: a binary heap with lazy deletion.

    Agents leave and rejoin every line they serve at each offer and wrap-up, and an agent serves
    about a dozen lines. Leaving must cost nothing: an entry carries the agent's stamp and stays
    live while the agent keeps that stamp (``State.refresh`` moves it at every change of keys or
    room) and has room on this channel. A dead entry is dropped when it reaches the top, or when
    the heap is compacted. Joining is one push per line. Iterating gives the live keys in order.
    """

    __slots__ = ("heap", "channel", "limit")

    def __init__(self, channel: Channel) -> None:
        self.heap: list[FreeEntry] = []
        self.channel = channel
        self.limit = 64  # compact when the heap grows past this (twice the live entries, or so)

    def push(self, entry: FreeEntry) -> None:
        heap = self.heap
        heap.append(entry)
        _sift_up(heap, len(heap) - 1)
        if len(heap) > self.limit:
            channel = self.channel
            live = [e for e in heap if e.alive(channel)]
            for i in range(len(live) // 2 - 1, -1, -1):
                _sift_down(live, i)
            self.heap = live
            self.limit = 2 * len(live) + 64

    def top(self) -> FreeEntry | None:
        """The best live entry, or None: drops the dead ones above it."""
        heap = self.heap
        channel = self.channel
        while heap:
            e = heap[0]
            a = e.agent
            if a.stamp == e.stamp and channel in a.free_channels:
                return e
            last = heap.pop()
            if heap:
                heap[0] = last
                _sift_down(heap, 0)
        return None

    def _live(self) -> list[FreeKey]:
        channel = self.channel
        return [e.key for e in self.heap if e.alive(channel)]

    def __len__(self) -> int:
        return len(self._live())

    def __bool__(self) -> bool:
        return self.top() is not None

    def __iter__(self) -> Iterator[FreeKey]:
        return iter(sorted(self._live()))


@dataclass(slots=True, eq=False)
class Pool:
    key: PoolKey
    strategy: Strategy
    alternatives: list[Requirement] | None  # None: a named agent's personal line
    fixed_agent: str | None = None
    waiting: dict[Channel, Line] = field(default_factory=dict)
    # The head of each non-empty line: dispatch reads the heads of every line a freed agent
    # serves, far more often than a line changes.
    heads: dict[Channel, Contact] = field(default_factory=dict)
    free: dict[Channel, FreeIndex] = field(default_factory=dict)
    members: dict[str, Agent] = field(default_factory=dict)
    # Members logged in (available) with capacity on a channel, and that capacity: the estimate
    # reads them instead of scanning the members.
    staffed: dict[Channel, int] = field(default_factory=dict)
    slots: dict[Channel, int] = field(default_factory=dict)

    def admits(self, agent: Agent) -> bool:
        if self.fixed_agent is not None:
            return agent.id == self.fixed_agent
        assert self.alternatives is not None
        return meets_any(agent.config.skills, self.alternatives)

    def free_key(self, agent: Agent) -> FreeKey:
        s = self.strategy
        if s is Strategy.LONGEST_IDLE:
            return (agent.idle_since, agent.order, agent.id)
        if s is Strategy.ROUND_ROBIN:
            return (agent.last_offer_seq, agent.order, agent.id)
        if s is Strategy.LEAST_OCCUPIED:
            cap = 0
            for n in agent.capacity.values():
                cap += n
            load = 0
            for n in agent.load.values():
                load += n
            return (load / (cap or 1), agent.idle_since, agent.order, agent.id)
        # most skilled: highest sum of levels on the skills this pool asks for
        score = 0
        if self.alternatives:
            skills = agent.config.skills
            for skill in self.alternatives[0]:
                score += skills.get(skill, 0)
        return (-score, agent.idle_since, agent.order, agent.id)

    def waiting_count(self) -> int:
        return sum(len(w) for w in self.waiting.values())


class Timer(StrEnum):
    OFFER = "offer"
    STEP = "step"
    WRAPUP = "wrapup"
    CALLBACK = "callback"


class TimerEntry:
    """Something due at ``due``: an offer's lease, a widening step, a wrap-up's limit, a
    callback. ``n`` (the order of arming) breaks ties; ``token`` says which instance of the
    thing it was armed for (a stale entry is recognised by it and ignored)."""

    __slots__ = ("due", "n", "kind", "contact", "agent", "token")

    def __init__(
        self, due: float, n: int, kind: Timer, contact: str, agent: str, token: Any
    ) -> None:
        self.due = due
        self.n = n
        self.kind = kind
        self.contact = contact
        self.agent = agent
        self.token = token

    def __lt__(self, other: TimerEntry) -> bool:  # for heapq
        return _sooner(self, other)

    def as_tuple(self) -> tuple[float, int, Timer, str, str, Any]:
        return (self.due, self.n, self.kind, self.contact, self.agent, self.token)


def _sooner(x: TimerEntry, y: TimerEntry) -> bool:
    """Timer ``x`` comes before ``y``: by due time, then by order of arming (unique)."""
    if x.due != y.due:
        return x.due < y.due
    return x.n < y.n


class TimerQueue:
    """Everything due later, earliest first (by due time, then by order of arming).

    Offer leases and wrap-up limits are armed with a constant delay, so they arrive in due order:
    each kind goes to a FIFO, O(1) both ways. Widening steps and callbacks (and a lease armed
    after the delay was shortened) go to a heap. The earliest entry is the least of the heads;
    where it is and when it is due are kept, because every command asks whether a timer is due
    and most of the time none is: one comparison of floats answers.
    """

    __slots__ = ("heap", "offers", "wrapups", "due", "where")

    def __init__(self) -> None:
        self.heap: list[TimerEntry] = []
        self.offers: deque[TimerEntry] = deque()
        self.wrapups: deque[TimerEntry] = deque()
        self.due = math.inf  # when the earliest entry is due (infinity: none)
        self.where = -1  # where it is: 0 the heap, 1 the offers, 2 the wrap-ups, -1 nowhere

    def push(self, entry: TimerEntry) -> None:
        # Entries are armed in order (their number grows), so a FIFO stays in (due, number)
        # order as long as dues do not go backwards: comparing the dues is enough.
        due = entry.due
        kind = entry.kind
        if kind is Timer.OFFER and (not self.offers or self.offers[-1].due <= due):
            self.offers.append(entry)
            where = 1
        elif kind is Timer.WRAPUP and (not self.wrapups or self.wrapups[-1].due <= due):
            self.wrapups.append(entry)
            where = 2
        else:
            heappush(self.heap, entry)
            where = 0
        if due < self.due:  # ties keep the earlier entry first: it was armed before
            self.due = due
            self.where = where

    def _settle(self) -> None:
        """Find the earliest entry again (after a pop)."""
        where = -1
        best: TimerEntry | None = None
        if self.heap:
            where, best = 0, self.heap[0]
        if self.offers:
            head = self.offers[0]
            if best is None or _sooner(head, best):
                where, best = 1, head
        if self.wrapups:
            head = self.wrapups[0]
            if best is None or _sooner(head, best):
                where, best = 2, head
        self.where = where
        self.due = math.inf if best is None else best.due

    def first(self) -> TimerEntry | None:
        where = self.where
        if where == 0:
            return self.heap[0]
        if where == 1:
            return self.offers[0]
        return self.wrapups[0] if where == 2 else None

    def pop_due(self, now: float) -> TimerEntry | None:
        """Take the earliest entry if it is due at ``now``."""
        if now < self.due:
            return None
        where = self.where
        if where == 0:
            entry = heappop(self.heap)
        elif where == 1:
            entry = self.offers.popleft()
        else:
            entry = self.wrapups.popleft()
        self._settle()
        return entry

    def __iter__(self) -> Iterator[tuple[float, int, Timer, str, str, Any]]:
        """Every entry as (due, n, kind, contact, agent, token), in no particular order."""
        for q in (self.heap, self.offers, self.wrapups):
            for e in q:
                yield e.as_tuple()

    def __len__(self) -> int:
        return len(self.heap) + len(self.offers) + len(self.wrapups)


@dataclass(slots=True)
class Alarm:
    at: float
    kind: str
    message: str
    contacts: tuple[str, ...] = ()  # what the alarm is about, kept so a restart still shows them
    agents: tuple[str, ...] = ()


class State:
    """Everything routing needs, derived from events only."""

    def __init__(self) -> None:
        self.settings = Settings()
        self.skills: dict[str, str] = {}
        self.queues: dict[str, QueueConfig] = {}
        self.agents: dict[str, Agent] = {}
        self.contacts: dict[str, Contact] = {}  # open contacts
        self.ended: dict[str, Outcome] = {}  # closed contacts, for idempotent answers
        self.pools: dict[PoolKey, Pool] = {}
        self.queue_pools: dict[str, list[Pool]] = {}
        self.queue_live: dict[str, int] = {}  # customers holding a line, per queue (max size)
        self.aht: dict[str, float] = {}
        self.timers = TimerQueue()
        self.alarms: deque[Alarm] = deque(maxlen=100)
        self.seq = 0  # contacts arrived
        self.offer_seq = 0
        self.timer_seq = 0
        self.last_at = 0.0
        self.events_applied = 0
        # What may have created a match since routing last ran (ordered, for determinism).
        self.dirty_contacts: dict[str, None] = {}
        self.dirty_agents: dict[str, None] = {}
        self.open_callbacks: dict[tuple[str, str], str] = {}  # (queue, number) -> contact
        # The agent who just completed a contact: re-indexed by the wrap-up that follows (see
        # ``_ended``), or before the next event if that is not its wrap-up.
        self.wrapping: Agent | None = None
        # While replaying a log nothing routes, so agents are re-indexed once, at the end.
        self.replaying = False
        self.stale: dict[str, Agent] = {}
        # Agents with room whose entries are not in the free indexes yet: the engine offers them
        # work straight away when it can, and indexes the rest (``index_pending``).
        self.unindexed: dict[str, Agent] = {}
        self.holders: dict[str, dict[str, Agent]] = {}  # skill -> agents who have it
        self.last_pool: dict[str, Pool] = {}  # queue -> the pool its last contact entered
        self._handlers = {
            ev.SettingsChanged: self._settings,
            ev.SkillDefined: self._skill,
            ev.QueueConfigured: self._queue,
            ev.AgentConfigured: self._agent,
            ev.PresenceChanged: self._presence,
            ev.ContactArrived: self._arrived,
            ev.ContactRequeued: self._requeued,
            ev.OfferMade: self._offer_made,
            ev.OfferAccepted: self._offer_accepted,
            ev.OfferReleased: self._offer_released,
            ev.CallbackRequested: self._callback_requested,
            ev.CallbackDue: self._callback_due,
            ev.CallbackAttemptFailed: self._callback_failed,
            ev.ContactEnded: self._ended,
            ev.WrapupStarted: self._wrapup_started,
            ev.WrapupEnded: self._wrapup_ended,
            ev.AlarmRaised: self._alarm,
            ev.Recovered: self._recovered,
        }

    # -- entry point -------------------------------------------------------------------------

    def apply(self, event: ev.Event) -> None:
        if self.wrapping is not None and not (
            isinstance(event, WrapupStarted) and event.agent == self.wrapping.id
        ):
            agent, self.wrapping = self.wrapping, None
            self.refresh(agent)
        self._handlers[type(event)](event)  # type: ignore[operator]
        self.last_at = event.at
        self.events_applied += 1

    def flush(self) -> None:
        """Bring the free indexes up to date: end a replay (re-index the agents it touched) and
        re-index an agent whose wrap-up was expected but did not come (a log ending there)."""
        self.replaying = False
        if self.wrapping is not None:
            agent, self.wrapping = self.wrapping, None
            self.refresh(agent)
        stale, self.stale = self.stale, {}
        for agent in stale.values():
            self.refresh(agent)
        self.index_pending()

    def index_pending(self) -> None:
        """Push the entries of the agents who gained room into the free index of each line."""
        if not self.unindexed:
            return
        for agent in self.unindexed.values():
            if agent.indexed or not agent.free_channels:
                continue
            agent.indexed = True
            stamp = agent.stamp
            keys = agent.free_keys
            if keys is None:  # computed only now: most freed agents get work before this
                keys = agent.free_keys = self._free_keys(agent)
            pools = agent.pools
            channels = agent.free_channels
            entry: FreeEntry | None = None
            for i in range(len(keys)):
                pool = pools[i]
                k = keys[i]
                if entry is None or k is not entry.key:  # lines of one key share one entry
                    entry = FreeEntry(k, stamp, agent)
                for channel in channels:
                    free = pool.free.get(channel)
                    if free is not None:  # a line no contact ever entered has no index yet
                        free.push(entry)
        self.unindexed.clear()

    def _activate(self, pool: Pool, channel: Channel) -> FreeIndex:
        """Open the free index of a line at its first contact. Lines are indexed only once used:
        an agent often serves pools on channels their contacts never come on (a voice agent in
        a chat queue's pool), and every index it is in costs at each offer and wrap-up."""
        free = pool.free[channel] = FreeIndex(channel)
        for agent in pool.members.values():
            keys = agent.free_keys
            if agent.indexed and channel in agent.free_channels and keys:
                pools = agent.pools
                for i in range(len(keys)):
                    if pools[i] is pool:
                        free.push(FreeEntry(keys[i], agent.stamp, agent))
        return free

    # -- pools and indexes -------------------------------------------------------------------

    def pool_for(self, contact: Contact, to_agent: str | None = None) -> Pool:
        if to_agent is not None:
            key: PoolKey = ("@", to_agent)
            alternatives = None
            strategy = Strategy.LONGEST_IDLE
        else:
            last = self.last_pool.get(contact.queue)  # most arrivals go where the last one went
            if last is not None and last.alternatives == contact.alternatives:
                return last
            key = (contact.queue, tuple(tuple(sorted(a.items())) for a in contact.alternatives))
            alternatives = contact.alternatives
            strategy = self.queues[contact.queue].strategy
        pool = self.pools.get(key)
        if pool is None:
            pool = Pool(key, strategy, alternatives, fixed_agent=to_agent)
            self.pools[key] = pool
            if to_agent is None:
                self.queue_pools.setdefault(contact.queue, []).append(pool)
            for agent in self._candidates(pool):
                if pool.admits(agent):
                    self._join(agent, pool)
        if to_agent is None:
            self.last_pool[contact.queue] = pool
        return pool

    def _candidates(self, pool: Pool) -> Iterable[Agent]:
        """Who may belong to a new pool, in configuration order: only the holders of the rarest
        skill of each alternative can meet it (levels are at least 1), not all agents."""
        if pool.fixed_agent is not None:
            named = self.agents.get(pool.fixed_agent)
            return [named] if named is not None else []
        assert pool.alternatives is not None
        found: dict[str, Agent] = {}
        for alt in pool.alternatives:
            if not alt or min(alt.values()) < 1:
                return self.agents.values()
            rarest = min(alt, key=lambda s: len(self.holders.get(s, ())))
            found.update(self.holders.get(rarest, {}))
        return sorted(found.values(), key=lambda a: a.order)

    @staticmethod
    def _staff(config: AgentConfig, pool: Pool, sign: int) -> None:
        for channel, cap in config.capacity.items():
            if cap:
                pool.staffed[channel] = pool.staffed.get(channel, 0) + sign
                pool.slots[channel] = pool.slots.get(channel, 0) + sign * cap

    def _join(self, agent: Agent, pool: Pool, index: bool = True) -> None:
        pool.members[agent.id] = agent
        agent.pools.append(pool)
        if agent.presence is Presence.AVAILABLE:
            self._staff(agent.config, pool, 1)
        if not index:
            return
        if self.replaying:
            self.stale[agent.id] = agent
        elif agent.free_channels and agent.free_keys is not None:
            # free and keyed now: it enters the new line on those channels
            k = pool.free_key(agent)
            agent.free_keys.append(k)  # beside its pool, appended above
            if agent.indexed:
                entry = FreeEntry(k, agent.stamp, agent)
                for channel in agent.free_channels:
                    free = pool.free.get(channel)
                    if free is not None:
                        free.push(entry)
            self.dirty_agents[agent.id] = None

    @staticmethod
    def _free_keys(agent: Agent) -> list[FreeKey]:
        """The agent's key in each line it serves, in the order of ``agent.pools`` (the same
        for every channel, and for every longest-idle line: computed once)."""
        # Only the most-skilled key depends on the line; the others are the agent's own, made
        # once and shared (their lines then share one free-index entry too).
        idle: FreeKey | None = None
        rr: FreeKey | None = None
        occupied: FreeKey | None = None
        keys = []
        for pool in agent.pools:
            s = pool.strategy
            if s is Strategy.LONGEST_IDLE:
                if idle is None:
                    idle = pool.free_key(agent)
                keys.append(idle)
            elif s is Strategy.ROUND_ROBIN:
                if rr is None:
                    rr = pool.free_key(agent)
                keys.append(rr)
            elif s is Strategy.LEAST_OCCUPIED:
                if occupied is None:
                    occupied = pool.free_key(agent)
                keys.append(occupied)
            else:
                keys.append(pool.free_key(agent))
        return keys

    def refresh(self, agent: Agent) -> None:
        """Re-index an agent whose room or strategy keys may have changed.

        This runs at each offer, end and wrap-up, so it does the least it can: an agent that
        loses all room only takes a new stamp (its entries die where they are); one that keeps
        its keys and loses a channel changes nothing in the indexes; otherwise it takes a new
        stamp and waits in ``unindexed`` until the engine has offered it work or indexed it.
        """
        if self.replaying:
            self.stale[agent.id] = agent
            return
        channels = agent.room()
        old = agent.free_channels
        if not channels:
            if old:
                agent.stamp += 1
                agent.free_channels, agent.free_keys = (), []
                agent.indexed = True  # nothing to push
            return
        keys = None
        if old and agent.indexed:  # still free: its entries may stay if its keys did not move
            keys = self._free_keys(agent)
            if keys == agent.free_keys:
                if channels == old:
                    return
                if all(ch in old for ch in channels):  # room lost on a channel: entries die
                    agent.free_channels = channels
                    return
        agent.stamp += 1
        agent.free_channels, agent.free_keys = channels, keys
        agent.indexed = False
        self.unindexed[agent.id] = agent
        self.dirty_agents[agent.id] = None

    def _rebuild_membership(self, agent: Agent, old: AgentConfig) -> None:
        for pool in agent.pools:
            pool.members.pop(agent.id, None)
            if agent.presence is Presence.AVAILABLE:
                self._staff(old, pool, -1)
        agent.pools = []
        agent.stamp += 1  # every entry of it dies: it is indexed anew below
        agent.free_channels, agent.free_keys = (), []
        agent.indexed = True
        for pool in self.pools.values():
            if pool.admits(agent):
                self._join(agent, pool, index=False)
        self.refresh(agent)

    def _enqueue(self, contact: Contact, to_agent: str | None = None) -> None:
        contact.status = Status.WAITING
        pool = self.pool_for(contact, to_agent)
        contact.pool = pool
        channel = contact.route_channel
        w = pool.waiting.get(channel)
        if w is None:
            w = pool.waiting[channel] = Line()
            if channel not in pool.free:
                self._activate(pool, channel)
        w.add(contact)
        head = pool.heads.get(channel)
        if head is None or before_in_line(contact, head):
            pool.heads[channel] = contact
        if contact.route_channel is not Channel.CALLBACK:
            self.queue_live[contact.queue] = self.queue_live.get(contact.queue, 0) + 1
        self.dirty_contacts[contact.id] = None

    def _dequeue(self, contact: Contact) -> None:
        """Take a waiting contact out of its pool's line (it keeps its key to come back)."""
        if contact.status is not Status.WAITING or contact.pool is None:
            return
        pool, channel = contact.pool, contact.route_channel
        line = pool.waiting[channel]
        line.remove(contact)
        if pool.heads[channel] is contact:
            head = line.head()
            if head is not None:
                pool.heads[channel] = head
            else:
                del pool.heads[channel]
        if contact.route_channel is not Channel.CALLBACK:
            self.queue_live[contact.queue] -= 1

    def _timer(self, due: float, kind: Timer, contact: str, agent: str, token: Any) -> None:
        self.timer_seq += 1
        self.timers.push(TimerEntry(due, self.timer_seq, kind, contact, agent, token))

    def _step_timer(self, contact: Contact) -> None:
        queue = self.queues[contact.queue]
        nxt = next_step_time(queue, contact.rank_time, contact.step, contact.visited)
        if nxt is not None:
            self._timer(nxt, Timer.STEP, contact.id, "", (contact.queue, contact.step))

    def _load(self, agent: Agent, channel: Channel, delta: int) -> None:
        agent.load[channel] = agent.load.get(channel, 0) + delta

    def _settle(self, agent: Agent, at: float) -> None:
        if not agent.load_any():
            agent.idle_since = at

    # -- handlers ----------------------------------------------------------------------------

    def _settings(self, e: ev.SettingsChanged) -> None:
        self.settings = e.settings

    def _skill(self, e: ev.SkillDefined) -> None:
        self.skills[e.skill] = e.name

    def _queue(self, e: ev.QueueConfigured) -> None:
        old = self.queues.get(e.queue.id)
        self.queues[e.queue.id] = e.queue
        self.aht.setdefault(e.queue.id, e.queue.default_aht)
        self.queue_live.setdefault(e.queue.id, 0)
        if old is not None and old.strategy is not e.queue.strategy:
            for pool in self.queue_pools.get(e.queue.id, []):
                pool.strategy = e.queue.strategy
                for agent in list(pool.members.values()):
                    self.refresh(agent)
        if old is not None and old.widening != e.queue.widening:
            # contacts already in the queue follow the new widening and overflow delays
            for contact in self.contacts.values():
                if contact.queue == e.queue.id:
                    self._step_timer(contact)

    def _agent(self, e: ev.AgentConfigured) -> None:
        agent = self.agents.get(e.agent.id)
        if agent is None:
            agent = Agent(e.agent, order=len(self.agents), idle_since=e.at, presence_since=e.at)
            self.agents[e.agent.id] = agent
        old = agent.config
        agent.configure(e.agent)
        for skill in old.skills:
            self.holders.get(skill, {}).pop(agent.id, None)
        for skill in e.agent.skills:
            self.holders.setdefault(skill, {})[agent.id] = agent
        self._rebuild_membership(agent, old)

    def _presence(self, e: ev.PresenceChanged) -> None:
        agent = self.agents[e.agent]
        if e.presence is Presence.AVAILABLE:
            agent.missed = 0
            if agent.presence is not Presence.AVAILABLE and not agent.load_any():
                agent.idle_since = e.at
        if (agent.presence is Presence.AVAILABLE) is not (e.presence is Presence.AVAILABLE):
            for pool in agent.pools:
                self._staff(agent.config, pool, 1 if e.presence is Presence.AVAILABLE else -1)
        agent.presence = e.presence
        agent.reason = e.reason
        agent.presence_since = e.at
        self.refresh(agent)

    # The handlers below read each field of their event once: a field of a msgspec struct costs
    # a generic attribute lookup (~160 instructions) from this compiled code, a local almost none.

    def _arrived(self, e: ev.ContactArrived) -> None:
        self.seq += 1
        cid = e.contact
        contact = Contact(
            cid,
            e.channel,
            e.queue,
            e.customer,
            e.priority,
            e.skills,  # shared with the event, not copied: neither is ever changed in place
            e.at,
            self.seq,
            e.alternatives,
            e.data,
        )
        self.contacts[cid] = contact
        self._enqueue(contact)
        self._step_timer(contact)

    def _requeued(self, e: ev.ContactRequeued) -> None:
        contact = self.contacts[e.contact]
        if contact.status is Status.WAITING:
            self._dequeue(contact)
        elif contact.status is Status.CONNECTED and contact.agent is not None:
            agent = self.agents[contact.agent]
            ch = agent.contacts.pop(contact.id)
            self._load(agent, ch, -1)
            self._settle(agent, e.at)
            contact.agent = None
            self.refresh(agent)
        contact.queue = e.queue
        if e.queue not in contact.visited:
            contact.visited.append(e.queue)
        contact.step = e.step
        contact.alternatives = e.alternatives
        contact.history.append((e.at, e.reason, e.to_agent or e.queue))
        self._enqueue(contact, e.to_agent)
        if e.to_agent is None:
            self._step_timer(contact)

    def _offer_made(self, e: ev.OfferMade) -> None:
        cid, aid, deadline, channel = e.contact, e.agent, e.deadline, e.channel
        contact = self.contacts[cid]
        agent = self.agents[aid]
        self._dequeue(contact)
        contact.status = Status.OFFERED
        contact.agent = aid
        contact.offer_deadline = deadline
        agent.offers[cid] = channel
        self._load(agent, channel, 1)
        self.offer_seq += 1
        agent.last_offer_seq = self.offer_seq
        self.refresh(agent)
        self._timer(deadline, Timer.OFFER, cid, aid, deadline)

    def _offer_accepted(self, e: ev.OfferAccepted) -> None:
        cid, aid, at = e.contact, e.agent, e.at
        contact = self.contacts[cid]
        agent = self.agents[aid]
        contact.status = Status.CONNECTED
        contact.accepted_at = at
        agent.contacts[cid] = agent.offers.pop(cid)
        agent.missed = 0
        contact.history.append((at, "accepted", aid))

    def _offer_released(self, e: ev.OfferReleased) -> None:
        contact = self.contacts[e.contact]
        agent = self.agents[e.agent]
        ch = agent.offers.pop(e.contact)
        self._load(agent, ch, -1)
        if e.reason in ("rejected", "timeout"):
            agent.missed += 1
        self._settle(agent, e.at)
        contact.agent = None
        contact.history.append((e.at, "offer_" + e.reason, e.agent))
        # A missed transfer to a named agent falls back to the queue, keeping its place.
        self._enqueue(contact)
        self.refresh(agent)

    def _callback_requested(self, e: ev.CallbackRequested) -> None:
        contact = self.contacts[e.contact]
        self._dequeue(contact)
        contact.callback_number = e.number
        contact.route_channel = Channel.CALLBACK
        contact.callback_key = (contact.queue, e.number)
        self.open_callbacks[contact.callback_key] = contact.id
        contact.history.append((e.at, "callback_requested", e.number))
        if e.due is None:
            fixed = contact.pool.fixed_agent if contact.pool else None
            if fixed is not None and not self.agents[fixed].capacity.get(Channel.CALLBACK):
                fixed = None  # the named agent makes no callbacks: the queue does, at its place
            self._enqueue(contact, fixed)
        else:
            contact.status = Status.SCHEDULED
            contact.callback_due = e.due
            self._timer(e.due, Timer.CALLBACK, contact.id, "", e.due)

    def _callback_due(self, e: ev.CallbackDue) -> None:
        contact = self.contacts[e.contact]
        contact.rank_time = contact.callback_due or e.at
        contact.callback_due = None
        self._enqueue(contact)
        self._step_timer(contact)

    def _callback_failed(self, e: ev.CallbackAttemptFailed) -> None:
        contact = self.contacts[e.contact]
        agent = self.agents[e.agent]
        ch = agent.contacts.pop(e.contact)
        self._load(agent, ch, -1)
        self._settle(agent, e.at)
        self.refresh(agent)
        contact.agent = None
        contact.attempts = e.attempt
        contact.history.append((e.at, "callback_attempt_failed", str(e.attempt)))
        contact.status = Status.SCHEDULED
        if e.retry_at is not None:
            contact.callback_due = e.retry_at
            self._timer(e.retry_at, Timer.CALLBACK, contact.id, "", e.retry_at)

    def _ended(self, e: ev.ContactEnded) -> None:
        cid, outcome = e.contact, e.outcome
        contact = self.contacts.pop(cid)
        self._dequeue(contact)
        self.dirty_contacts.pop(contact.id, None)
        if contact.callback_key is not None:
            self.open_callbacks.pop(contact.callback_key, None)
        if contact.agent is not None:
            agent = self.agents[contact.agent]
            ch = agent.contacts.pop(contact.id, None) or agent.offers.pop(contact.id, None)
            if ch is not None:
                self._load(agent, ch, -1)
                self._settle(agent, e.at)
                if e.agent == agent.id and outcome in _COMPLETED:
                    # Engine.complete: its wrap-up starts in the next event. Re-indexing the
                    # agent as free now (every line it serves) would be undone at once.
                    self.wrapping = agent
                else:
                    self.refresh(agent)
        contact.status = Status.ENDED
        self.ended[cid] = outcome

    def _wrapup_started(self, e: ev.WrapupStarted) -> None:
        self.wrapping = None  # re-indexed below
        cid, aid, deadline, channel = e.contact, e.agent, e.deadline, e.channel
        agent = self.agents[aid]
        agent.wrapups[cid] = Wrapup(channel, deadline, e.queue, e.accepted_at)
        self._load(agent, channel, 1)
        self.refresh(agent)
        self._timer(deadline, Timer.WRAPUP, cid, aid, deadline)

    def _wrapup_ended(self, e: ev.WrapupEnded) -> None:
        at = e.at
        agent = self.agents[e.agent]
        w = agent.wrapups.pop(e.contact)
        self._load(agent, w.channel, -1)
        self._settle(agent, at)
        a = self.settings.aht_smoothing
        self.aht[w.queue] = (1 - a) * self.aht[w.queue] + a * max(0.0, at - w.accepted_at)
        self.refresh(agent)

    def _alarm(self, e: ev.AlarmRaised) -> None:
        self.alarms.append(Alarm(e.at, e.kind, e.message, tuple(e.contacts), tuple(e.agents)))

    def _recovered(self, e: ev.Recovered) -> None:
        pass

    # -- views -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A canonical picture of the state, to compare a live state with a replayed one."""
        self.flush()
        return {
            "contacts": {
                c.id: (
                    c.status.value,
                    c.queue,
                    c.step,
                    c.route_channel.value,
                    c.agent,
                    c.key,
                    c.pool.key if c.pool else None,
                    c.callback_due,
                    c.attempts,
                )
                for c in self.contacts.values()
            },
            "ended": dict(self.ended),
            "agents": {
                a.id: (
                    a.presence.value,
                    a.idle_since,
                    sorted((k.value, v) for k, v in a.load.items() if v),
                    sorted(a.offers),
                    sorted(a.contacts),
                    sorted((k, w.deadline) for k, w in a.wrapups.items()),
                    a.missed,
                )
                for a in self.agents.values()
            },
            "pools": {
                repr(p.key): (
                    {ch.value: list(w) for ch, w in p.waiting.items() if w},
                    {ch.value: [k[-1] for k in f] for ch, f in p.free.items() if f},
                    sorted(p.members),
                )
                for p in self.pools.values()
            },
            "aht": dict(self.aht),
            "seq": self.seq,
        }
