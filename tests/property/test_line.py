"""The waiting line (``core.state.Line``) behaves as a sorted list of unique keys."""

from __future__ import annotations

import bisect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.core.state import Line

# (-priority, time, seq, id): the shape of a real key; seq makes each one unique
keys = st.tuples(st.integers(-3, 0), st.floats(0, 100, allow_nan=False), st.integers(0, 10**6))
ops = st.lists(st.tuples(st.booleans(), keys, st.integers(0, 10**6)), max_size=400)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_line_is_a_sorted_list(steps: list[tuple[bool, tuple[int, float, int], int]]) -> None:
    line, model = Line(load=4), []  # small blocks: a few hundred keys split and empty many
    for add, (p, t, n), pick in steps:
        if add or not model:
            key = (p, t, n, f"c{n}")
            if key in model:
                continue
            line.add(key)
            bisect.insort(model, key)
        else:
            key = model.pop(pick % len(model))
            place = line.index(key)
            assert place == bisect.bisect_left(model, key)
            line.remove(key)
        assert list(line) == model
        assert len(line) == len(model) and bool(line) is bool(model)
        assert line.head() == (model[0] if model else None)
        assert line.maxes == [b[-1] for b in line.blocks] and all(line.blocks)


def test_removing_a_missing_key_says_so() -> None:
    line = Line()
    line.add((0, 1.0, 1, "a"))
    with pytest.raises(ValueError, match="not in the line"):
        line.remove((0, 1.0, 2, "b"))
    with pytest.raises(ValueError):
        line.index((0, 0.5, 0, "z"))
    assert list(line) == [(0, 1.0, 1, "a")]
