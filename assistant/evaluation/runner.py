"""Run a data set through Newsdesk's retrieval and a plain dense-only baseline, on the same index, same run."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embedding.encoder import Embedder
from assistant.evaluation.datasets import EvalQuestion, EvalSet
from assistant.evaluation.metrics import Scores, first_rank, score
from assistant.index.reader import ReaderCache
from assistant.index.store import IndexStore
from assistant.ingest.issues import ingest_issues
from assistant.retrieval.retriever import HybridRetriever

SPLITS = ("all", "dev", "test")
SYSTEMS = ("dense", "bm25", "hybrid", "newsdesk")
DEPTH = 10


def split_of(question: EvalQuestion) -> str:
    """A fixed half of the groups (quiz weeks, issues) for tuning ("dev"), the other half held out ("test")."""
    digest = hashlib.sha1(f"newsdesk-split:{question.group or question.qid}".encode()).digest()
    return "dev" if digest[0] < 128 else "test"


def fingerprint(evalset: EvalSet, embedder: Embedder) -> str:
    digest = hashlib.sha1(embedder.label.encode())
    for issue in evalset.issues:
        for story in issue.stories:
            digest.update(f"{story.story_id}\0{story.date}\0{story.headline}\0{story.body}\0{story.source_name}"
                          .encode())
    return digest.hexdigest()[:12]


def prepare_index(evalset: EvalSet, *, settings: Settings, embedder: Embedder, cache_dir: Path,
                  progress: Callable[[int, int], None] | None = None) -> Settings:
    """The data set's index, built once and reused while its documents and the model stay the same."""
    index_dir = cache_dir / f"{evalset.name}-{fingerprint(evalset, embedder)}"
    eval_settings = settings.model_copy(update={"index_dir": index_dir,
                                                "feedback_file": index_dir / "feedback.jsonl"})
    if IndexStore(eval_settings).current() is None:
        ingest_issues(eval_settings, embedder, evalset.issues, fresh=True, progress=progress)
    return eval_settings


@dataclass
class SystemRun:
    name: str
    scores: Scores
    latency_ms: list[float] = field(default_factory=list)
    ranks: list[int | None] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = self.scores.to_json()
        if self.latency_ms:
            lat = np.asarray(self.latency_ms)
            out["latency_ms_p50"] = round(float(np.percentile(lat, 50)), 2)
            out["latency_ms_p95"] = round(float(np.percentile(lat, 95)), 2)
        return out


@dataclass
class EvalReport:
    dataset: str
    note: str
    split: str
    documents: int
    chunks: int
    systems: dict[str, SystemRun]
    settings: dict[str, Any]
    splits: list[str] = field(default_factory=list)  # each question's half, for per-half scores

    def split_scores(self) -> dict[str, dict[str, Any]]:
        """With --split all: each system's scores on the dev half (used for tuning) and the held-out half."""
        if self.split != "all" or not self.splits:
            return {}
        return {half: {name: score([r for r, s in zip(run.ranks, self.splits, strict=True) if s == half]).to_json()
                       for name, run in self.systems.items()} for half in ("dev", "test")}

    def to_json(self) -> dict[str, Any]:
        """Newsdesk's scores at the top level (hits@1, hits@5, hits@10, mrr@10, n), the others beside."""
        main = self.systems["newsdesk"].to_json()
        return {**main, "dataset": self.dataset, "split": self.split, "documents": self.documents,
                "chunks": self.chunks, "note": self.note,
                "baseline": self.systems["dense"].to_json(),
                "ablations": {k: v.to_json() for k, v in self.systems.items() if k not in ("newsdesk", "dense")},
                "halves": self.split_scores(), "settings": self.settings}


def _ranked(story_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(story_ids))


def evaluate(evalset: EvalSet, *, settings: Settings, embedder: Embedder, split: str = "all",
             limit: int | None = None, systems: tuple[str, ...] = ("dense", "newsdesk"),
             retriever: HybridRetriever | None = None) -> EvalReport:
    """Score each system on the questions of `split` (first `limit` of them). `settings` points at the
    data set's index; the Newsdesk retriever is built from the same settings a user's would be."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    questions = [q for q in evalset.questions if split == "all" or split_of(q) == split]
    if limit is not None:
        if limit < 1:
            raise ValueError("--limit must be at least 1")
        questions = questions[:limit]
    # The caller's retriever brings its own readers; only without one is a store opened on `settings`.
    newsdesk = retriever or HybridRetriever.from_settings(settings, readers=ReaderCache(IndexStore(settings)),
                                                          embedder=embedder)
    reader = newsdesk.readers.get()
    runs = {name: SystemRun(name=name, scores=score([])) for name in systems}

    # One batch encode of every distinct text is much faster than one call per question.
    plans = [newsdesk.plan(q.question, as_of=q.as_of) for q in questions] if "newsdesk" in systems else []
    texts = sorted({q.question for q in questions} | {p.text for p in plans})
    vectors = dict(zip(texts, embedder.encode(texts), strict=True)) if texts else {}

    for i, q in enumerate(questions):
        for name in systems:
            start = time.perf_counter()
            if name == "dense":
                ids = [h.chunk.story_id for h in reader.dense(vectors[q.question], k=DEPTH * 2)]
            elif name == "bm25":
                ids = [h.chunk.story_id for h in reader.search_lexical(q.question, k=DEPTH * 2)]
            elif name == "hybrid":  # fusion alone: no time awareness
                plan = newsdesk.plan(q.question, time_aware=False)
                ids = [h.chunk.story_id for h in newsdesk.run(plan, vectors[q.question], k=DEPTH).hits]
            else:
                plan = plans[i]
                ids = [h.chunk.story_id for h in newsdesk.run(plan, vectors[plan.text], k=DEPTH).hits]
            runs[name].latency_ms.append((time.perf_counter() - start) * 1000)
            runs[name].ranks.append(first_rank(_ranked(ids), q.gold, depth=DEPTH))
    for run in runs.values():
        run.scores = score(run.ranks)
    return EvalReport(
        dataset=evalset.name, note=evalset.note, split=split, documents=evalset.documents,
        chunks=reader.count(), systems=runs,
        settings={"lexical_weight": newsdesk.lexical_weight, "recency_weight": newsdesk.recency_weight,
                  "recency_half_life_days": newsdesk.half_life, "reranker": settings.reranker,
                  "candidates": newsdesk.candidates},
        splits=[split_of(q) for q in questions])


LABELS = {"dense": "dense only (baseline)", "bm25": "BM25 only", "hybrid": "fusion, no time awareness",
          "newsdesk": "Newsdesk pipeline"}


def report_lines(report: EvalReport) -> list[str]:
    """Plain-text table: the baseline first, Newsdesk last, same index, same questions."""
    n = report.systems["newsdesk"].scores.n
    lines = [f"{report.dataset}: {n} questions (split {report.split}), {report.documents} documents, "
             f"{report.chunks} chunks",
             f"{'system':<28}{'Hits@1':>8}{'Hits@5':>8}{'Hits@10':>9}{'MRR@10':>8}{'p50 ms':>9}{'p95 ms':>9}"]
    order = [s for s in ("dense", "bm25", "hybrid", "newsdesk") if s in report.systems]
    for name in order:
        data = report.systems[name].to_json()
        lines.append(f"{LABELS[name]:<28}{data['hits@1']:>8.3f}{data['hits@5']:>8.3f}{data['hits@10']:>9.3f}"
                     f"{data['mrr@10']:>8.3f}{data.get('latency_ms_p50', 0):>9.1f}{data.get('latency_ms_p95', 0):>9.1f}")
    for half, runs in report.split_scores().items():
        lines.append(f"  {half} half{' (held out from tuning)' if half == 'test' else ''}: "
                     + ", ".join(f"{LABELS[n].split(' (')[0]} Hits@5 {runs[n]['hits@5']:.3f} MRR@10 "
                                 f"{runs[n]['mrr@10']:.3f}" for n in ("dense", "newsdesk") if n in runs))
    s = report.settings
    lines.append(f"settings: lexical_weight {s['lexical_weight']}, recency_weight {s['recency_weight']}, "
                 f"half-life {s['recency_half_life_days']} days, reranker {s['reranker'] or 'off'}")
    if report.note:
        lines.append(f"note: {report.note}")
    return lines
