"""The server's knowledge service on its own SQLite file: whatever a person answers and takes
back, the run kept in the database replays, after a restart, to exactly the state they saw; and
a refused move leaves nothing half-written."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from joignable.knowledge.model import Question
from joignable.web.kb_service import KbError, KnowledgeService

FLOWS = ["en-no-internet", "en-high-bill", "fr-no-internet", "fr-cancel", "en-identify"]


@pytest.fixture(scope="module")
def folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="kb-service-"))


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    flow=st.sampled_from(FLOWS),
    moves=st.lists(st.tuples(st.booleans(), st.integers(0, 10)), max_size=12),
)
def test_a_run_replays_after_a_restart_to_the_state_seen(
    folder: Path, flow: str, moves: list[tuple[bool, int]]
) -> None:
    path = str(Path(tempfile.mkdtemp(dir=folder)) / "kb.db")  # a new server each example
    k = KnowledgeService(path)
    try:
        k.seed_demo()
        run = k.start_run(flow, {}, who="a01", audience="agent", contact="c1")
        for back, pick in moves:
            if run.state.ended or (back and run.state.previous is not None):
                if run.state.previous is None:
                    break
                k.back(run)
                continue
            q = run.runner.node(run.state)
            assert isinstance(q, Question)
            if q.choices:
                k.answer(run, q.choices[pick % len(q.choices)].value)
            else:
                typed = {"number": "12,5", "integer": "3", "boolean": "oui", "date": "2026-01-02"}
                k.answer(run, typed.get(q.input or "text", "FR76 1234"))
        seen = k.run_view(run)
    finally:
        k.close()
    again = KnowledgeService(path)
    try:
        assert again.seed_demo() == 0
        replayed = again.run(run.id)
        view = again.run_view(replayed)
        for field in ("node", "ended", "answers", "question", "outcome", "handover"):
            assert view.get(field) == seen.get(field), field
        assert [p["node"] for p in view["path"]] == [p["node"] for p in seen["path"]]
        assert [r["at"].rsplit("/", 1)[1] for r in again.runs_of("c1")] == [seen["node"]]
    finally:
        again.close()


def test_a_refused_move_writes_nothing(folder: Path) -> None:
    k = KnowledgeService(str(folder / "refused.db"))
    try:
        k.seed_demo()
        run = k.start_run("en-no-internet", {}, who="a01", audience="agent", contact=None)
        before = k.run_view(run)
        with pytest.raises(KbError) as refused:
            k.answer(run, "purple")
        assert refused.value.code == "run_bad_answer" and refused.value.status == 422
        assert k.run_view(run) == before
        with pytest.raises(KbError) as unknown:
            k.start_run("en-high-bill", {}, who="x", audience="customer", contact=None)
        assert unknown.value.code == "kb_unknown"  # an agents' flow, asked by a customer
        count = len(k.db.execute("SELECT id FROM kb_runs").fetchall())
        assert count == 1
    finally:
        k.close()


def test_searches_links_and_runs_from_many_threads_at_once(folder: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    k = KnowledgeService(str(folder / "threads.db"))
    try:
        k.seed_demo()

        def work(i: int) -> str:
            hits, _, _ = k.search(f"internet coupé {i % 7}", lang="fr", audience="customer")
            if i % 5 == 0:
                k.solved_by(f"c{i}", "article:fr-outage", f"coupure du quartier {i}", "a01")
            run = k.start_run("fr-no-internet", {}, who="a01", audience="agent", contact=None)
            k.answer(run, "red")
            return hits[0].id

        with ThreadPoolExecutor(8) as pool:
            best = list(pool.map(work, range(80)))
        assert len(best) == 80 and all(h.startswith(("flow:", "article:")) for h in best)
        assert len(k.links.queries("article:fr-outage")) == 16
        assert k.analytics().flows["fr-no-internet"].escalated == 80
    finally:
        k.close()


def test_a_demo_ledger_from_before_the_knowledge_base_gets_it_when_served(folder: Path) -> None:
    import dataclasses

    from joignable.bootstrap import open_services, seed_demo

    db = str(folder / "old-demo.db")
    services = open_services(db, tick_every=0)
    old = dataclasses.replace(services, knowledge=None)  # as the server was before it
    assert seed_demo(old)  # the demo organisation, its logins, no knowledge base
    assert not services.knowledge.catalog.items()  # type: ignore[union-attr]
    services.close()
    services = open_services(db, tick_every=0)
    try:
        assert seed_demo(services) == []  # no new logins: it is the same organisation
        k = services.knowledge
        assert k is not None and "article:fr-reboot-box" in k.catalog.items()
        assert k.published("flow", "en-no-internet").state == "published"
        count = len(k.catalog.items())
        assert seed_demo(services) == [] and len(k.catalog.items()) == count  # once only
    finally:
        services.close()


def test_a_ledger_of_ones_own_gets_no_demo_knowledge(folder: Path) -> None:
    from joignable import demo
    from joignable.bootstrap import open_services, seed_demo

    services = open_services(str(folder / "own.db"), tick_every=0)
    try:
        for skill in demo.skills():
            services.center.run("define_skill", skill, skill.capitalize())
        services.center.run("configure_queue", demo.queues()[0])
        assert seed_demo(services) == []
        assert not services.knowledge.catalog.items()  # type: ignore[union-attr]
    finally:
        services.close()


def test_customers_gaps_are_counted_not_piled_up(folder: Path) -> None:
    from joignable.web.kb_service import CUSTOMER_GAP_GROUPS_PER_HOUR

    now = [1000.0]
    k = KnowledgeService(str(folder / "gaps.db"), clock=lambda: now[0])
    try:
        k.seed_demo()
        for _ in range(50):  # the same search again and again: one row, counted
            _, gap, _ = k.search("xqzt vlorp", lang="en", audience="customer")
            assert gap
        # many different ones: a bounded number of new groups an hour
        for i in range(3 * CUSTOMER_GAP_GROUPS_PER_HOUR):
            assert k.search(f"qq{i}zz ww{i}yy", lang="en", audience="customer")[1]
        rows = k.db.execute("SELECT query, n FROM kb_gaps").fetchall()
        assert ("xqzt vlorp", 50) in rows
        assert len(rows) == CUSTOMER_GAP_GROUPS_PER_HOUR
        # staff searches are not limited; an hour later customers start groups again
        assert k.search("ppp1 kkk1", lang="en", audience="agent")[1]
        now[0] += 3601
        assert k.search("ppp2 kkk2", lang="en", audience="customer")[1]
        groups = {g["label"]: g["count"] for g in k.gap_list()}
        assert groups["xqzt vlorp"] == 50 and {"ppp1 kkk1", "ppp2 kkk2"} <= set(groups)
    finally:
        k.close()
    again = KnowledgeService(str(folder / "gaps.db"))
    try:  # the counts survive a restart
        assert {g["label"]: g["count"] for g in again.gap_list()}["xqzt vlorp"] == 50
    finally:
        again.close()


def test_an_import_the_store_refuses_leaves_nothing_behind(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    from joignable.knowledge.review import Actor

    k = KnowledgeService(str(folder / "import.db"))
    try:
        k.seed_demo()
        before = {key: len(k.catalog.versions(key)) for key in k.catalog.items()}
        text = "articles: [{id: en-new, title: New, lang: en}, {id: en-cancel, title: C, lang: en}]"

        def full(versions: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(k.store, "save", full)
        with pytest.raises(KbError) as refused:
            k.import_file(text, "yaml", Actor("eve", "expert"), "test")
        assert refused.value.code == "kb_not_stored" and refused.value.status == 503
        assert {key: len(k.catalog.versions(key)) for key in k.catalog.items()} == before
        monkeypatch.undo()
        imported = k.import_file(text, "yaml", Actor("eve", "expert"), "test")
        assert [(v.key, v.number) for v in imported] == [
            ("article:en-new", 1),
            ("article:en-cancel", before["article:en-cancel"] + 1),
        ]
    finally:
        k.close()
