"""A center under load, for the crash test: killed with SIGKILL at random moments by the parent.

It prints ``ack <contact>`` only after the contact's arrival is durable (that is what a customer
would have been told), so the parent can check that every acknowledged contact survived.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading

from joignable.center import Center
from joignable.core.errors import DomainError
from joignable.core.model import AgentConfig, Channel, QueueConfig
from joignable.core.state import Status
from joignable.ledger.store import SQLiteStore


def main(db: str, seed: int) -> None:
    rng = random.Random(seed)
    center = Center(SQLiteStore(db))
    if not center.engine.state.queues:
        center.run("define_skill", "billing")
        center.run("define_skill", "tech")
        center.run("configure_queue", QueueConfig(id="billing", requirements={"billing": 2}))
        center.run("configure_queue", QueueConfig(id="tech", requirements={"tech": 2}))
        for i in range(12):
            skills = {"billing": rng.randint(1, 9), "tech": rng.randint(1, 9)}
            cap = {Channel.VOICE: 1, Channel.CHAT: 3, Channel.CALLBACK: 1}
            center.run("configure_agent", AgentConfig(id=f"a{i}", skills=skills, capacity=cap))
    for aid in center.engine.state.agents:
        center.run("set_presence", aid, "available")
    print("ready", flush=True)
    out = threading.Lock()

    def work(worker: int) -> None:
        r = random.Random(seed * 100 + worker)
        while True:
            # a race between workers (the contact moved on) is refused and changes nothing
            with contextlib.suppress(DomainError):
                step(center, r, out)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def step(center: Center, r: random.Random, out: threading.Lock) -> None:
    x = r.random()
    st = center.engine.state
    if x < 0.35:
        res = center.run("arrive", r.choice(["billing", "tech"]), r.choice(["voice", "chat"]))
        with out:
            print("ack", res.contact, flush=True)
    elif x < 0.75:
        with center.lock:
            offered = [(c.agent, c.id) for c in st.contacts.values() if c.status is Status.OFFERED]
        if offered:
            agent, cid = r.choice(offered)
            center.run("accept" if r.random() < 0.9 else "reject", agent, cid)
    elif x < 0.95:
        with center.lock:
            live = [(c.agent, c.id) for c in st.contacts.values() if c.status is Status.CONNECTED]
        if live:
            agent, cid = r.choice(live)
            center.run("complete", agent, cid)
            center.run("end_wrapup", agent, cid, "solved")
    else:
        with center.lock:
            waiting = [c.id for c in st.contacts.values() if c.status is Status.WAITING]
        if waiting:
            center.run("abandon", r.choice(waiting))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
