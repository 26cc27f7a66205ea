"""The waiting line (``core.state.Line``) behaves as a sorted list of unique keys."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.core.kinds import Channel
from joignable.core.state import Contact, Line


def contact(priority: int, time: float, n: int) -> Contact:
    return Contact(f"c{n}", Channel.VOICE, "q", "", priority, {}, time, n, [], {})


# (priority, arrival time, arrival number): the number makes each contact unique
keys = st.tuples(st.integers(0, 3), st.floats(0, 100, allow_nan=False), st.integers(0, 10**6))
ops = st.lists(st.tuples(st.booleans(), keys, st.integers(0, 10**6)), max_size=400)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_line_is_a_sorted_list(steps: list[tuple[bool, tuple[int, float, int], int]]) -> None:
    line, model = Line(load=4), []  # small blocks: a few hundred contacts split and empty many
    made: dict[int, Contact] = {}
    for add, (p, t, n), pick in steps:
        if add or not model:
            if n in made:
                continue
            c = made[n] = contact(p, t, n)
            line.add(c)
            bisect.insort(model, c.key)
        else:
            key = model.pop(pick % len(model))
            c = made[key[2]]
            assert line.index(c) == bisect.bisect_left(model, key)
            line.remove(c)
        assert list(line) == model  # in the order of Contact.key
        assert [x.key for x in line.contacts()] == model
        assert len(line) == len(model) and bool(line) is bool(model)
        head = line.head()
        assert (head.key if head is not None else None) == (model[0] if model else None)
        assert line.maxes == [b[-1] for b in line.blocks] and all(line.blocks)


def test_removing_a_missing_contact_says_so() -> None:
    line = Line()
    a, b = contact(0, 1.0, 1), contact(0, 1.0, 2)
    line.add(a)
    with pytest.raises(ValueError, match="not in the line"):
        line.remove(b)
    with pytest.raises(ValueError):
        line.index(contact(0, 0.5, 0))
    assert line.contacts() == [a]
