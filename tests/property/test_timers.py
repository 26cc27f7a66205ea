"""The timer queue (``core.state.TimerQueue``) gives back every entry once, in due order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.core.state import Timer, TimerEntry, TimerQueue

kinds = st.sampled_from(list(Timer))
# (push?, delay, kind, time step): offers and wrap-ups mostly come with a constant delay (their
# FIFOs), the rest go to the heap; time moves forward between steps
steps = st.lists(
    st.tuples(
        st.booleans(), st.sampled_from([0.0, 5.0, 30.0, 30.0, 120.0]), kinds, st.floats(0, 40)
    ),
    max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_timers_come_out_in_due_order(script: list[tuple[bool, float, Timer, float]]) -> None:
    q, pending, now, n = TimerQueue(), [], 0.0, 0
    for push, delay, kind, dt in script:
        if push:
            n += 1
            entry = (now + delay, n, kind, f"c{n}", "", None)
            q.push(TimerEntry(*entry))
            pending.append(entry)
        else:
            now += dt
            due = sorted(e for e in pending if e[0] <= now)
            got = []
            while (e := q.pop_due(now)) is not None:
                got.append(e.as_tuple())
            assert got == due  # all that is due, earliest first, nothing early
            pending = [e for e in pending if e[0] > now]
        assert len(q) == len(pending)
        first = q.first()
        assert (first.as_tuple() if first is not None else None) == (
            min(pending) if pending else None
        )
        assert q.due == (first.due if first is not None else float("inf"))
