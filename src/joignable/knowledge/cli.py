"""``joignable kb``: import, export, search and evaluate knowledge from the command line.

The group lives here, beside what it drives; the main CLI only adds it (``main.add_command(kb)``).
Without ``--db`` or ``--file``, commands work on the demo base.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from joignable.knowledge.model import Base

# Search pulls in bm25s, SciPy and the embedding model: imported by the commands that search,
# so that every other ``joignable`` command starts fast.

LANG = click.Choice(["fr", "en"])


def _fmt(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def _fail(code: str, message: str) -> click.exceptions.Exit:
    click.echo(f"error [{code}]: {message}", err=True)
    return click.exceptions.Exit(2)


def _read(path: Path) -> Base:
    """A file's base, or every problem on stderr and exit 1."""
    from joignable.knowledge.schema import load

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _fail("unreadable", f"{path}: {e}") from None
    base, problems = load(text, _fmt(path))
    if base is None:
        for p in problems:
            click.echo(f"{path}: {p}", err=True)
        click.echo(f"{len(problems)} problem(s); nothing imported", err=True)
        raise click.exceptions.Exit(1)
    return base


def _base(db: Path | None, file: Path | None) -> Base:
    from joignable.knowledge.demo import demo_base
    from joignable.knowledge.store import KnowledgeStore

    if file is not None:
        return _read(file)
    if db is not None:
        return KnowledgeStore(db).load().published_base()
    return demo_base()


@click.group("kb")
def kb() -> None:
    """Guided knowledge: articles, decision flows and their search."""


@kb.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Store the items.")
@click.option("--by", default="import", show_default=True, help="Author of the new drafts.")
def import_(path: Path, db: Path | None, by: str) -> None:
    """Validate PATH (YAML or JSON); with --db, add every item as a new draft version."""
    from joignable.knowledge.review import Actor, Content
    from joignable.knowledge.store import KnowledgeStore

    base = _read(path)
    click.echo(f"{path}: {len(base.articles)} articles, {len(base.flows)} flows, no problem")
    if db is None:
        return
    store = KnowledgeStore(db)
    catalog = store.load()
    who, now = Actor(by, "author"), time.time()
    items: list[Content] = [*base.articles.values(), *base.flows.values()]
    note = f"imported from {path.name}"
    versions = [catalog.propose(item, who, now, note) for item in items]
    store.save(versions)
    store.close()
    click.echo(f"{len(versions)} draft versions added to {db}")


@kb.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def export(path: Path, db: Path | None) -> None:
    """Write the published content of --db (or the demo base) to PATH (.yaml or .json)."""
    from joignable.knowledge.export import dump

    base = _base(db, None)
    path.write_text(dump(base, _fmt(path)), encoding="utf-8")
    click.echo(f"{path}: {len(base.articles)} articles, {len(base.flows)} flows")


@kb.command("search")
@click.argument("query")
@click.option("--lang", type=LANG, help="The query's language (guessed when absent).")
@click.option("--db", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--audience", type=click.Choice(["agent", "customer"]), default="agent")
@click.option("-k", "k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option("--lexical", is_flag=True, help="BM25 only (no model to load).")
@click.option("--json", "as_json", is_flag=True)
def search(
    query: str,
    lang: str | None,
    db: Path | None,
    file: Path | None,
    audience: str,
    k: int,
    lexical: bool,
    as_json: bool,
) -> None:
    """The best articles and flows for QUERY, each with why it matched."""
    from joignable.knowledge.embedding import load_embedder
    from joignable.knowledge.suggest import BaseSearch
    from joignable.knowledge.thesaurus import default_thesaurus

    embedder, note = (None, "dense search off (--lexical)") if lexical else load_embedder()
    index = BaseSearch(_base(db, file), thesaurus=default_thesaurus(), embedder=embedder)
    hits = index.suggest(query, lang=lang, audience=audience, k=k)  # type: ignore[arg-type]
    if as_json:
        click.echo(
            json.dumps(
                {"dense": note, "hits": [asdict(h) for h in hits]}, indent=2, ensure_ascii=False
            )
        )
        return
    click.echo(note)
    if not hits:
        click.echo("no result")
    for h in hits:
        reasons = " · ".join(r.text for r in h.why)
        click.echo(f"{h.score:5.2f}  {h.id}  {h.title}\n       {reasons}")


@kb.command("eval")
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The folder holding banking77/ (and banking77-fr/).",
)
@click.option("-k", "k", type=int, default=5, show_default=True, help="Phrasings per article.")
@click.option("--queries", type=int, default=300, show_default=True)
@click.option("--lexical", is_flag=True, help="BM25 only (no model to load).")
@click.option("--json", "as_json", is_flag=True)
def eval_(data: Path, k: int, queries: int, lexical: bool, as_json: bool) -> None:
    """Top-1 and MRR@10 on BANKING77 (and its French set), per retriever."""
    from joignable.knowledge.embedding import load_embedder
    from joignable.knowledge.evaluation import banking77, banking77_fr, evaluate, signals
    from joignable.knowledge.search import KnowledgeIndex
    from joignable.knowledge.thesaurus import default_thesaurus

    embedder = None if lexical else load_embedder()[0]
    sets = []
    if (data / "banking77" / "train.csv").exists():
        sets.append(banking77(data / "banking77", k, queries=queries))
    if (data / "banking77-fr" / "articles.csv").exists():
        sets.append(banking77_fr(data / "banking77-fr"))
    if not sets:
        raise _fail("no-data", f"no banking77 set under {data}")
    out: dict[str, Any] = {}
    for d in sets:
        index = KnowledgeIndex(d.docs, thesaurus=default_thesaurus(), embedder=embedder)
        m = evaluate(index, d, d.test, signals(index, d, d.test), index.fusion)
        out[d.name] = {name: asdict(v) for name, v in m.items()}
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for name, metrics in out.items():
        click.echo(name)
        for retriever, v in metrics.items():
            click.echo(
                f"  {retriever:<10} top-1 {v['top1']:.3f}  MRR@10 {v['mrr10']:.3f}  (n={v['n']})"
            )
