"""The learning loop end to end, through the SQLite store: import, publish, a search with no good
answer becomes a gap, the gap a draft, the draft reviewed and published, and the same request
then finds it; a linked query raises its article."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from joignable.knowledge.cli import kb
from joignable.knowledge.demo import demo_base, demo_text
from joignable.knowledge.learning import GapLog, Links, is_gap
from joignable.knowledge.review import Actor
from joignable.knowledge.store import KnowledgeStore
from joignable.knowledge.suggest import BaseSearch
from joignable.knowledge.thesaurus import default_thesaurus

ANN, REX, EVE = Actor("ann", "author"), Actor("rex", "reviewer"), Actor("eve", "expert")
REQUESTS = [
    "ma facture mentionne des frais de dossier inconnus",
    "frais de dossier sur ma facture",
    "c'est quoi ces frais de dossier",
]


def test_a_gap_becomes_a_published_answer(tmp_path: Path) -> None:
    src, db = tmp_path / "demo.yaml", tmp_path / "kb.db"
    src.write_text(demo_text())
    assert CliRunner().invoke(kb, ["import", str(src), "--db", str(db)]).exit_code == 0
    store = KnowledgeStore(db)
    catalog = store.load()
    for key in catalog.items():
        catalog.submit(key, 1, ANN, 1.0)
        catalog.publish(key, 1, EVE, 2.0)
    store.save_catalog(catalog)

    live = store.load().published_base()
    search = BaseSearch(live, thesaurus=default_thesaurus())
    log = GapLog()
    for t, q in enumerate(REQUESTS):
        assert log.record(q, "fr", search.suggest(q, lang="fr"), 10.0 + t) is not None
    [gap] = log.gaps()
    assert gap.count == 3

    catalog = store.load()
    draft = log.propose(gap, catalog, "fr-file-fees", ANN, 20.0)
    store.save([draft])
    catalog = store.load()
    assert catalog.version("article:fr-file-fees", 1).state == "draft"
    catalog.comment(draft.key, 1, REX, 21.0, "expliquer les frais de dossier à la souscription")
    catalog.submit(draft.key, 1, ANN, 22.0)
    catalog.publish(draft.key, 1, EVE, 23.0)
    store.save_catalog(catalog)

    search = BaseSearch(store.load().published_base(), thesaurus=default_thesaurus())
    hits = search.suggest("frais de dossier facture", lang="fr")
    assert hits[0].id == "article:fr-file-fees" and not is_gap(hits)
    store.close()


def test_a_linked_query_raises_its_article() -> None:

    base = demo_base()
    query = "le décodeur affiche un écran noir depuis l'orage"
    before = [h.id for h in BaseSearch(base).suggest(query, lang="fr", k=10)]
    links = Links()
    links.link("article:fr-reboot-box", query)
    after = BaseSearch(base, links=links).suggest("écran noir sur le décodeur", lang="fr")
    assert after[0].id == "article:fr-reboot-box"
    assert "article:fr-reboot-box" not in before[:1]
