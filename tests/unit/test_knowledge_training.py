"""Training mode: practice against a scripted customer, quizzes from flows, results and levels."""

from __future__ import annotations

import pytest

from joignable.knowledge.demo import demo_base
from joignable.knowledge.handover import packet
from joignable.knowledge.runner import RunError, Runner
from joignable.knowledge.training import (
    Gradebook,
    Line,
    Practice,
    Result,
    Scenario,
    quiz,
    quiz_score,
)

BASE = demo_base()
BLINKING = Scenario(
    "fr-no-internet",
    {
        "ask_light": Line("ben ça clignote orange et blanc", "blinking"),
        "reboot": Line("non toujours rien", False),
    },
    expected_end="human",
)


def test_right_readings_reach_the_expected_end() -> None:
    p = Practice(Runner(BASE), BLINKING)
    q, says = p.prompt()
    assert q.id == "ask_light" and "clignote" in says
    assert p.pick("blinking")
    assert p.pick(False)
    assert p.done and p.score() == 1.0


def test_a_wrong_reading_goes_down_the_wrong_path() -> None:
    p = Practice(Runner(BASE), BLINKING)
    assert not p.pick("white")  # misread: the run goes on with the agent's pick
    with pytest.raises(RunError) as e:
        p.prompt()  # the scenario never expected the Ethernet question
    assert e.value.code == "no-line"
    assert p.score() == 0.0


def test_half_right_but_wrong_end_is_capped() -> None:
    script = Scenario("fr-no-internet", {**BLINKING.lines}, expected_end="fixed")
    p = Practice(Runner(BASE), script)
    p.pick("blinking")
    p.pick(False)
    assert p.done and p.score() == 0.5


def test_quiz_items_from_a_flow() -> None:
    flow = BASE.flows["fr-no-internet"]
    items = quiz(BASE, flow, seed=1)
    assert len(items) == 4 + 2 + 2  # one per choice
    for item in items:
        assert len(item.options) == 4 and len(set(item.options)) == 4
    red = next(i for i in items if '"Rouge"' in i.prompt)
    assert red.options[red.answer] == "escalate: Voyant rouge sur la box"
    assert quiz_score(items, [i.answer for i in items]) == 1.0
    assert quiz_score(items, [(i.answer + 1) % 4 for i in items]) == 0.0
    assert quiz(BASE, flow, seed=1) == items  # reproducible


def test_a_level_is_suggested_from_recent_results() -> None:
    book = Gradebook()
    for t, score in enumerate([0.2, 0.9, 0.95, 0.85, 0.9]):
        book.add(Result("ann", "internet", "quiz", "fr-no-internet", score, float(t)))
    assert book.suggested_level("ann", "internet", last=5) == 1  # mean 0.76
    assert book.suggested_level("ann", "internet", last=4) == 3  # the early miss forgotten
    assert book.suggested_level("ann", "billing") is None
    assert book.suggested_level("bob", "internet") is None


def test_hand_over_carries_every_answer_as_the_customer_saw_it() -> None:
    r = Runner(BASE)
    s = r.answer(r.answer(r.start("fr-no-internet"), "blinking"), False)
    p = packet(r, s, queue="selfcare")
    assert (p.flow, p.queue, p.skill, p.stopped_at, p.ended) == (
        "fr-no-internet",
        "tech",
        "internet",
        "human",
        True,
    )
    assert [(a.question, a.answer) for a in p.answered] == [
        ("De quelle couleur est le voyant de la box ?", "Clignotant"),
        ("Redémarrez la box (débranchez 30 secondes). Internet est-il revenu ?", "Non"),
    ]
    mid = packet(r, r.start("fr-high-bill"), queue="billing", skill="billing")
    assert (mid.queue, mid.skill, mid.ended, mid.answered) == ("billing", "billing", False, ())
    assert mid.stopped_at == "ask_contract"
