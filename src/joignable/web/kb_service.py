"""The knowledge base inside the server: the review catalog, search, flow runs, the learning
loop, analytics and training, persisted in SQLite tables beside the ledger's (the same file, as
the accounts and the chats: one file to back up).

Every call takes one lock: the catalog and the logs are plain Python objects, and a move reads
then writes them. Search is CPU work, so the routes call it through ``run_in_threadpool``. The
embedding model is loaded by a background thread at the first search (only when dense search was
asked for: ``bootstrap.serve``); until it is ready, search is lexical. Nothing heavy is imported
when this module is.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from joignable.core.errors import DomainError
from joignable.knowledge.export import article_data, base_data, flow_data
from joignable.knowledge.model import Article, Base, Fact, Flow, Handover, Outcome, Question
from joignable.knowledge.review import Actor, ReviewError, Role, Version
from joignable.knowledge.runner import RunError, Runner, State, Step

if TYPE_CHECKING:
    from joignable.knowledge.embedding import Embedder
    from joignable.knowledge.learning import GapLog, Links
    from joignable.knowledge.search import Hit
    from joignable.knowledge.suggest import BaseSearch
    from joignable.knowledge.training import Practice

log = logging.getLogger("joignable.web.kb")

SYSTEM = "bootstrap"  # who published the demo base
MAX_RUNS_IN_MEMORY = 5000  # older runs are read back from the database when asked for
MAX_PRACTICES = 1000
# Customers' searches (anyone may search before a chat) start at most this many new gap groups
# an hour, and none once this many are open; a gap like an open one only adds to its count.
CUSTOMER_GAP_GROUPS_PER_HOUR = 30
MAX_OPEN_GAP_GROUPS = 1000

# Every refusal of the knowledge API: a stable code and its HTTP status.
STATUS = {
    "kb_unknown": 404,
    "kb_forbidden": 403,
    "kb_bad_move": 409,
    "kb_no_previous": 409,
    "kb_invalid_content": 422,
    "kb_publish_blocked": 409,
    "kb_exists": 409,
    "kb_invalid_file": 422,
    "kb_not_stored": 503,
    "run_unknown": 404,
    "run_bad_answer": 422,
    "run_ended": 409,
    "run_at_start": 409,
    "run_no_line": 409,
    "run_not_ended": 409,
    "run_lost": 409,
    "practice_unknown": 404,
    "practice_ended": 409,
    "no_suggestion": 409,
}
_REVIEW_CODES = {
    "unknown": "kb_unknown",
    "forbidden": "kb_forbidden",
    "bad-move": "kb_bad_move",
    "no-previous": "kb_no_previous",
}
_RUN_CODES = {
    "bad-answer": "run_bad_answer",
    "ended": "run_ended",
    "at-start": "run_at_start",
    "unknown-flow": "kb_unknown",
    "no-end": "run_bad_answer",
    "no-line": "run_no_line",
}


class KbError(DomainError):
    """A refused knowledge request; ``code`` is one of ``STATUS``."""

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message, **details)
        self.code = code
        self.status = STATUS.get(code, 400)


@contextmanager
def _translated() -> Iterator[None]:
    """The core's refusals as coded API errors."""
    try:
        yield
    except ReviewError as e:
        raise KbError(_REVIEW_CODES.get(e.code, "kb_bad_move"), str(e)) from None
    except RunError as e:
        raise KbError(_RUN_CODES.get(e.code, "run_bad_answer"), str(e)) from None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS kb_runs (
  id TEXT PRIMARY KEY, contact TEXT, flow TEXT NOT NULL, audience TEXT NOT NULL,
  who TEXT NOT NULL, facts TEXT NOT NULL, answers TEXT NOT NULL, at_flow TEXT NOT NULL,
  node TEXT NOT NULL, ended INTEGER NOT NULL, path TEXT NOT NULL, state_facts TEXT NOT NULL,
  solved INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS kb_runs_contact ON kb_runs (contact);
CREATE TABLE IF NOT EXISTS kb_links (
  doc TEXT NOT NULL, query TEXT NOT NULL, contact TEXT, who TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kb_gaps (
  query TEXT NOT NULL, lang TEXT NOT NULL, at REAL NOT NULL, done INTEGER NOT NULL DEFAULT 0,
  n INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS kb_queries (
  contact TEXT PRIMARY KEY, query TEXT NOT NULL, lang TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kb_handovers (
  contact TEXT PRIMARY KEY, packet TEXT NOT NULL, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS kb_opened (doc TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS kb_results (
  agent TEXT NOT NULL, skill TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
  score REAL NOT NULL, at REAL NOT NULL);
"""


@dataclass
class Run:
    """A flow run in progress or ended: its state, and what it takes to replay it."""

    id: str
    runner: Runner
    state: State
    contact: str | None
    audience: str
    who: str
    facts: dict[str, Fact]  # known at the start
    answers: list[tuple[Fact, float]] = field(default_factory=list)
    solved: bool = False
    started_at: float = 0.0

    def path_flow(self) -> str:
        """The flow the run started in (a sub-flow may be running now)."""
        return self.state.path[0].flow if self.state.path else self.state.flow


def actor_role(can_edit: bool, can_publish: bool) -> Role:
    """The review role of a caller: experts publish, editors review, every other reader writes
    drafts (a proposal from a contact) and nothing more."""
    return "expert" if can_publish else "reviewer" if can_edit else "author"


def split_key(key: str) -> tuple[str, str]:
    kind, _, ident = key.partition(":")
    if kind not in ("article", "flow") or not ident:
        raise KbError("kb_unknown", f"{key!r} is not article:<id> or flow:<id>")
    return kind, ident


def content_data(content: Article | Flow) -> dict[str, Any]:
    return flow_data(content) if isinstance(content, Flow) else article_data(content)


def _fact(value: Any) -> Fact:
    return value if isinstance(value, str | int | float | bool) else str(value)


class KnowledgeService:
    """The knowledge base of one server."""

    def __init__(
        self, path: str, clock: Callable[[], float] = time.time, *, dense: bool = False
    ) -> None:
        from joignable.knowledge.store import KnowledgeStore
        from joignable.knowledge.training import Gradebook, Result

        self.clock = clock
        self.dense = dense
        self.lock = threading.RLock()
        self.search_lock = threading.Lock()  # apart: a search never holds up a review move
        self.store = KnowledgeStore(path)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(_SCHEMA)
        if "n" not in {row[1] for row in self.db.execute("PRAGMA table_info(kb_gaps)")}:
            self.db.execute("ALTER TABLE kb_gaps ADD COLUMN n INTEGER NOT NULL DEFAULT 1")
        self._customer_gaps: list[float] = []  # when customers' searches started gap groups
        self.catalog = self.store.load()
        self._links: Links | None = None  # loaded at first use: they import search (bm25s)
        self._gaps: GapLog | None = None
        self.gradebook = Gradebook()
        for row in self.db.execute("SELECT agent, skill, kind, subject, score, at FROM kb_results"):
            self.gradebook.add(Result(*row))
        self._base: Base = self.catalog.published_base()
        self._runner = Runner(self._base)
        self._index: BaseSearch | None = None
        self._generation = 0  # bumped by every change that search must see
        self._embedder: Embedder | None = None
        self._warming: threading.Thread | None = None
        self.dense_status = "dense search off" if not dense else "dense search not loaded yet"
        self._runs: dict[str, Run] = {}
        self._practices: dict[str, tuple[Practice, str, str]] = {}

    def close(self) -> None:
        with self.lock:
            self.store.close()
            self.db.close()

    @property
    def links(self) -> Links:
        if self._links is None:
            from joignable.knowledge.learning import Links

            links = Links()
            for doc, query in self.db.execute("SELECT doc, query FROM kb_links ORDER BY rowid"):
                if query:
                    links.link(doc, query)
            self._links = links
        return self._links

    @property
    def gaps(self) -> GapLog:
        if self._gaps is None:
            from joignable.knowledge.learning import GapLog

            gaps = GapLog()
            rows = self.db.execute(
                "SELECT query, lang, at, n FROM kb_gaps WHERE done = 0 ORDER BY rowid"
            )
            for query, lang, at, n in rows:
                gaps.add(query, lang, at, n)
            self._gaps = gaps
        return self._gaps

    # -- content ---------------------------------------------------------------------------

    @property
    def base(self) -> Base:
        return self._base

    def seed_demo(self) -> int:
        """The demo base (Fibrelia), published, on an empty catalog."""
        return self.seed(_demo_base())

    def seed(self, base: Base) -> int:
        """Publish ``base`` on an empty catalog (a new demo organisation); 0 if not empty."""
        with self.lock:
            if self.catalog.items():
                return 0
            expert, now = Actor(SYSTEM, "expert"), self.clock()
            items: list[Article | Flow] = [*base.articles.values(), *base.flows.values()]
            for item in items:
                v = self.catalog.propose(item, expert, now, "demo base")
                self.catalog.submit(v.key, v.number, expert, now)
                for node in v.nodes:  # reviewed as a whole: later versions show their changes
                    self.catalog.review_node(v.key, v.number, node, expert, now)
                self.catalog.publish(v.key, v.number, expert, now)
            self.store.save_catalog(self.catalog)
            self._changed()
            return len(base.articles) + len(base.flows)

    def _changed(self) -> None:
        self._base = self.catalog.published_base()
        self._runner = Runner(self._base)
        self._index = None
        self._generation += 1

    def published(self, kind: str, ident: str) -> Version:
        v = self.catalog.published(f"{kind}:{ident}")
        if v is None:
            raise KbError("kb_unknown", f"no published {kind} {ident!r}", item=f"{kind}:{ident}")
        return v

    def versions(self, key: str) -> list[Version]:
        split_key(key)
        found = self.catalog.versions(key)
        if not found:
            raise KbError("kb_unknown", f"no {key}", item=key)
        return found

    def review_queue(self) -> list[Version]:
        """The latest version of every item that is a draft or in review."""
        out = []
        for key in self.catalog.items():
            latest = self.catalog.versions(key)[-1]
            if latest.state in ("draft", "in_review"):
                out.append(latest)
        return out

    def _check_content(self, content: Article | Flow | None, without: str | None = None) -> None:
        """The published base with this content in it (or without the item ``without``) must
        validate: it refers to nothing unknown, every node is reachable, every cycle has an exit.
        So archiving an article a published flow still shows is refused, naming the flow."""
        from joignable.knowledge.schema import build

        articles, flows = dict(self._base.articles), dict(self._base.flows)
        if isinstance(content, Flow):
            flows[content.id] = content
        elif content is not None:
            articles[content.id] = content
        if without is not None:
            kind, ident = split_key(without)
            (flows if kind == "flow" else articles).pop(ident, None)
        _, problems = build(base_data(Base(articles, flows)))
        if problems:
            # places are given in the file's terms (flows[2]...): name the item too
            names = {"articles": list(articles), "flows": list(flows)}

            def named(m: re.Match[str]) -> str:
                return f"{m.group(0)} ({names[m.group(1)][int(m.group(2))]})"

            said = [re.sub(r"\b(articles|flows)\[(\d+)\]", named, str(p)) for p in problems]
            raise KbError("kb_invalid_content", "; ".join(said[:10]), problems=len(problems))

    def propose(self, kind: str, data: Any, who: Actor, note: str = "") -> Version:
        from joignable.knowledge.schema import read_item

        try:
            content = read_item(kind, data)
        except ValueError as e:
            raise KbError("kb_invalid_content", str(e) or f"not a valid {kind}") from None
        with self.lock, _translated():
            self._check_content(content)
            v = self.catalog.propose(content, who, self.clock(), note)
            self.store.save([v])
            return v

    def import_file(self, text: str, fmt: str, who: Actor, note: str) -> list[Version]:
        """Every article and flow of a whole file (docs/knowledge.md) as new draft versions, or
        nothing: each problem is raised with its place in the file (``FileProblems``). What the
        file refers to may be in the file or already published."""
        from joignable.knowledge.schema import Problem, build, parse

        data, problems = parse(text, fmt)
        base = None
        if not problems:
            with self.lock:
                merged, sizes = _with_published(data, self._base)
                base, problems = build(merged)
            problems = [_in_file(p, sizes, merged) for p in problems]
        if problems or base is None:
            raise FileProblems(problems or [Problem("", "empty", "the file holds nothing")])
        items = [
            *_from_file(data, "articles", base.articles),
            *_from_file(data, "flows", base.flows),
        ]
        if not items:
            raise FileProblems([Problem("", "empty", "the file holds no article and no flow")])
        with self.lock:
            now = self.clock()
            versions = [self.catalog.propose(item, who, now, note) for item in items]
            try:
                self.store.save(versions)  # one transaction: all or none
            except sqlite3.Error as e:
                self.catalog = self.store.load()  # forget the drafts the store refused
                raise KbError(
                    "kb_not_stored", f"nothing imported: the base was not stored ({e})"
                ) from e
            return versions

    def move(
        self, action: str, key: str, number: int, who: Actor, text: str = "", force: bool = False
    ) -> Version:
        """A review move on one version: submit, comment, send_back, publish, archive."""
        split_key(key)
        with self.lock, _translated():
            now = self.clock()
            if action == "submit":
                v = self.catalog.submit(key, number, who, now)
            elif action == "comment":
                v = self.catalog.comment(key, number, who, now, text)
            elif action == "send_back":
                v = self.catalog.send_back(key, number, who, now, text)
            elif action == "archive":
                if self.catalog.version(key, number).state == "published":
                    self._check_content(None, without=key)
                v = self.catalog.archive(key, number, who, now)
            elif action == "publish":
                target = self.catalog.version(key, number)
                if target.state == "in_review" and who.role == "expert":
                    self._check_content(target.content)
                    blockers = self.publish_blockers(target)
                    if blockers and not force:
                        raise KbError(
                            "kb_publish_blocked",
                            "this version would make things worse: " + "; ".join(blockers[:5]),
                            reasons=len(blockers),
                        )
                v = self.catalog.publish(key, number, who, now)
                if force:
                    v = self.catalog.comment(key, number, who, now, "published despite the gate")
            else:
                raise KbError("kb_bad_move", f"no action {action!r}")
            self._save_item(key)
            if action in ("publish", "archive"):
                self._changed()
            return v

    def rollback(self, key: str, who: Actor) -> Version:
        split_key(key)
        with self.lock, _translated():
            earlier = [
                v
                for v in self.catalog.versions(key)
                if v.state != "published" and any(c.action == "published" for c in v.history)
            ]
            if earlier and who.role == "expert":  # what comes back must still fit the base
                self._check_content(earlier[-1].content)
            v = self.catalog.rollback(key, who, self.clock())
            self._save_item(key)
            self._changed()
            return v

    def _save_item(self, key: str) -> None:
        self.store.save(self.catalog.versions(key))

    def publish_blockers(self, target: Version) -> list[str]:
        """Replay the item's linked queries and the recorded paths of its flow (see gate.py)."""
        from joignable.knowledge.gate import RecordedPath, Reference, publish_blockers
        from joignable.knowledge.suggest import BaseSearch

        content = target.content
        articles, flows = dict(self._base.articles), dict(self._base.flows)
        if isinstance(content, Flow):
            flows[content.id] = content
        else:
            articles[content.id] = content
        after = Base(articles, flows)
        refs = [Reference(q, target.key, content.lang) for q in self.links.queries(target.key)]
        paths: list[RecordedPath] = []
        if isinstance(content, Flow):
            rows = self.db.execute(
                "SELECT facts, answers, node FROM kb_runs WHERE flow = ? AND ended = 1"
                " ORDER BY updated_at DESC LIMIT 200",
                (content.id,),
            )
            for facts, answers, node in rows:
                got = tuple(a for a, _ in json.loads(answers))
                paths.append(RecordedPath(content.id, got, node, json.loads(facts)))
        if not refs and not paths:
            return []
        before_index = self._search().index
        after_index = BaseSearch(after, links=self.links, embedder=self._embedder).index
        try:
            runner = Runner(after)
            return publish_blockers(before_index, after_index, refs, runner, paths)
        except (KeyError, RunError) as e:  # a path through a flow the new base lacks
            return [f"recorded paths cannot be replayed: {e}"]

    # -- search ----------------------------------------------------------------------------

    def _search(self) -> BaseSearch:
        from joignable.knowledge.suggest import BaseSearch
        from joignable.knowledge.thesaurus import default_thesaurus

        if self._index is None:
            self._index = BaseSearch(
                self._base,
                links=self.links,
                thesaurus=default_thesaurus(),
                embedder=self._embedder,
            )
        if self.dense and self._warming is None:
            self._warming = threading.Thread(target=self._warm, name="kb-dense", daemon=True)
            self._warming.start()
        return self._index

    def _warm(self) -> None:
        """Load the model and build the dense index away from requests, then swap it in."""
        from joignable.knowledge.embedding import CachedEmbedder, load_embedder
        from joignable.knowledge.suggest import BaseSearch
        from joignable.knowledge.thesaurus import default_thesaurus

        model, why = load_embedder()
        self.dense_status = why
        log.info("knowledge: %s", why)
        if model is None:
            return
        embedder = CachedEmbedder(model)
        while True:
            with self.lock:  # a copy: requests link new queries while this builds
                base, generation = self._base, self._generation
                links = copy.deepcopy(self.links)
            built = BaseSearch(base, links=links, thesaurus=default_thesaurus(), embedder=embedder)
            with self.lock:
                if generation == self._generation:
                    self._embedder = embedder
                    self._index = built
                    return

    def search(
        self,
        query: str,
        *,
        lang: str | None,
        audience: str,
        k: int = 5,
        contact: str | None = None,
    ) -> tuple[list[Hit], bool, str]:
        """The best flows and articles, whether the search was a gap (kept for experts), and
        the language searched."""
        from joignable.knowledge.learning import is_gap
        from joignable.knowledge.text import detect_language

        with self.lock:
            index = self._search()
        used = lang if lang in ("fr", "en") else detect_language(query)
        with self.search_lock:  # the index remembers query vectors: one search at a time
            hits = index.suggest(query, lang=used, audience=audience, k=k)  # type: ignore[arg-type]
        with self.lock:
            now = self.clock()
            gap = is_gap(hits) and bool(query.strip())
            if gap:
                self._gap(query, used, hits, now, audience == "customer")
            if contact is not None and query.strip():
                self.db.execute(
                    "INSERT INTO kb_queries (contact, query, lang, at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (contact) DO UPDATE SET query = excluded.query,"
                    " lang = excluded.lang, at = excluded.at",
                    (contact, query.strip(), used, now),
                )
        return hits, gap, used

    def _gap(self, query: str, lang: str, hits: list[Hit], now: float, customer: bool) -> None:
        """Keep a search without a good answer, bounded: one row per wording with its count,
        and customers start few new groups (``CUSTOMER_GAP_GROUPS_PER_HOUR``)."""
        recent = [t for t in self._customer_gaps if t > now - 3600]
        self._customer_gaps = recent
        allowed = not customer or (
            len(recent) < CUSTOMER_GAP_GROUPS_PER_HOUR and len(self.gaps) < MAX_OPEN_GAP_GROUPS
        )
        groups = len(self.gaps)
        found = self.gaps.record(query, lang, hits, now, new_group=allowed)  # type: ignore[arg-type]
        if found is None:
            return
        if customer and len(self.gaps) > groups:
            recent.append(now)
        text = found[1]
        counted = self.db.execute(
            "UPDATE kb_gaps SET n = n + 1, at = ? WHERE rowid = (SELECT rowid FROM kb_gaps"
            " WHERE query = ? AND lang = ? AND done = 0 LIMIT 1)",
            (now, text, lang),
        )
        if counted.rowcount == 0:
            self.db.execute(
                "INSERT INTO kb_gaps (query, lang, at) VALUES (?, ?, ?)", (text, lang, now)
            )

    def item_of(self, key: str) -> Article | Flow:
        kind, ident = split_key(key)
        found = (self._base.articles if kind == "article" else self._base.flows).get(ident)
        if found is None:
            raise KbError("kb_unknown", f"no published {kind} {ident!r}", item=key)
        return found

    def opened(self, key: str) -> None:
        """An article opened from search (counted for analytics)."""
        with self.lock:
            self.db.execute(
                "INSERT INTO kb_opened (doc, n) VALUES (?, 1)"
                " ON CONFLICT (doc) DO UPDATE SET n = n + 1",
                (key,),
            )

    # -- the learning loop -----------------------------------------------------------------

    def last_query(self, contact: str) -> str | None:
        row = self.db.execute("SELECT query FROM kb_queries WHERE contact = ?", (contact,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def solved_by(self, contact: str, key: str, query: str | None, who: str) -> dict[str, Any]:
        """Link the article or flow that solved a contact: its query becomes a new phrasing."""
        with self.lock:
            self.item_of(key)
            text = " ".join((query or self.last_query(contact) or "").split())
            learned = bool(text) and self.links.link(key, text)
            self.db.execute(
                "INSERT INTO kb_links (doc, query, contact, who, at) VALUES (?, ?, ?, ?, ?)",
                (key, text, contact, who, self.clock()),
            )
            if learned:
                self._index = None
                self._generation += 1
            return {"contact": contact, "item": key, "query": text or None, "learned": learned}

    def solved_links(self, contact: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT doc, query, who, at FROM kb_links WHERE contact = ? ORDER BY rowid", (contact,)
        )
        return [{"item": d, "query": q or None, "who": w, "at": a} for d, q, w, a in rows]

    def gap_list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "n": n,
                    "lang": g.lang,
                    "label": g.label(),
                    "count": g.count,
                    "queries": [q for q, _ in g.queries.most_common(10)],
                    "first_at": g.first_at,
                    "last_at": g.last_at,
                }
                for n, g in enumerate(self.gaps.gaps())
            ]

    def draft_from_gap(self, n: int, article_id: str, who: Actor) -> Version:
        with self.lock:
            groups = self.gaps.gaps()
            if not 0 <= n < len(groups):
                raise KbError("kb_unknown", f"no gap {n}", gap=n)
            if self.catalog.versions(f"article:{article_id}"):
                raise KbError("kb_exists", f"article {article_id!r} exists already")
            gap = groups[n]
            queries, lang = list(gap.queries), gap.lang
            v = self.gaps.propose(gap, self.catalog, article_id, who, self.clock())
            self.store.save([v])
            self.db.executemany(
                "UPDATE kb_gaps SET done = 1 WHERE query = ? AND lang = ?",
                [(q, lang) for q in queries],
            )
            return v

    def synonym_suggestions(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {"lang": lang, "words": [a, b], "count": n}
                for lang in ("fr", "en")
                for a, b, n in self.links.synonym_candidates(lang)
            ]

    # -- flow runs -------------------------------------------------------------------------

    def start_run(
        self,
        flow: str,
        facts: Mapping[str, Any],
        *,
        who: str,
        audience: str,
        contact: str | None,
    ) -> Run:
        with self.lock, _translated():
            f = self._base.flows.get(flow)
            if f is None or (audience == "customer" and f.audience != "customer"):
                raise KbError("kb_unknown", f"no published flow {flow!r}", item=f"flow:{flow}")
            known = {str(k): _fact(v) for k, v in facts.items()}
            now = self.clock()
            state = self._runner.start(flow, known, at=now)
            run = Run(
                "r" + secrets.token_hex(8),
                self._runner,
                state,
                contact,
                audience,
                who,
                known,
                started_at=now,
            )
            self._keep(run)
            self._save_run(run)
            return run

    def run(self, run_id: str) -> Run:
        with self.lock:
            found = self._runs.get(run_id)
            if found is not None:
                return found
            row = self.db.execute(
                "SELECT contact, flow, audience, who, facts, answers, solved, started_at"
                " FROM kb_runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                raise KbError("run_unknown", f"no run {run_id!r}", run=run_id)
            contact, flow, audience, who, facts, answers, solved, started = row
            try:  # after a restart: replayed on today's published flows
                state = self._runner.start(flow, json.loads(facts), at=started)
                for value, at in json.loads(answers):
                    state = self._runner.answer(state, value, at=at)
            except (RunError, KeyError) as e:
                raise KbError("run_lost", f"run {run_id} cannot be resumed: {e}") from None
            run = Run(
                run_id,
                self._runner,
                state,
                contact,
                audience,
                who,
                json.loads(facts),
                [(a, at) for a, at in json.loads(answers)],
                bool(solved),
                started,
            )
            self._keep(run)
            return run

    def _keep(self, run: Run) -> None:
        self._runs[run.id] = run
        while len(self._runs) > MAX_RUNS_IN_MEMORY:
            self._runs.pop(next(iter(self._runs)))

    def answer(self, run: Run, value: Any) -> Run:
        with self.lock, _translated():
            now = self.clock()
            run.state = run.runner.answer(run.state, value, at=now)
            fact = next(p.answer for p in reversed(run.state.path) if p.asked)
            run.answers.append((_fact(fact), now))  # as read (a label becomes its value)
            self._save_run(run)
            return run

    def back(self, run: Run) -> Run:
        with self.lock, _translated():
            run.state = run.runner.back(run.state)
            if run.answers:
                run.answers.pop()
            self._save_run(run)
            return run

    def adopt(self, run: Run, contact: str) -> None:
        """A run started before the chat becomes the chat's: its path is saved with it."""
        with self.lock:
            if run.contact is None:
                run.contact = contact
                self._save_run(run)

    def confirm_solved(self, run: Run) -> None:
        with self.lock:
            run.solved = True
            self._save_run(run)

    def _save_run(self, run: Run) -> None:
        s = run.state
        path = [[p.flow, p.node, p.answer, p.asked, p.at, p.spent] for p in s.path]
        self.db.execute(
            "INSERT INTO kb_runs (id, contact, flow, audience, who, facts, answers, at_flow, node,"
            " ended, path, state_facts, solved, started_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " contact = excluded.contact, answers = excluded.answers, at_flow = excluded.at_flow,"
            " node = excluded.node,"
            " ended = excluded.ended, path = excluded.path, state_facts = excluded.state_facts,"
            " solved = excluded.solved, updated_at = excluded.updated_at",
            (
                run.id,
                run.contact,
                path[0][0] if path else s.flow,
                run.audience,
                run.who,
                json.dumps(run.facts),
                json.dumps(run.answers),
                s.flow,
                s.node,
                int(s.ended),
                json.dumps(path),
                json.dumps(dict(s.facts)),
                int(run.solved),
                run.started_at,
                self.clock(),
            ),
        )

    def run_view(self, run: Run) -> dict[str, Any]:
        """What a screen shows of a run: the question, or the end with its article."""
        s, runner = run.state, run.runner
        node = runner.node(s)
        out: dict[str, Any] = {
            "run": run.id,
            "flow": run.path_flow(),
            "title": runner.base.flows[run.path_flow()].title,
            "contact": run.contact,
            "node": s.node,
            "ended": s.ended,
            "can_go_back": s.previous is not None,
            "answers": self._answered(runner, s),
            "path": [_step(p) for p in s.path],
            "solved": run.solved,
        }
        if isinstance(node, Question):
            out["question"] = {
                "text": node.text,
                "fact": node.fact,
                "choices": [{"label": c.label, "value": c.value} for c in node.choices],
                "input": node.input,
            }
        elif isinstance(node, Outcome):
            article = runner.base.articles.get(node.article or "")
            out["outcome"] = {
                "result": node.result,
                "text": node.text,
                "article": article_data(article) if article is not None else None,
            }
        elif isinstance(node, Handover):
            out["handover"] = {"queue": node.queue, "skill": node.skill, "text": node.text}
        return out

    @staticmethod
    def _answered(runner: Runner, s: State) -> list[dict[str, str]]:
        from joignable.knowledge.handover import packet

        return [{"question": a.question, "answer": a.answer} for a in packet(runner, s).answered]

    def runs_of(self, contact: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT id, flow, audience, who, at_flow, node, ended, path, state_facts, solved,"
            " started_at, updated_at FROM kb_runs WHERE contact = ? ORDER BY started_at",
            (contact,),
        )
        return [
            {
                "run": r[0],
                "flow": r[1],
                "audience": r[2],
                "who": r[3],
                "at": f"{r[4]}/{r[5]}",
                "ended": bool(r[6]),
                "path": [_step(Step(*p)) for p in json.loads(r[7])],
                "facts": json.loads(r[8]),
                "solved": bool(r[9]),
                "started_at": r[10],
                "updated_at": r[11],
            }
            for r in rows
        ]

    # -- hand-over -------------------------------------------------------------------------

    def hand_over(self, contact: str, run: Run | None, queue: str | None) -> dict[str, Any]:
        """Attach what self-service learnt to the contact, for the agent who takes it."""
        from joignable.knowledge.handover import packet

        with self.lock:
            out: dict[str, Any] = {
                "contact": contact,
                "query": self.last_query(contact),
                "flow": None,
                "queue": queue,
                "skill": None,
                "answered": [],
                "facts": {},
                "stopped_at": None,
                "ended": False,
                "run": None,
            }
            if run is not None:
                p = packet(run.runner, run.state, queue)
                out.update(
                    flow=p.flow,
                    queue=p.queue,
                    skill=p.skill,
                    answered=[{"question": a.question, "answer": a.answer} for a in p.answered],
                    facts=p.facts,
                    stopped_at=p.stopped_at,
                    ended=p.ended,
                    run=run.id,
                )
            out["at"] = self.clock()
            self.keep_handover(contact, out)
            return out

    def keep_handover(self, contact: str, packet: dict[str, Any]) -> None:
        """Store (or store again, e.g. once the contact has moved) what the agent receives."""
        with self.lock:
            self.db.execute(
                "INSERT INTO kb_handovers (contact, packet, at) VALUES (?, ?, ?)"
                " ON CONFLICT (contact) DO UPDATE SET packet = excluded.packet, at = excluded.at",
                (contact, json.dumps(packet, ensure_ascii=False), packet["at"]),
            )

    def handover_of(self, contact: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT packet FROM kb_handovers WHERE contact = ?", (contact,)
        ).fetchone()
        return json.loads(row[0]) if row else None

    # -- analytics -------------------------------------------------------------------------

    def recorded_runs(self) -> list[Any]:
        from joignable.knowledge.analytics import RunRecord

        out = []
        rows = self.db.execute(
            "SELECT at_flow, node, ended, path, state_facts, solved FROM kb_runs"
            " ORDER BY started_at"
        )
        for at_flow, node, ended, path, facts, solved in rows:
            steps = tuple(Step(*p) for p in json.loads(path))
            if any(p.flow not in self._base.flows for p in steps) or (
                at_flow not in self._base.flows or node not in self._base.flows[at_flow].nodes
            ):
                continue  # a flow since archived: its runs no longer count
            state = State(at_flow, node, json.loads(facts), steps, ended=bool(ended))
            out.append(RunRecord(state, bool(solved)))
        return out

    def analytics(self) -> Any:
        from joignable.knowledge.analytics import report

        with self.lock:
            opened = {
                split_key(d)[1]: n
                for d, n in self.db.execute("SELECT doc, n FROM kb_opened")
                if d.startswith("article:")
            }
            return report(self._base, self.recorded_runs(), opened)

    def health(self, stale_days: float = 180) -> list[Any]:
        from joignable.knowledge.analytics import health

        with self.lock:
            rep = self.analytics()
            return health(self._base, self.catalog, rep, self.clock(), stale_days=stale_days)

    # -- training --------------------------------------------------------------------------

    def practise(self, flow: str, trainee: str, skill: str | None, seed: int) -> str:
        """A practice run against a scripted customer on a random path of the flow."""
        from joignable.knowledge.training import Practice

        with self.lock, _translated():
            f = self._base.flows.get(flow)
            if f is None:
                raise KbError("kb_unknown", f"no published flow {flow!r}", item=f"flow:{flow}")
            scenario = scripted(self._runner, flow, seed)
            pid = "p" + secrets.token_hex(8)
            self._practices[pid] = (Practice(self._runner, scenario), trainee, skill or flow)
            while len(self._practices) > MAX_PRACTICES:
                self._practices.pop(next(iter(self._practices)))
            return pid

    def practice(self, pid: str, trainee: str) -> tuple[Practice, str]:
        found = self._practices.get(pid)
        if found is None or found[1] != trainee:
            raise KbError("practice_unknown", f"no practice {pid!r} of yours", practice=pid)
        return found[0], found[2]

    def pick(self, pid: str, trainee: str, value: Any) -> tuple[bool, Practice]:
        with self.lock, _translated():
            practice, skill = self.practice(pid, trainee)
            if practice.done:
                raise KbError("practice_ended", "this practice run has ended")
            right = practice.pick(value)
            if practice.done:
                self.add_result(
                    trainee, skill, "practice", practice.scenario.flow, practice.score()
                )
            return right, practice

    def add_result(self, agent: str, skill: str, kind: str, subject: str, score: float) -> None:
        from joignable.knowledge.training import Result

        with self.lock:
            r = Result(agent, skill, kind, subject, round(score, 4), self.clock())
            self.gradebook.add(r)
            self.db.execute(
                "INSERT INTO kb_results (agent, skill, kind, subject, score, at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (r.agent, r.skill, r.kind, r.subject, r.score, r.at),
            )


class FileProblems(KbError):
    """A knowledge file refused: every problem, each with its place in the file."""

    def __init__(self, problems: list[Any]) -> None:
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            "kb_invalid_file", f"{len(problems)} problem(s), nothing imported: {shown}{more}"
        )
        self.problems = problems


_SECTIONS = ("articles", "flows")


def _with_published(data: Any, published: Base) -> tuple[Any, dict[str, int]]:
    """The file's data with the published items it does not redefine appended after its own
    (so the file's places stay as they are): a flow may show an article published already.
    Also how many items of each section came from the file."""
    sizes = {s: 0 for s in _SECTIONS}
    if not isinstance(data, dict) or not all(isinstance(data.get(s, []), list) for s in _SECTIONS):
        return data, sizes  # malformed: build names it
    from joignable.knowledge.export import article_data, flow_data

    merged = dict(data)
    have: dict[str, list[dict[str, Any]]] = {
        "articles": [article_data(a) for a in published.articles.values()],
        "flows": [flow_data(f) for f in published.flows.values()],
    }
    for section in _SECTIONS:
        mine = list(data.get(section) or [])
        ids = {raw.get("id") for raw in mine if isinstance(raw, dict)}
        sizes[section] = len(mine)
        merged[section] = mine + [raw for raw in have[section] if raw["id"] not in ids]
    return merged, sizes


def _in_file(p: Any, sizes: dict[str, int], merged: Any) -> Any:
    """A problem found in a published item appended by ``_with_published`` (a file's change
    broke it) is named by that item, not by a place the file does not have."""
    from joignable.knowledge.schema import Problem

    m = re.match(r"(articles|flows)\[(\d+)\]", p.path)
    if m is None or int(m.group(2)) < sizes[m.group(1)]:
        return p
    item = merged[m.group(1)][int(m.group(2))]
    where = f"published {m.group(1)[:-1]} {item.get('id')!r}" + p.path[m.end() :]
    return Problem(where, p.code, p.message)


def _from_file(data: Any, section: str, built: Mapping[str, Any]) -> list[Any]:
    """The built items the file itself defined, in its order."""
    return [built[raw["id"]] for raw in data.get(section) or [] if raw["id"] in built]


@functools.cache
def _demo_base() -> Base:
    """Parsed once a process (a quarter of a second of YAML): every test seeds it."""
    from joignable.knowledge.demo import demo_base

    return demo_base()


def scripted(runner: Runner, flow: str, seed: int) -> Any:
    """A scenario along a path picked at random: at each question the customer answers with a
    choice's label (or a plausible typed value), and the path's end is the expected end."""
    import random

    from joignable.knowledge.training import Line, Scenario

    rng = random.Random(seed)
    state = runner.start(flow)
    lines: dict[str, Line] = {}
    for _ in range(100):
        if state.ended:
            break
        q = runner.node(state)
        assert isinstance(q, Question)
        if q.choices:
            c = rng.choice(q.choices)
            line = Line(c.label, c.value)
        else:
            typed = {"number": "42", "integer": "3", "boolean": "yes", "date": "2026-01-15"}
            says = typed.get(q.input or "text", "as on my contract")
            from joignable.knowledge.runner import coerce

            line = Line(says, coerce(q.input or "text", says))
        lines[q.id] = line
        state = runner.answer(state, line.means)
    return Scenario(flow, lines, state.node)


def _step(p: Step) -> dict[str, Any]:
    return {"flow": p.flow, "node": p.node, "answer": p.answer, "asked": p.asked, "at": p.at}
