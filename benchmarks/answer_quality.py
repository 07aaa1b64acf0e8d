"""Answer quality and refusal calibration on the bundled corpus (issue 5), plus extractive answer latency.

Prints, and writes to benchmarks/results/answer_quality.json:
- the best dense cosine of in-archive vs out-of-archive questions (tests/data), and the refusal rates of each
  candidate threshold with cosine alone and with the full gate (cosine + names + term coverage);
- refusal rates at the configured settings on the calibration sets and on the held-out set;
- citation precision of extractive answers against the hand-checked key (tests/data/citation_key.jsonl);
- extractive answer latency (search + answer, and the answer step alone), p50/p95.

    .venv/bin/python benchmarks/answer_quality.py                       # builds a temp index of corpus/issues
    .venv/bin/python benchmarks/answer_quality.py --dump-unkeyed /tmp/unkeyed.jsonl   # pairs to hand-check
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from common import CACHE, REPO, latency_stats, machine, machine_line, table, write_result  # isort: skip
from assistant.answer.extractive import _candidates, with_leads  # noqa: E402
from assistant.answer.gate import AnswerGate  # noqa: E402
from assistant.answer.quality import (  # noqa: E402
    CitationKey,
    QAItem,
    citation_precision,
    cited_sentences,
    heldout_questions,
    qa_items,
)
from assistant.config import Settings  # noqa: E402


def build_index(index_dir: Path) -> Settings:
    settings = Settings(index_dir=index_dir, feedback_file=index_dir / "feedback.jsonl")
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(settings)
    if not desk.store.current():
        print(f"indexing corpus/issues into {index_dir} ...", file=sys.stderr)
        desk.ingest([REPO / "corpus" / "issues"])
    return settings


def features(desk: Any, items: list[QAItem]) -> list[dict[str, Any]]:
    probe = AnswerGate(refuse_below=-1.0, min_coverage=0.0, passages=3)
    rows = []
    for item in items:
        q = item.question
        result = desk.search(q, as_of=item.as_of)
        cov = probe.check(q, result.hits)
        rows.append({"question": q, "origin": item.origin, "names": sorted(probe.question_terms(q)[1]),
                     "best_dense": round(cov.best_dense, 4), "coverage": round(cov.coverage, 3),
                     "missing_names": cov.missing_names, "missing_terms": cov.missing_terms})
    return rows


def refused(row: dict[str, Any], threshold: float, *, full: bool, min_coverage: float) -> bool:
    """The gate's rule (assistant/answer/verify.py AnswerGate) replayed at another threshold."""
    if not full:
        return row["best_dense"] < threshold
    margin = 0.1 if row["names"] and not row["missing_terms"] and not row["missing_names"] else 0.0
    return (row["best_dense"] < threshold - margin or bool(row["missing_names"])
            or row["coverage"] < min_coverage)


@click.command()
@click.option("--index-dir", type=click.Path(path_type=Path), default=CACHE / "answer-quality-index",
              show_default=True, envvar="NEWSDESK_BENCH_INDEX", help="Index of corpus/issues (built if missing).")
@click.option("--rounds", type=int, default=3, show_default=True, envvar="NEWSDESK_BENCH_ROUNDS",
              help="Latency rounds over the in-archive questions.")
@click.option("--dump-unkeyed", type=click.Path(path_type=Path), default=None, envvar="NEWSDESK_BENCH_DUMP",
              help="Write the (sentence, story) pairs the citation key lacks here, to be hand-checked.")
def main(index_dir: Path, rounds: int, dump_unkeyed: Path | None) -> None:
    from assistant.pipeline import Newsdesk

    info = machine()
    settings = build_index(index_dir)
    desk = Newsdesk(settings)
    desk.ask("warm-up: what did NVIDIA announce?")
    items = qa_items()
    ins = [i for i in items if i.in_archive]
    outs = [i for i in items if not i.in_archive]
    held = heldout_questions()
    f_in, f_out = features(desk, ins), features(desk, outs)

    print(machine_line(info))
    cos_in = np.array([r["best_dense"] for r in f_in])
    cos_out = np.array([r["best_dense"] for r in f_out])
    print(table("Best dense cosine of the top stories", ["set", "n", "min", "p10", "median", "p90", "max"], [
        ["in-archive", len(cos_in), *[float(np.percentile(cos_in, p)) for p in (0, 10, 50, 90, 100)]],
        ["out-of-archive", len(cos_out), *[float(np.percentile(cos_out, p)) for p in (0, 10, 50, 90, 100)]],
    ]))
    sweep = []
    for t in np.arange(0.30, 0.651, 0.025):
        row = [round(float(t), 3)]
        for full in (False, True):
            r_in = sum(refused(r, t, full=full, min_coverage=settings.refuse_min_coverage) for r in f_in)
            r_out = sum(refused(r, t, full=full, min_coverage=settings.refuse_min_coverage) for r in f_out)
            row += [f"{r_in}/{len(f_in)}", f"{r_out}/{len(f_out)}"]
        sweep.append(row)
    print(table("Refused at each threshold", ["refuse_below", "in (cos only)", "out (cos only)",
                                              "in (full gate)", "out (full gate)"], sweep))
    print("\nOut-of-archive questions the full gate lets through, and in-archive ones it refuses, at the setting:")
    for r in f_out:
        if not refused(r, settings.refuse_below, full=True, min_coverage=settings.refuse_min_coverage):
            print(f"  out, answered: {r['question']} (cos {r['best_dense']:.3f}, coverage {r['coverage']:.2f})")
    for r in f_in:
        if refused(r, settings.refuse_below, full=True, min_coverage=settings.refuse_min_coverage):
            print(f"  in, refused:   {r['question']} (cos {r['best_dense']:.3f}, coverage {r['coverage']:.2f}, "
                  f"missing names {r['missing_names']})")

    # End to end at the configured settings: what the user sees.
    key = CitationKey.load()
    pairs, rates, latency, answer_only = [], {}, [], []
    for label, group in (("in-archive", ins),
                         ("out-of-archive (out_of_archive.txt)", [i for i in outs if i.origin == "out_of_archive.txt"]),
                         ("out-of-archive (corpus_qa.jsonl)", [i for i in outs if i.origin == "corpus_qa.jsonl"]),
                         ("held-out in", [i for i in held if i.in_archive]),
                         ("held-out out", [i for i in held if not i.in_archive])):
        n_refused = 0
        for item in group:
            answer = desk.ask(item.question, as_of=item.as_of)
            n_refused += answer.refused
            if label == "in-archive" and not answer.refused:
                pairs.extend(cited_sentences(item.question, answer))
        rates[label] = {"refused": n_refused, "n": len(group)}
    cold: list[float] = []
    raw_encode: list[float] = []
    answerer = desk.answerer
    for _ in range(rounds):
        for item in ins:
            t0 = time.perf_counter()
            result = desk.search(item.question, as_of=item.as_of)
            searched = time.perf_counter() - t0
            # Cold: no cached sentence vectors, as for a question about stories nobody asked about yet.
            answerer.clear_cache()
            t1 = time.perf_counter()
            answerer.run(result.query, result.hits, result.query_vector)
            cold.append(time.perf_counter() - t1)
            # Cached: the same stories again (a follow-up, a popular question).
            t2 = time.perf_counter()
            answerer.run(result.query, result.hits, result.query_vector)
            answer_only.append(time.perf_counter() - t2)
            latency.append(searched + cold[-1])
            # The raw part the cold path is made of: embedding those candidate sentences, nothing else.
            texts = [c.text for c in _candidates(with_leads(result.hits, desk.story_leads)[:4])]
            t3 = time.perf_counter()
            desk.embedder.encode(texts)
            raw_encode.append(time.perf_counter() - t3)
    prec = citation_precision(pairs, key)
    print(table("Refusal at the settings", ["set", "refused", "n", "rate"],
                [[k, v["refused"], v["n"], v["refused"] / max(v["n"], 1)] for k, v in rates.items()]))
    print(f"settings: refuse_below={settings.refuse_below}, refuse_min_coverage={settings.refuse_min_coverage}")
    print(f"\ncitation precision (extractive, in-archive): {prec.value:.3f} "
          f"({prec.supported} supported, {prec.unsupported} unsupported, {len(prec.unkeyed)} not in the key)")
    lat, ans, cold_ans = latency_stats(latency), latency_stats(answer_only), latency_stats(cold)
    raw = latency_stats(raw_encode)
    print(table("Extractive answer latency (model loaded; 'cold' = candidate sentences embedded, 'cached' = seen "
                "before)", ["what", "n", "p50 ms", "p95 ms"],
                [["search + answer (cold)", lat["n"], lat["p50_ms"], lat["p95_ms"]],
                 ["answer step (cold)", cold_ans["n"], cold_ans["p50_ms"], cold_ans["p95_ms"]],
                 ["answer step (cached)", ans["n"], ans["p50_ms"], ans["p95_ms"]],
                 ["raw encode of the 4 top stories' candidate sentences", raw["n"], raw["p50_ms"],
                  raw["p95_ms"]]]))
    if dump_unkeyed:
        with dump_unkeyed.open("w") as fh:
            for p in prec.unkeyed:
                fh.write(json.dumps({"question": p.question, "sentence": p.sentence, "headline": p.headline,
                                     "supported": None}, ensure_ascii=False) + "\n")
        print(f"wrote {len(prec.unkeyed)} unkeyed pairs to {dump_unkeyed}")
    path = write_result("answer_quality", {
        "machine": info, "settings": {"refuse_below": settings.refuse_below,
                                      "refuse_min_coverage": settings.refuse_min_coverage},
        "in_archive": f_in, "out_of_archive": f_out, "sweep": sweep, "refusal": rates,
        "citation_precision": {"value": prec.value, "supported": prec.supported,
                               "unsupported": prec.unsupported, "unkeyed": len(prec.unkeyed)},
        "latency": {"search_and_answer_cold": lat, "answer_cold": cold_ans, "answer_cached": ans,
                    "raw_encode_candidates": raw}})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
