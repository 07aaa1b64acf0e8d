"""The evaluation harness on the bundled corpus: a threshold on the hand-checked QA set, and `newsdesk eval`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.evaluation.datasets import load_corpus_qa
from assistant.evaluation.runner import evaluate, fingerprint
from tests.conftest import run_cli

# Measured on the bundled corpus (README "Retrieval"): Newsdesk Hits@5 1.00, MRR@10 0.93; these leave room for
# model or library drift (one question is 0.025) without letting a real regression through.
MIN_HITS5 = 0.92
MIN_MRR10 = 0.85


@pytest.fixture(scope="module")
def corpus_report(corpus_index, embedder):
    return evaluate(load_corpus_qa(), settings=corpus_index, embedder=embedder, systems=("dense", "newsdesk"))


def test_corpus_qa_threshold_and_ahead_of_dense(corpus_report) -> None:
    news, dense = corpus_report.systems["newsdesk"].scores, corpus_report.systems["dense"].scores
    assert news.n >= 25
    assert news.hits[5] >= MIN_HITS5, corpus_report.to_json()
    assert news.mrr10 >= MIN_MRR10, corpus_report.to_json()
    assert news.hits[5] >= dense.hits[5] and news.mrr10 >= dense.mrr10


def test_time_questions_in_the_qa_set_need_time_awareness(corpus_report) -> None:
    data = load_corpus_qa()
    timed = [i for i, q in enumerate(data.questions) if q.as_of is not None]
    assert len(timed) >= 5
    news, dense = corpus_report.systems["newsdesk"].ranks, corpus_report.systems["dense"].ranks
    assert all(news[i] is not None and news[i] <= 5 for i in timed), news
    mrr = {name: sum(1 / r for r in (ranks[i] for i in timed) if r) for name, ranks in (("news", news),
                                                                                      ("dense", dense))}
    assert mrr["news"] > mrr["dense"] + 1.0, mrr  # the as-of date and the phrases make the difference


@pytest.mark.slow
def test_eval_command_json_and_text(tmp_path: Path, corpus_index, embedder) -> None:
    # Seed the eval cache with the session's corpus index (same documents, same model) instead of re-embedding.
    cache = tmp_path / "cache"
    shutil.copytree(corpus_index.index_dir, cache / f"corpus-qa-{fingerprint(load_corpus_qa(), embedder)}")
    result = run_cli("eval", "corpus-qa", "--json", "--limit", "4", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"hits@1", "hits@5", "hits@10", "mrr@10", "n"} <= set(data) and data["n"] == 4
    assert set(data["baseline"]) >= {"hits@1", "hits@5", "hits@10", "mrr@10", "n"}
    text = run_cli("eval", "corpus-qa", "--limit", "4", "--cache-dir", str(cache), "--ablations")
    assert text.returncode == 0, text.stderr
    for label in ("dense only (baseline)", "BM25 only", "fusion, no time awareness", "Newsdesk pipeline"):
        assert label in text.stdout


def test_eval_command_bad_input(tmp_path: Path) -> None:
    result = run_cli("eval", "squad", "--cache-dir", str(tmp_path))
    assert result.returncode != 0 and "unknown data set 'squad'" in result.stderr
    assert "Traceback" not in result.stderr
