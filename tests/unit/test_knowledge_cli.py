"""``joignable kb``: import (problems named, drafts stored), export, search, eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from joignable.knowledge.cli import kb
from joignable.knowledge.demo import demo_text
from joignable.knowledge.review import Actor
from joignable.knowledge.schema import load
from joignable.knowledge.store import KnowledgeStore

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_import_names_every_problem_and_exits_1(tmp_path: Path) -> None:
    data = yaml.safe_load(demo_text())
    data["flows"][1]["nodes"]["ask_light"]["choices"][1]["next"] = "nowhere"
    data["flows"][1]["nodes"]["red"]["article"] = "gone"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    r = CliRunner().invoke(kb, ["import", str(bad)])
    assert r.exit_code == 1
    assert "flows[1].nodes.ask_light.choices[1]: choice 'Rouge' leads to unknown node" in r.output
    assert "flows[1].nodes.red.article: no article 'gone' [unknown-article]" in r.output
    assert "Traceback" not in r.output


def test_import_stores_drafts_then_export_writes_what_is_published(tmp_path: Path) -> None:
    good = tmp_path / "kb.yaml"
    good.write_text(demo_text())
    db = tmp_path / "kb.db"
    r = CliRunner().invoke(kb, ["import", str(good), "--db", str(db), "--by", "ann"])
    assert r.exit_code == 0, r.output
    assert "36 draft versions" in r.output
    store = KnowledgeStore(db)
    catalog = store.load()
    eve = Actor("eve", "expert")
    for key in ("article:fr-led-red", "article:fr-outage"):
        catalog.submit(key, 1, eve, 1.0)
        catalog.publish(key, 1, eve, 2.0)
    store.save_catalog(catalog)
    out = tmp_path / "out.json"
    r = CliRunner().invoke(kb, ["export", str(out), "--db", str(db)])
    assert r.exit_code == 0, r.output
    base, problems = load(out.read_text(), "json")
    assert problems == [] and base is not None
    assert set(base.articles) == {"fr-led-red", "fr-outage"} and not base.flows


def test_search_explains_its_hits_in_json() -> None:
    r = CliRunner().invoke(kb, ["search", "voyant rouge box", "--lexical", "--json", "-k", "2"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["hits"][0]["id"] == "article:fr-led-red"
    assert {w["kind"] for w in out["hits"][0]["why"]} == {"term"}
    r = CliRunner().invoke(kb, ["search", "zzzz qqqq", "--lexical", "--lang", "fr"])
    assert r.exit_code == 0 and "no result" in r.output


def test_eval_on_a_small_slice() -> None:
    if not (DATA / "banking77" / "train.csv").exists():
        pytest.skip(f"BANKING77 not found under {DATA}")
    r = CliRunner().invoke(kb, ["eval", "--data", str(DATA), "--queries", "50", "--lexical"])
    assert r.exit_code == 0, r.output
    assert "banking77 K=5" in r.output and "bm25-plain" in r.output and "(n=50)" in r.output


def test_eval_without_data_fails_cleanly(tmp_path: Path) -> None:
    r = CliRunner().invoke(kb, ["eval", "--data", str(tmp_path), "--lexical"])
    assert r.exit_code == 2 and "error [no-data]" in r.output
