"""Metrics, and the loaders on the real benchmark files and the hand-checked corpus QA file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.evaluation.datasets import (
    CORPUS_QA,
    MULTIHOP_NOTE,
    DatasetError,
    load,
    load_corpus_qa,
    load_multihop,
    load_realtimeqa,
)
from assistant.evaluation.metrics import first_rank, score
from assistant.evaluation.runner import split_of
from tests.conftest import SHARED
from tests.requires import requires

BENCH = SHARED / "benchmarks"
needs_benchmarks = requires((BENCH / "realtimeqa").is_dir(), f"shared data missing: {BENCH / 'realtimeqa'}")


def test_hits_and_mrr() -> None:
    assert first_rank(["a", "b", "c"], {"c"}) == 3
    assert first_rank(["a", "b"], {"z"}) is None
    assert first_rank([str(i) for i in range(20)], {"15"}) is None  # beyond depth 10
    s = score([1, 3, None, 7])
    assert s.n == 4
    assert s.hits == {1: 0.25, 5: 0.5, 10: 0.75}
    assert s.mrr10 == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert set(s.to_json()) == {"hits@1", "hits@5", "hits@10", "mrr@10", "n"}
    assert score([]).n == 0


@needs_benchmarks
def test_realtimeqa_loader_counts_and_dates() -> None:
    data = load_realtimeqa(BENCH.parent / "benchmarks")
    assert len(data.questions) == 5060 and data.documents == 5009
    texts = [s.body for i in data.issues for s in i.stories]
    assert not any("<a " in t or "href=" in t for t in texts)  # HTML stripped
    assert len(set(texts)) == len(texts)  # deduplicated
    q = data.questions[0]
    assert q.as_of is not None and len(q.gold) == 1
    story = next(s for i in data.issues for s in i.stories if s.story_id in q.gold)
    assert story.date is not None and story.date <= q.as_of  # dated by the first quiz that used it
    splits = {split_of(q) for q in data.questions}
    assert splits == {"dev", "test"}
    week = [q for q in data.questions if q.group == data.questions[0].group]
    assert len({split_of(q) for q in week}) == 1  # a quiz week never straddles the split


@needs_benchmarks
def test_multihop_loader_indexes_gold_facts_and_says_so() -> None:
    data = load_multihop(BENCH)
    assert len(data.questions) == 429  # 500 minus the 71 null queries
    assert data.documents == 438 and all(q.gold for q in data.questions)
    assert data.note == MULTIHOP_NOTE and "NOT the paper's protocol" in data.note


def test_corpus_qa_file_is_hand_checked_against_the_corpus() -> None:
    rows = [json.loads(line) for line in CORPUS_QA.read_text(encoding="utf-8").splitlines() if line.strip()]
    in_archive = [r for r in rows if r["gold_headlines"]]
    assert len(in_archive) >= 25 and len(rows) - len(in_archive) >= 5
    assert len({r["id"] for r in rows}) == len(rows)
    data = load_corpus_qa()  # raises if any gold headline is not a story in the corpus
    assert len(data.questions) == len(in_archive)
    assert all(q.gold for q in data.questions)


def test_bad_dataset_names_and_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="unknown data set"):
        load("squad")
    with pytest.raises(DatasetError, match="no RealTime QA files"):
        load_realtimeqa(tmp_path)
    bad = tmp_path / "qa.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q", "gold_headlines": ["No such headline"]}) + "\n")
    with pytest.raises(DatasetError, match="no story headed 'No such headline'"):
        load(str(bad))
