"""The flow runner: branching, typed inputs, logic, sub-flows, known facts, going back, ends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.knowledge.model import (
    Base,
    Choice,
    Flow,
    Handover,
    Node,
    Outcome,
    Question,
)
from joignable.knowledge.runner import RunError, Runner, coerce
from joignable.knowledge.schema import build, load, reachable
from tests.unit.test_knowledge_fixtures import VALID


@pytest.fixture(scope="module")
def runner() -> Runner:
    base, problems = load(VALID)
    assert base is not None, problems
    return Runner(base)


def test_sub_flow_asks_first_then_returns(runner: Runner) -> None:
    s = runner.start("card-blocked")
    assert (s.flow, s.node) == ("identify", "ask_id")
    s = runner.answer(s, "42")
    assert (s.flow, s.node) == ("card-blocked", "ask_card")
    assert s.facts["customer_id"] == 42


def test_known_fact_is_not_asked_again(runner: Runner) -> None:
    s = runner.start("card-blocked", {"customer_id": 7, "card": "visa"})
    assert s.node == "ask_amount"
    assert [(p.node, p.asked) for p in s.path][:3] == [
        ("who", False),
        ("ask_id", False),
        ("ok", False),
    ]


def test_logic_rules_in_order_then_default(runner: Runner) -> None:
    start = runner.start("card-blocked", {"customer_id": 1})
    visa = runner.answer(start, "visa")
    big = runner.answer(visa, "1500")
    assert big.ended and isinstance(runner.end(big), Handover)
    small = runner.answer(visa, 20)
    end = runner.end(small)
    assert isinstance(end, Outcome) and end.article == "unblock-card"
    premium = runner.start("card-blocked", {"customer_id": 1, "segment": "premium"})
    end = runner.end(runner.answer(runner.answer(premium, "Visa"), "20,5"))
    assert isinstance(end, Outcome) and end.article == "new-card"


def test_path_records_answers_and_automatic_steps(runner: Runner) -> None:
    s = runner.start("card-blocked")
    for a in ("12", "mastercard", "80"):
        s = runner.answer(s, a)
    assert s.ended
    asked = [(p.node, p.answer) for p in s.path if p.asked]
    assert asked == [("ask_id", 12), ("ask_card", "mastercard"), ("ask_amount", 80.0)]
    assert [p.node for p in s.path][-2:] == ["route", "unblock"]
    assert s.answers() == {"ask_id": 12, "ask_card": "mastercard", "ask_amount": 80.0}


def test_choice_leading_straight_to_a_human(runner: Runner) -> None:
    s = runner.answer(runner.start("card-blocked", {"customer_id": 3}), "Je ne sais pas")
    end = runner.end(s)
    assert isinstance(end, Handover) and end.queue == "cards"


def test_back_forgets_the_answer(runner: Runner) -> None:
    s0 = runner.start("card-blocked", {"customer_id": 3})
    s1 = runner.answer(s0, "visa")
    back = runner.back(s1)
    assert back == s0 and "card" not in back.facts
    with pytest.raises(RunError) as e:
        runner.back(s0)
    assert e.value.code == "at-start"


def test_bad_answers_are_refused_with_a_code(runner: Runner) -> None:
    s = runner.start("card-blocked", {"customer_id": 3})
    for bad in ("amex", 3, None):
        with pytest.raises(RunError) as e:
            runner.answer(s, bad)
        assert e.value.code == "bad-answer"
    s = runner.answer(s, "visa")
    with pytest.raises(RunError):
        runner.answer(s, "beaucoup")
    ended = runner.answer(s, "5")
    with pytest.raises(RunError) as e:
        runner.answer(ended, "5")
    assert e.value.code == "ended"
    with pytest.raises(RunError) as e:
        runner.start("nope")
    assert e.value.code == "unknown-flow"


def test_typed_inputs() -> None:
    assert coerce("integer", "12") == 12
    assert coerce("number", "3,5") == 3.5
    assert coerce("boolean", "Oui") is True and coerce("boolean", "no") is False
    assert coerce("date", "2026-11-23") == "2026-11-23"
    assert coerce("text", "  box rouge ") == "box rouge"
    for kind, bad in [
        ("integer", "1.5"),
        ("integer", True),
        ("number", "nan"),
        ("date", "23/11"),
        ("text", " "),
    ]:
        with pytest.raises(RunError):
            coerce(kind, bad)


def test_known_fact_in_a_loop_is_asked_rather_than_spinning() -> None:
    base, problems = load(
        """
flows:
  - id: retry
    title: Réessayer
    lang: fr
    start: again
    nodes:
      again:
        type: question
        text: Ça marche ?
        fact: works
        choices:
          - {label: non, value: false, next: again}
          - {label: oui, value: true, next: done}
      done: {type: outcome, result: resolved}
"""
    )
    assert base is not None, problems
    r = Runner(base)
    s = r.start("retry", {"works": False})
    assert not s.ended and s.node == "again"


# Random flows: questions with two choices pointing anywhere, plus outcomes.
@st.composite
def flows(draw: st.DrawFn) -> Base:
    n_q = draw(st.integers(1, 6))
    n_o = draw(st.integers(1, 3))
    ids = [f"q{i}" for i in range(n_q)] + [f"o{i}" for i in range(n_o)]
    nodes: dict[str, Node] = {}
    for i in range(n_q):
        targets = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3))
        nodes[f"q{i}"] = Question(
            f"q{i}",
            "?",
            f"f{i}",
            tuple(Choice(str(j), j, t) for j, t in enumerate(targets)),
        )
    for i in range(n_o):
        nodes[f"o{i}"] = Outcome(f"o{i}", "resolved")
    return Base({}, {"f": Flow("f", "f", "fr", "q0", nodes)})


def as_data(base: Base) -> dict[str, object]:
    f = base.flows["f"]
    nodes: dict[str, object] = {}
    # Only the reachable part: what is left to the validator to refuse is a lack of exit.
    for nid in sorted(reachable(f, f.start)):
        n = f.nodes[nid]
        if isinstance(n, Question):
            nodes[nid] = {
                "type": "question",
                "text": "?",
                "fact": n.fact,
                "choices": [
                    {"label": c.label, "value": c.value, "next": c.next} for c in n.choices
                ],
            }
        else:
            nodes[nid] = {"type": "outcome", "result": "resolved"}
    return {"flows": [{"id": "f", "title": "f", "lang": "fr", "start": "q0", "nodes": nodes}]}


VALID_SEEN: list[int] = []


def distances(f: Flow) -> dict[str, int]:
    """Fewest answers from each node to an end, computed apart from the validator: a node
    absent from the result has no way out."""
    dist = {nid: 0 for nid, n in f.nodes.items() if not isinstance(n, Question)}
    changed = True
    while changed:
        changed = False
        for nid, n in f.nodes.items():
            if isinstance(n, Question):
                known = [dist[c.next] + 1 for c in n.choices if c.next in dist]
                if known and dist.get(nid, 1 << 30) > min(known):
                    dist[nid] = min(known)
                    changed = True
    return dist


@settings(max_examples=120, deadline=None)
@given(flows(), st.data())
def test_a_validated_flow_ends_from_every_state_reached(base: Base, data: st.DataObject) -> None:
    valid, problems = build(as_data(base))
    if valid is None:
        assert {p.code for p in problems} == {"no-exit"}
        return
    VALID_SEEN.append(1)
    r = Runner(valid)
    f = valid.flows["f"]
    dist = distances(f)
    s = r.start("f")
    for _ in range(data.draw(st.integers(0, 20))):  # wander with random answers...
        if s.ended:
            break
        q = r.node(s)
        assert isinstance(q, Question)
        s = r.answer(s, data.draw(st.sampled_from([c.value for c in q.choices])))
    for _ in range(len(f.nodes)):  # ...an end is still within reach: take the nearest choices
        if s.ended:
            break
        q = r.node(s)
        assert isinstance(q, Question)
        assert q.id in dist, f"validated flow with no way out of {q.id}"
        s = r.answer(s, min(q.choices, key=lambda c: dist.get(c.next, 1 << 30)).value)
    assert s.ended and isinstance(r.end(s), Outcome)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_back_then_the_same_answer_returns_the_same_state(data: st.DataObject) -> None:
    base, _ = load(VALID)
    assert base is not None
    r = Runner(base)
    s = r.start("card-blocked", data.draw(st.sampled_from([{}, {"segment": "premium"}])))
    answers = {"ask_id": st.integers(0, 10**6).map(str), "ask_amount": st.integers(0, 5000)}
    while not s.ended:
        q = r.node(s)
        assert isinstance(q, Question)
        if q.choices:
            a: object = data.draw(st.sampled_from([c.value for c in q.choices]))
        else:
            a = data.draw(answers[q.id])
        after = r.answer(s, a)
        assert r.back(after) == s
        assert r.answer(r.back(after), a) == after
        s = after
    assert r.end(s) is not None


def test_the_random_flows_were_often_valid() -> None:
    # Guards the property above against testing nothing (runs after it, same module).
    assert len(VALID_SEEN) >= 20
