"""benchmarks/bench_refusals.py (issue 11, item 3): refusals on RGB's negative passages and MultiHop-RAG's null
queries. A small real run (real model, real index): the harness yields rates in [0, 1], each question searches
only its own issue, and a question whose index holds only unrelated passages is refused."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from assistant.config import Settings
from assistant.evaluation.datasets import EvalSet
from assistant.evaluation.runner import prepare_index
from assistant.records import Filters
from tests.requires import requires

REPO = Path(__file__).resolve().parent.parent.parent
BENCH = REPO.parent / "shared" / "data" / "benchmarks"
needs_rgb = requires((BENCH / "rgb" / "en_fact.json").is_file(), f"shared data missing: {BENCH / 'rgb'}")
needs_multihop = requires((BENCH / "multihop-rag-500").is_dir(), f"shared data missing: {BENCH / 'multihop-rag-500'}")


def _load_bench():
    name = "bench_refusals"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / "bench_refusals.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


bench = _load_bench()

# Nothing here says who won a tennis final or where a Super Bowl was played.
UNRELATED = [
    "A sourdough starter needs equal weights of flour and water, fed once a day and kept at room temperature "
    "until it doubles within six hours.",
    "Tide pools on rocky shores hold sea anemones, hermit crabs and periwinkles that survive hours of exposure "
    "at low tide.",
    "Repotting a fiddle-leaf fig is best done in spring, into a pot one size larger with fast-draining soil.",
    "The municipal library extended its weekend opening hours and added a seed-lending shelf for local "
    "gardeners.",
]


@needs_rgb
def test_rgb_harness_small_run(tmp_path: Path, embedder) -> None:
    res = bench.run(limit=10, multihop=False, root=BENCH, cache_dir=tmp_path, settings=Settings(),
                    embedder=embedder)
    neg, pos = res["rgb"]["refuse_on_negatives"], res["rgb"]["answer_on_positives"]
    assert res["rgb"]["queries"] == 10
    assert 0 < neg["n"] <= 10 and 0 < pos["n"] <= 10
    assert 0.0 <= neg["refusal_rate"] <= 1.0 and 0.0 <= pos["answer_rate"] <= 1.0
    assert 0.0 <= pos["gold_in_answer_rate"] <= pos["answer_rate"]
    # Each question is asked within its own issue: an answer cites nothing from another query's passages.
    for which, tally in (("negative", neg), ("positive", pos)):
        for o in tally["outcomes"]:
            assert set(o["cited_issues"]) <= {f"rgb-{o['id']}-{which}"}, o
            assert o["refused"] or o["cited_issues"], o
    lines = bench.summary_lines(res)
    assert "refuse on negatives only" in lines[1] and "answer on positives only" in lines[2]


@needs_rgb
def test_question_over_unrelated_passages_is_refused(tmp_path: Path, embedder) -> None:
    rows = bench.load_rgb(BENCH / bench.RGB_FILE, 10)
    wimbledon = next(r for r in rows if "Wimbledon in 2019" in r["query"])
    unrelated = bench.passages_issue("unrelated", "Unrelated passages", UNRELATED)
    answering = bench.passages_issue("answering", "Wimbledon 2019", wimbledon["positive"])
    evalset = EvalSet(name="refusal-unrelated", issues=[unrelated, answering], questions=[])
    desk = bench.open_desk(prepare_index(evalset, settings=Settings(), embedder=embedder, cache_dir=tmp_path),
                           embedder)
    tally = bench.ask_all(desk, bench.Tally("unrelated", "refuse"),
                          [{"id": "w", "question": wimbledon["query"], "filters": Filters(issues=["unrelated"])}])
    assert tally.rate == 1.0 and tally.outcomes[0]["refused"], tally.outcomes
    assert tally.outcomes[0]["cited_issues"] == []
    # The same question over an index of only the unrelated passages (no filter at all) is refused too.
    alone = EvalSet(name="refusal-unrelated-only", issues=[unrelated], questions=[])
    desk_alone = bench.open_desk(prepare_index(alone, settings=Settings(), embedder=embedder,
                                               cache_dir=tmp_path), embedder)
    assert desk_alone.ask(wimbledon["query"]).refused


@needs_multihop
def test_multihop_null_queries_split() -> None:
    null, answerable = bench.load_multihop_queries(BENCH / bench.MULTIHOP_DIR)
    assert len(null) == 71 and len(answerable) == 429  # SOURCE.md: 71 null_query, "Insufficient information."
    assert all(bench.is_null_answer(q["gold"]) and q["type"] == "null_query" for q in null)
    assert not any(bench.is_null_answer(q["gold"]) for q in answerable)


def test_tally_rates() -> None:
    refuse, answer = bench.Tally("r", "refuse"), bench.Tally("a", "answer")
    assert refuse.rate == 0.0 and refuse.to_json()["n"] == 0
    refuse.outcomes += [{"refused": True}, {"refused": False}]
    answer.outcomes += [{"refused": True}, {"refused": False}, {"refused": False}, {"refused": False}]
    assert refuse.rate == 0.5 and refuse.to_json()["refusal_rate"] == 0.5
    assert answer.rate == 0.75 and answer.to_json(outcomes=False) == {"n": 4, "answer_rate": 0.75,
                                                                      "expect": "answer"}
