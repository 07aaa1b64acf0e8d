"""Refusals on data sets Newsdesk was never tuned on (issue 11, item 3): does the answer refuse when its index
holds only topical but non-answering passages, and answer when the answering passages are there?

RGB (../shared/data/benchmarks/rgb/en_fact.json, Chen et al. AAAI 2024; CC BY-NC-SA 4.0): for each of the first
N queries, one index holds only that query's `negative` passages (must refuse) and another only its `positive`
passages (must answer). Instead of an index per query, ONE index holds every sampled query's negatives, one
Issue per query, and each question is asked with `Filters(issues=[its issue])`; likewise one index for the
positives. Every RGB issue carries the same date (RGB_DATE): undated stories would be dropped by a year window
("... in 2021?"), and a single date makes the time parser drop any window the archive cannot cover.

MultiHop-RAG (../shared/data/benchmarks/multihop-rag-500, Tang & Yang 2024; ODC-BY 1.0): the index that
`newsdesk eval multihop-rag` builds (the gold facts of the 500 sampled queries, assistant/evaluation/datasets.py,
cached by `prepare_index`). Its null queries (gold answer "Insufficient information.", no evidence) must be
refused; the others must be answered.

Default Settings throughout (the gate's thresholds are whatever assistant/config.py says); nothing is tuned.

    .venv/bin/python benchmarks/bench_refusals.py                 # 100 RGB queries, all 71 null queries
    .venv/bin/python benchmarks/bench_refusals.py --limit 10 --multihop-limit 20
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import click

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importable from tests as a file, too
from common import RESULTS, SHARED, machine, machine_line, write_result  # noqa: E402  # isort: skip

from assistant.config import Settings  # noqa: E402
from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.evaluation.datasets import EvalSet, load_multihop  # noqa: E402
from assistant.evaluation.runner import prepare_index  # noqa: E402
from assistant.pipeline import Newsdesk  # noqa: E402
from assistant.records import Answer, Filters, Issue, SourceKind, Story  # noqa: E402

BENCHMARKS = SHARED / "benchmarks"
RGB_FILE = "rgb/en_fact.json"
MULTIHOP_DIR = "multihop-rag-500"
CACHE = RESULTS / "eval-cache"
RGB_DATE = date(2023, 9, 1)  # RGB was built from web search results in 2023 (arXiv:2309.01431, September 2023)
TARGET_REFUSE = 0.9
TARGET_ANSWER = 0.9
NULL_ANSWERS = ("insufficient information", "insufficient info", "not enough information", "cannot be determined",
                "unanswerable")


# ------------------------------------------------------------------ data
def load_rgb(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """RGB rows in file order (JSON Lines: id, query, answer, negative, positive, ...), the first `limit`."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def rgb_issue_id(row: dict[str, Any], which: str) -> str:
    return f"rgb-{row['id']}-{which}"


def passages_issue(issue_id: str, title: str, passages: list[str], *, day: date | None = RGB_DATE,
                   source: str = "RGB") -> Issue:
    """One Issue whose Stories are `passages` (no headline, as RealTime QA's evidence paragraphs)."""
    issue = Issue(issue_id=issue_id, title=title, date=day, source_name=source, path=issue_id)
    for text in (t for t in (_clean(p) for p in passages) if t):
        issue.stories.append(Story(story_id=f"{issue_id}#{len(issue.stories)}", issue_id=issue_id,
                                   issue_title=title, index=len(issue.stories), headline="", body=text,
                                   date=day, source_kind=SourceKind.NEWSLETTER, source_name=source))
    return issue


def rgb_evalset(rows: list[dict[str, Any]], which: str) -> EvalSet:
    """Every row's `which` passages ("negative" or "positive") as that row's own Issue."""
    issues = [passages_issue(rgb_issue_id(r, which), f"RGB {r['id']} {which}", list(r.get(which) or []))
              for r in rows]
    return EvalSet(name=f"rgb-{which}", issues=[i for i in issues if i.stories], questions=[],
                   note=f"RGB en_fact: each query's {which} passages as one issue")


def is_null_answer(answer: str) -> bool:
    low = answer.strip().lower()
    return any(low.startswith(p) for p in NULL_ANSWERS)


def load_multihop_queries(folder: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(null queries, answerable queries) of the 500-query sample, in file order. Null: gold answer
    "Insufficient information." (the same 71 as question_type null_query, no evidence)."""
    queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))["queries"]
    truth = json.loads((folder / "ground_truth.json").read_text(encoding="utf-8"))
    null: list[dict[str, str]] = []
    answerable: list[dict[str, str]] = []
    for q in queries:
        gold = truth.get(str(q["id"]), {})
        item = {"id": str(q["id"]), "question": str(q["question"]), "type": str(q.get("question_type", "")),
                "gold": str(gold.get("answer", ""))}
        is_null = is_null_answer(item["gold"]) or item["type"] == "null_query" or not gold.get("evidence_list")
        (null if is_null else answerable).append(item)
    return null, answerable


# ------------------------------------------------------------------ asking
@dataclass
class Tally:
    """Questions that must be refused (expect="refuse") or answered (expect="answer")."""

    name: str
    expect: str
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.outcomes)

    @property
    def rate(self) -> float:
        """Share of the questions that went as expected (refused, or answered); 0.0 with no questions."""
        if not self.outcomes:
            return 0.0
        want = self.expect == "refuse"
        return sum(o["refused"] == want for o in self.outcomes) / self.n

    def to_json(self, *, outcomes: bool = True) -> dict[str, Any]:
        label = "refusal_rate" if self.expect == "refuse" else "answer_rate"
        out: dict[str, Any] = {"n": self.n, label: round(self.rate, 4), "expect": self.expect}
        extra = [o["gold_in_answer"] for o in self.outcomes if o.get("gold_in_answer") is not None]
        if self.expect == "answer" and extra:
            out["gold_in_answer_rate"] = round(sum(extra) / len(extra), 4)
        if outcomes:
            out["outcomes"] = self.outcomes
        return out


def open_desk(settings: Settings, embedder: Embedder) -> Newsdesk:
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = embedder  # one loaded model for every desk
    return desk


def _gold_in(answer: Answer, gold: object) -> bool | None:
    """Whether an answer's text holds the gold answer (RGB: a string or a list of alternatives); None if no gold."""
    golds = [str(g).lower() for g in _flat(gold) if str(g).strip()]
    if not golds:
        return None
    return not answer.refused and any(g in answer.answer.lower() for g in golds)


def _flat(value: object) -> list[object]:
    return [x for v in value for x in _flat(v)] if isinstance(value, list) else [value]


def ask_all(desk: Newsdesk, tally: Tally, items: list[dict[str, Any]],
            progress: Callable[[int, int], None] | None = None) -> Tally:
    """Ask each item's question (within its filters) and record the outcome."""
    for i, item in enumerate(items):
        start = time.perf_counter()
        answer = desk.ask(item["question"], filters=item.get("filters"))
        out = {"id": item["id"], "question": item["question"], "refused": bool(answer.refused),
               "kind": answer.kind, "ms": round((time.perf_counter() - start) * 1000, 1),
               "answer": answer.answer[:300], "cited_issues": sorted({c.issue_id for c in answer.citations})}
        if answer.gate:
            out["gate"] = {k: v for k, v in answer.gate.items() if isinstance(v, (str, int, float, bool))}
        if "answer_words" in item:
            out["answer_words_in_passages"] = item["answer_words"]
        if "gold" in item:
            out["gold"] = item["gold"]
            if tally.expect == "answer":
                out["gold_in_answer"] = _gold_in(answer, item["gold"])
        tally.outcomes.append(out)
        if progress:
            progress(i + 1, len(items))
    return tally


def answer_words_in(row: dict[str, Any], which: str) -> list[str]:
    """The gold answer's distinctive words (4+ letters, not in the question) that the row's `which` passages hold.
    RGB's negatives are web search results labelled as not answering; many do ("By winning the 2013 Wimbledon
    Championships, Murray became ..." for "Who won the men's singles Wimbledon in 2013?"), so the refusal rate is
    also reported over the negatives that hold none of the answer's words."""
    asked = set(re.findall(r"\w+", str(row.get("query", "")).lower()))
    words = {w for g in _flat(row.get("answer")) for w in re.findall(r"\w+", str(g).lower())
             if len(w) >= 4 and w not in asked}
    text = "\n".join(str(p) for p in row.get(which) or []).lower()
    return sorted(w for w in words if re.search(rf"\b{re.escape(w)}\b", text))


def rgb_items(rows: list[dict[str, Any]], which: str, present: set[str]) -> list[dict[str, Any]]:
    """Questions of the rows whose `which` issue exists (a row with no such passages is left out)."""
    return [{"id": str(r["id"]), "question": str(r["query"]), "gold": r.get("answer"),
             "filters": Filters(issues=[rgb_issue_id(r, which)]), "answer_words": answer_words_in(r, which)}
            for r in rows if rgb_issue_id(r, which) in present]


def run_rgb(rows: list[dict[str, Any]], *, settings: Settings, embedder: Embedder, cache_dir: Path,
            progress: Callable[[str], None] | None = None) -> dict[str, Tally]:
    tallies: dict[str, Tally] = {}
    for which, expect in (("negative", "refuse"), ("positive", "answer")):
        evalset = rgb_evalset(rows, which)
        desk = open_desk(prepare_index(evalset, settings=settings, embedder=embedder, cache_dir=cache_dir),
                         embedder)
        items = rgb_items(rows, which, {i.issue_id for i in evalset.issues})
        if progress:
            progress(f"RGB {which}s: {len(items)} questions over {evalset.documents} passages")
        tallies[which] = ask_all(desk, Tally(f"rgb-{which}", expect), items)
    return tallies


def run_multihop(*, settings: Settings, embedder: Embedder, cache_dir: Path, root: Path,
                 limit: int | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Tally]:
    """Null queries (first `limit`) must be refused, answerable ones (first `limit`) answered, over the index
    `newsdesk eval multihop-rag` uses."""
    evalset = load_multihop(root)
    desk = open_desk(prepare_index(evalset, settings=settings, embedder=embedder, cache_dir=cache_dir), embedder)
    null, answerable = load_multihop_queries(root / MULTIHOP_DIR)
    if limit:
        null, answerable = null[:limit], answerable[:limit]
    if progress:
        progress(f"MultiHop-RAG: {len(null)} null + {len(answerable)} answerable questions over "
                 f"{evalset.documents} facts")
    return {"null": ask_all(desk, Tally("multihop-null", "refuse"), null),
            "answerable": ask_all(desk, Tally("multihop-answerable", "answer"), answerable)}


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def run(*, limit: int | None = 100, multihop_limit: int | None = None, root: Path = BENCHMARKS,
        cache_dir: Path = CACHE, settings: Settings | None = None, embedder: Embedder | None = None,
        multihop: bool = True, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    info = machine()
    settings = settings or Settings()
    embedder = embedder or Embedder.from_settings(settings)
    t0 = time.perf_counter()
    rows = load_rgb(root / RGB_FILE, limit)
    rgb = run_rgb(rows, settings=settings, embedder=embedder, cache_dir=cache_dir, progress=progress)
    out: dict[str, Any] = {
        "machine": info, "embed_model": embedder.label,
        "settings": {k: _plain(getattr(settings, k)) for k in (
            "refuse_below", "refuse_min_coverage", "refuse_min_sentence", "refuse_require_type",
            "refuse_min_name_share", "refuse_excuse_known", "top_k", "answer_mode", "reranker")},
        "rgb": {"queries": len(rows), "date": RGB_DATE.isoformat(),
                "refuse_on_negatives": rgb["negative"].to_json(), "answer_on_positives": rgb["positive"].to_json(),
                "refuse_on_negatives_without_answer_words": Tally(
                    "rgb-negative-clean", "refuse",
                    [o for o in rgb["negative"].outcomes if not o.get("answer_words_in_passages")]).to_json(
                        outcomes=False)},
        "targets": {"rgb_refuse_on_negatives": TARGET_REFUSE, "rgb_answer_on_positives": TARGET_ANSWER},
    }
    if multihop:
        mh = run_multihop(settings=settings, embedder=embedder, cache_dir=cache_dir, root=root,
                          limit=multihop_limit, progress=progress)
        out["multihop"] = {"null_refused": mh["null"].to_json(), "answerable_answered": mh["answerable"].to_json()}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def summary_lines(res: dict[str, Any]) -> list[str]:
    rgb = res["rgb"]
    neg, pos = rgb["refuse_on_negatives"], rgb["answer_on_positives"]
    lines = [f"RGB en_fact, {rgb['queries']} queries (default Settings: refuse_below "
             f"{res['settings']['refuse_below']}, answer_mode {res['settings']['answer_mode']})",
             f"  refuse on negatives only: {neg['refusal_rate']:.3f} of {neg['n']} (target >= {TARGET_REFUSE}) "
             f"{'met' if neg['refusal_rate'] >= TARGET_REFUSE else 'MISSED'}",
             f"  answer on positives only: {pos['answer_rate']:.3f} of {pos['n']} (target >= {TARGET_ANSWER}) "
             f"{'met' if pos['answer_rate'] >= TARGET_ANSWER else 'MISSED'}"
             + (f"; gold answer in the text {pos['gold_in_answer_rate']:.3f}" if "gold_in_answer_rate" in pos
                else "")]
    clean = rgb.get("refuse_on_negatives_without_answer_words")
    if clean:
        lines.append(f"  refuse on the {clean['n']} negatives that hold no word of the gold answer: "
                     f"{clean['refusal_rate']:.3f} ({neg['n'] - clean['n']} of {neg['n']} hold one)")
    if "multihop" in res:
        null, ans = res["multihop"]["null_refused"], res["multihop"]["answerable_answered"]
        lines.append(f"MultiHop-RAG (facts index): null queries refused {null['refusal_rate']:.3f} of {null['n']}; "
                     f"answerable queries answered {ans['answer_rate']:.3f} of {ans['n']}")
    return lines


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True,
              help="RGB queries (first N of en_fact.json).")
@click.option("--multihop-limit", type=click.IntRange(min=1), default=None,
              help="First N null and first N answerable MultiHop-RAG queries (default: all 71 / 429).")
@click.option("--no-multihop", is_flag=True, help="RGB only.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=BENCHMARKS,
              show_default=True, help="Folder holding rgb/ and multihop-rag-500/.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=CACHE, show_default=True,
              help="Where the indexes are cached (the same cache as `newsdesk eval`).")
def main(limit: int, multihop_limit: int | None, no_multihop: bool, data_dir: Path, cache_dir: Path) -> None:
    """RGB refuse-on-negatives / answer-on-positives and MultiHop-RAG null-query refusals."""
    res = run(limit=limit, multihop_limit=multihop_limit, root=data_dir, cache_dir=cache_dir,
              multihop=not no_multihop, progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    for line in summary_lines(res):
        print(line)
    print("machine:", machine_line(res["machine"]), f"({res['seconds']} s)")
    print("wrote", write_result("refusals", res))


if __name__ == "__main__":
    main()
