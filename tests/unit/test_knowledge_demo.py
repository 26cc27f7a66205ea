"""The demo base validates, every flow reaches an end, and noisy requests find the right item."""

from __future__ import annotations

import pytest

from joignable.knowledge.demo import demo_base
from joignable.knowledge.model import Base, Question
from joignable.knowledge.runner import Runner
from joignable.knowledge.suggest import BaseSearch
from joignable.knowledge.thesaurus import default_thesaurus

SAMPLE_INPUT = {"integer": "12345678", "number": "80"}


@pytest.fixture(scope="module")
def base() -> Base:
    return demo_base()


@pytest.fixture(scope="module")
def search(base: Base) -> BaseSearch:
    return BaseSearch(base, thesaurus=default_thesaurus())


def test_demo_is_large_enough_and_bilingual(base: Base) -> None:
    assert len(base.articles) >= 24 and len(base.flows) >= 5
    assert {a.lang for a in base.articles.values()} == {"fr", "en"}
    assert {f.lang for f in base.flows.values()} == {"fr", "en"}
    assert {a.audience for a in base.articles.values()} == {"agent", "customer"}


@pytest.mark.parametrize("pick", [0, -1])
def test_every_flow_reaches_an_end(base: Base, pick: int) -> None:
    r = Runner(base)
    for fid in base.flows:
        s = r.start(fid)
        for _ in range(20):
            if s.ended:
                break
            q = r.node(s)
            assert isinstance(q, Question)
            s = r.answer(s, q.choices[pick].value if q.choices else SAMPLE_INPUT[str(q.input)])
        assert r.end(s) is not None, fid


@pytest.mark.parametrize(
    ("query", "lang", "expected"),
    [
        ("ma box clignote plus d'internet", "fr", {"flow:fr-no-internet", "article:fr-reboot-box"}),
        ("voyant rouge sur la box", "fr", {"article:fr-led-red"}),
        ("facture tro elevee", "fr", {"flow:fr-high-bill", "article:fr-bill-explained"}),
        ("ma sim est bloquee il demande le puk", "fr", {"article:fr-sim-blocked"}),
        ("je demenage le mois prochain", "fr", {"article:fr-move"}),
        ("forgot my wifi pasword", "en", {"article:en-wifi-password"}),
        ("my router has a red light", "en", {"article:en-led-red"}),
        ("I want to cancel my contract", "en", {"article:en-cancel"}),
    ],
)
def test_noisy_requests_find_the_right_item(
    search: BaseSearch, query: str, lang: str, expected: set[str]
) -> None:
    hits = search.suggest(query, lang=lang, k=1, mode="lexical")  # type: ignore[arg-type]
    assert hits and hits[0].id in expected, [(h.id, h.score) for h in hits]
