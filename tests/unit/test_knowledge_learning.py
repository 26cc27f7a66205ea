"""The base learns: gaps become drafts, linked queries improve ranking, synonyms are proposed;
suggestions respect the audience; a publish that makes things worse is blocked."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from joignable.knowledge.gate import (
    RecordedPath,
    Reference,
    path_regressions,
    publish_blockers,
)
from joignable.knowledge.learning import GAP_WORDINGS, GapLog, Links, is_gap
from joignable.knowledge.model import Article, Base, Choice, Question
from joignable.knowledge.review import Actor, Catalog
from joignable.knowledge.runner import Runner
from joignable.knowledge.schema import load
from joignable.knowledge.suggest import BaseSearch, docs_of
from tests.unit.test_knowledge_fixtures import VALID

EVE = Actor("eve", "expert")
ARTICLES = {
    "pin": Article("pin", "Changer le code secret", "fr", phrasings=("modifier mon code",)),
    "app": Article(
        "app", "L'application mobile", "fr", audience="customer", body="Installer l'application."
    ),
    "limits": Article("limits", "Plafonds de paiement", "fr", phrasings=("augmenter mon plafond",)),
}


def fixture_base() -> Base:
    base, _ = load(VALID)
    assert base is not None
    return Base({**base.articles, **ARTICLES}, base.flows)


def test_a_search_without_good_answer_is_a_gap_and_becomes_a_draft() -> None:
    search = BaseSearch(fixture_base())
    log = GapLog()
    queries = [
        "remboursement d'un achat annulé",
        "remboursement achat annulé svp",
        "achat annulé remboursement",
    ]
    for t, q in enumerate(queries):
        hits = search.suggest(q, lang="fr")
        assert is_gap(hits)
        assert log.record(q, "fr", hits, float(t)) is not None
    assert log.record("modifier mon code", "fr", search.suggest("modifier mon code"), 9.0) is None
    [gap] = log.gaps()
    assert gap.count == 3 and gap.first_at == 0.0 and gap.last_at == 2.0
    catalog = Catalog()
    v = log.propose(gap, catalog, "refund-cancelled", EVE, 10.0)
    assert v.state == "draft" and isinstance(v.content, Article)
    assert set(v.content.phrasings) == set(queries)
    assert "3 searches" in v.history[0].note
    assert log.gaps() == []
    # Once reviewed and published, the draft answers the same request.
    catalog.submit(v.key, v.number, EVE, 11.0)
    catalog.publish(v.key, v.number, EVE, 12.0)
    published = catalog.published(v.key)
    assert published is not None and isinstance(published.content, Article)
    base = fixture_base()
    grown = Base({**base.articles, "refund-cancelled": published.content}, base.flows)
    hits = BaseSearch(grown).suggest("remboursement achat annulé", lang="fr")
    assert hits[0].id == "article:refund-cancelled" and not is_gap(hits)


def test_dissimilar_gaps_stay_apart() -> None:
    log = GapLog()
    log.record("résilier la box internet", "fr", [], 0.0)
    log.record("numéro de téléphone du service client", "fr", [], 1.0)
    log.record("résilier box internet vite", "fr", [], 2.0)
    assert [g.count for g in log.gaps()] == [2, 1]
    assert log.gaps()[0].label() in ("résilier la box internet", "résilier box internet vite")


def test_a_linked_query_improves_the_ranking() -> None:
    base = fixture_base()
    query = "mon téléphone refuse le paiement sans contact"
    before = BaseSearch(base).suggest(query, lang="fr")
    assert not before or before[0].id != "article:limits"
    links = Links()
    assert links.link("article:limits", query)
    assert not links.link("article:limits", f"  {query} ")  # the same wording once
    after = BaseSearch(base, links=links).suggest(query, lang="fr")
    assert after[0].id == "article:limits"
    # A close wording benefits too: the phrasing is indexed, not the exact string.
    assert BaseSearch(base, links=links).suggest("paiement sans contact refusé")[0].id == (
        "article:limits"
    )


def test_synonyms_are_learned_from_queries_ending_on_the_same_article() -> None:
    links = Links()
    for doc in ("article:pin", "article:app"):
        links.link(doc, "carte bloquée au magasin")
        links.link(doc, "carte verrouillée au magasin")
    links.link("article:pin", "code oublié")
    assert links.synonym_candidates("fr") == [("bloquee", "verrouillee", 2)]
    assert links.synonym_candidates("fr", min_count=3) == []


def test_customers_only_see_customer_content() -> None:
    search = BaseSearch(fixture_base())
    agent = [h.id for h in search.suggest("application carte", lang="fr", k=10)]
    customer = [h.id for h in search.suggest("application carte", lang="fr", audience="customer")]
    assert "article:unblock-card" in agent and "article:unblock-card" not in customer
    assert customer and all(h in ("article:app", "article:new-card") for h in customer)


def test_flows_are_found_by_their_questions_too() -> None:
    ids = {d.id: d for d in docs_of(fixture_base())}
    assert "Quelle carte ?" in ids["flow:card-blocked"].texts
    hits = BaseSearch(fixture_base()).suggest("montant du paiement refusé", lang="fr")
    assert hits[0].id == "flow:card-blocked"


def test_publish_is_blocked_when_retrieval_gets_worse() -> None:
    base = fixture_base()
    refs = [Reference("modifier mon code secret", "article:pin", "fr")]
    before = BaseSearch(base).index
    assert publish_blockers(before, before, refs, Runner(base), []) == []
    worse = replace(ARTICLES["pin"], title="Sécurité", phrasings=())
    after = BaseSearch(Base({**base.articles, "pin": worse}, base.flows)).index
    [reason] = publish_blockers(before, after, refs, Runner(base), [])
    assert '"modifier mon code secret": article:pin' in reason and "was 1" in reason


def test_publish_is_blocked_when_a_recorded_path_ends_elsewhere() -> None:
    base = fixture_base()
    r = Runner(base)
    s = r.start("card-blocked", {"customer_id": 5})
    for a in ("visa", "20"):
        s = r.answer(s, a)
    path = RecordedPath.of(s, {"customer_id": 5})
    assert (path.flow, path.answers, path.end) == ("card-blocked", ("visa", 20.0), "unblock")
    assert path_regressions(r, [path]) == []
    flow = base.flows["card-blocked"]
    q = flow.nodes["ask_card"]
    assert isinstance(q, Question)
    rerouted = replace(q, choices=(Choice("Visa", "visa", "human"), *q.choices[1:]))
    changed = replace(flow, nodes={**flow.nodes, "ask_card": rerouted})
    after = Runner(Base(base.articles, {**base.flows, "card-blocked": changed}))
    [reason] = path_regressions(after, [path])
    assert "ends at human, was unblock" in reason
    removed = replace(flow, nodes={**flow.nodes, "ask_card": replace(q, choices=q.choices[1:])})
    after = Runner(Base(base.articles, {**base.flows, "card-blocked": removed}))
    assert "not one of the choices" in path_regressions(after, [path])[0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 3)), max_size=120))
def test_gap_groups_keep_every_count_and_a_bounded_number_of_wordings(
    picks: list[tuple[int, int]],
) -> None:
    # a wording is "box <variant> <suffix>": same stem "box" with many suffixes, so
    # groups fill up and further wordings have to count for the group's label
    log = GapLog()
    for i, (word, extra) in enumerate(picks):
        found = log.record(f"box internet mot{word}", "fr", [], float(i))
        assert found is not None and found[1] in found[0].queries
        if extra:
            assert log.record(f"zzz{extra} autre", "fr", [], float(i)) is not None
    groups = log.gaps()
    assert sum(g.count for g in groups) == len(picks) + sum(1 for _, e in picks if e)
    assert all(len(g.queries) <= GAP_WORDINGS for g in groups)


def test_a_log_that_may_not_start_groups_only_adds_to_open_ones() -> None:
    log = GapLog()
    assert log.record("résilier la box internet", "fr", [], 0.0, new_group=False) is None
    assert log.record("résilier la box internet", "fr", [], 1.0) is not None
    joined = log.record("résilier box internet vite", "fr", [], 2.0, new_group=False)
    assert joined is not None and joined[0].count == 2
    assert log.record("numéro du service client", "fr", [], 3.0, new_group=False) is None
    assert len(log) == 1
