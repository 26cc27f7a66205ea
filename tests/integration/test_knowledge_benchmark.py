"""The knowledge benchmark runs at a tiny size (lexical only, no model) and reports well-formed
figures; timings are never asserted (they are recorded in docs/benchmarks.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import knowledge

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_tiny_lexical_run_is_well_formed() -> None:
    if not (DATA / "banking77" / "train.csv").exists():
        pytest.skip(f"BANKING77 not found under {DATA}")
    r = knowledge.run(
        ks=(5,),
        queries=60,
        french=(DATA / "banking77-fr").exists(),
        latency_articles=300,
        latency_runs=10,
        dense=False,
        data=DATA,
    )
    assert r["ok"] and "off" in r["dense"]
    s = r["sets"]["banking77 K=5"]
    assert (s["articles"], s["phrasings"], s["queries"]) == (77, 385, 60)
    assert set(s["metrics"]) == {"bm25-plain", "bm25"}
    for m in s["metrics"].values():
        assert 0 < m["top1"] <= m["mrr10"] <= 1 and m["n"] == 60
    lat = r["latency"]["lexical"]
    assert lat["articles"] == 300 and 0 < lat["p50_ms"] <= lat["p95_ms"]
    text = knowledge.format_result(r)
    assert "banking77 K=5" in text and "latency lexical over 300 articles" in text


def test_missing_data_is_a_skip_not_a_failure(tmp_path: Path) -> None:
    r = knowledge.run(data=tmp_path, dense=False)
    assert r["ok"] and "no data" in r["skipped"]
    assert knowledge.format_result(r).startswith("knowledge: skipped")
