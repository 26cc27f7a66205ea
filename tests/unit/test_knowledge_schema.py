"""Import of articles and flows: a valid file loads; every problem is named with its place."""

from __future__ import annotations

import json

import yaml

from joignable.knowledge.model import Call, Handover, Logic, Outcome, Question
from joignable.knowledge.schema import Problem, build, load
from tests.unit.test_knowledge_fixtures import VALID


def problems_of(data: object) -> set[tuple[str, str]]:
    base, problems = build(data)
    assert base is None
    return {(p.path, p.code) for p in problems}


def mutated(change: str) -> dict:  # type: ignore[type-arg]
    """The valid fixture with one edit applied by ``exec`` on its parsed form ``d``."""
    d = yaml.safe_load(VALID)
    exec(change, {"d": d})
    return d  # type: ignore[no-any-return]


def test_valid_file_loads_every_node_kind() -> None:
    base, problems = load(VALID)
    assert problems == []
    assert base is not None
    assert set(base.articles) == {"unblock-card", "new-card"}
    nodes = base.flows["card-blocked"].nodes
    assert isinstance(nodes["who"], Call) and nodes["who"].flow == "identify"
    assert isinstance(nodes["ask_card"], Question) and len(nodes["ask_card"].choices) == 3
    assert isinstance(nodes["route"], Logic) and nodes["route"].rules[1].when[1].value == "premium"
    assert isinstance(nodes["unblock"], Outcome) and nodes["unblock"].article == "unblock-card"
    assert isinstance(nodes["human"], Handover) and nodes["human"].skill == "cards"
    assert base.articles["unblock-card"].steps[0] == "Vérifier l'identité"


def test_json_is_accepted_too() -> None:
    base, problems = load(json.dumps(yaml.safe_load(VALID)), fmt="json")
    assert problems == [] and base is not None and "identify" in base.flows


def test_dangling_choice_is_named_with_its_place() -> None:
    d = mutated("d['flows'][1]['nodes']['ask_card']['choices'][1]['next'] = 'nowhere'")
    base, problems = build(d)
    assert base is None
    assert problems == [
        Problem(
            "flows[1].nodes.ask_card.choices[1]",
            "dangling",
            "choice 'Mastercard' leads to unknown node 'nowhere'",
        )
    ]


def test_unknown_article() -> None:
    d = mutated("d['flows'][1]['nodes']['unblock']['article'] = 'gone'")
    assert problems_of(d) == {("flows[1].nodes.unblock.article", "unknown-article")}


def test_unreachable_node() -> None:
    d = mutated("d['flows'][1]['nodes']['orphan'] = {'type': 'outcome', 'result': 'resolved'}")
    assert problems_of(d) == {("flows[1].nodes.orphan", "unreachable")}


def test_cycle_without_exit() -> None:
    d = mutated(
        "d['flows'][1]['nodes']['ask_card']['choices'][2]['next'] = 'loop'\n"
        "d['flows'][1]['nodes']['loop'] = {'type': 'question', 'text': '?', 'fact': 'x',"
        " 'choices': [{'label': 'encore', 'value': 1, 'next': 'loop'}]}"
    )
    assert problems_of(d) == {("flows[1].nodes.loop", "no-exit")}


def test_loop_of_logic_nodes_is_refused_even_with_an_exit() -> None:
    d = mutated(
        "d['flows'][1]['nodes']['route']['default'] = 'again'\n"
        "d['flows'][1]['nodes']['again'] = {'type': 'logic', 'rules': [{'when':"
        " [{'fact': 'card', 'op': 'eq', 'value': 'visa'}], 'next': 'unblock'}],"
        " 'default': 'route'}"
    )
    assert problems_of(d) == {
        ("flows[1].nodes.route", "logic-loop"),
        ("flows[1].nodes.again", "logic-loop"),
    }


def test_flow_calling_itself() -> None:
    d = mutated("d['flows'][0]['nodes']['ok'] = {'type': 'call', 'flow': 'card-blocked'}")
    assert ("flows[0].nodes.ok.flow", "call-cycle") in problems_of(d)


def test_every_problem_is_reported_at_once() -> None:
    d = mutated(
        "d['articles'][0]['lang'] = 'de'\n"
        "del d['articles'][1]['title']\n"
        "d['flows'][1]['nodes']['route']['rules'][0]['next'] = 'x'\n"
        "d['flows'][1]['nodes']['ask_amount']['input'] = 'colour'\n"
        "d['flows'][1]['nodes']['human']['type'] = 'fax'\n"
        "d['flows'].append(dict(d['flows'][0]))"
    )
    found = problems_of(d)
    assert {
        ("articles[0].lang", "bad-value"),
        ("articles[1].title", "missing"),
        ("flows[1].nodes.route.rules[0].next", "dangling"),
        ("flows[1].nodes.ask_amount.input", "bad-value"),
        ("flows[1].nodes.human.type", "bad-value"),
        ("flows[2].id", "duplicate-id"),
    } <= found


def test_wrong_types_are_problems_not_tracebacks() -> None:
    for bad in (None, [], "text", 3, {"articles": "x"}, {"flows": [1]}, {"flows": [{"nodes": 1}]}):
        base, problems = build(bad)
        assert base is None and problems
        assert all(isinstance(p, Problem) and p.code for p in problems)


def test_question_needs_choices_or_input_but_not_both() -> None:
    d = mutated("d['flows'][1]['nodes']['ask_card']['input'] = 'text'")
    assert ("flows[1].nodes.ask_card", "bad-value") in problems_of(d)
    d = mutated("del d['flows'][1]['nodes']['ask_card']['choices']")
    assert ("flows[1].nodes.ask_card", "missing") in problems_of(d)


def test_two_choices_with_the_same_value() -> None:
    # YAML reads an unquoted off/no as false: a classic way to get two equal values.
    d = mutated("d['flows'][1]['nodes']['ask_card']['choices'][2]['value'] = 'visa'")
    assert problems_of(d) == {("flows[1].nodes.ask_card.choices[2].value", "duplicate-value")}


def test_syntax_error_names_the_line() -> None:
    base, problems = load("articles:\n  - id: a\n    title: [unclosed\n")
    assert base is None
    assert len(problems) == 1 and problems[0].code == "syntax"
    assert problems[0].path.startswith("line ")
    base, problems = load("{", fmt="json")
    assert problems[0].path == "line 1" and problems[0].code == "syntax"


def test_problem_reads_well() -> None:
    p = Problem("flows[0].start", "dangling", "'start' is unknown node 'x'")
    assert str(p) == "flows[0].start: 'start' is unknown node 'x' [dangling]"
