"""Extractive answer latency at 100k chunks: Newsdesk.ask() end to end (search, sentence embedding, MMR,
citations), next to its search step alone, question by question in alternating order. Each answer starts with
the answerer's sentence-vector cache emptied (a new question). Target: p95 <= 300 ms.

    .venv/bin/python benchmarks/bench_answer.py
    .venv/bin/python benchmarks/bench_answer.py --profile
"""

from __future__ import annotations

import cProfile
import sys
import time
from typing import Any

import click

from common import latency_stats, machine, machine_line, profile_top, table, verdict, write_result  # isort: skip
from bench_query import open_desk  # noqa: E402
from big_index import big_index  # noqa: E402
from queries import QUESTIONS  # noqa: E402

from assistant.config import EmbedBackend  # noqa: E402

P95_TARGET_MS = 300.0


def run(*, n: int, repeat: int, backend: EmbedBackend, profile: bool) -> dict[str, Any]:
    info = machine()
    index, index_info = big_index(n)
    desk = open_desk(index, backend)
    t0 = time.perf_counter()
    desk.ask(QUESTIONS[0])
    cold_s = time.perf_counter() - t0
    for q in QUESTIONS[1:4]:
        desk.ask(q)
    ask_s: list[float] = []
    search_s: list[float] = []
    refused = 0
    # The answerer caches sentence vectors across questions; each timed answer starts without them (cold), the
    # figure a new question gets.
    clear = getattr(desk.answerer, "clear_cache", lambda: None)
    prof = cProfile.Profile() if profile else None
    for rep in range(repeat):
        for i, q in enumerate(QUESTIONS):
            for which in (("ask", "search") if (i + rep) % 2 == 0 else ("search", "ask")):
                if which == "ask":
                    clear()
                    if prof:
                        prof.enable()
                    t = time.perf_counter()
                    answer = desk.ask(q)
                    ask_s.append(time.perf_counter() - t)
                    if prof:
                        prof.disable()
                    refused += int(answer.refused)
                else:
                    t = time.perf_counter()
                    desk.search(q)
                    search_s.append(time.perf_counter() - t)
    print(f"  {len(ask_s)} answers", file=sys.stderr)
    a, s = latency_stats(ask_s), latency_stats(search_s)
    out: dict[str, Any] = {
        "machine": info, "index": {"path": str(index), **index_info}, "backend": backend.value,
        "answer_mode": desk.settings.answer_mode.value, "sentence_cache": "cleared before each answer", "questions": len(QUESTIONS), "repeat": repeat,
        "first_answer_cold_s": round(cold_s, 2), "ask": a, "search_only": s, "refused": refused,
        "answer_step_p50_ms": round(a["p50_ms"] - s["p50_ms"], 1),
        "target": f"p95 <= {P95_TARGET_MS:.0f} ms", "verdict": verdict(a["p95_ms"], P95_TARGET_MS, at_most=True),
    }
    if prof:
        out["profile_top"] = profile_top(prof)
    return out


@click.command()
@click.option("--chunks", "n", type=int, default=100_000, show_default=True, envvar="NEWSDESK_BENCH_INDEX_CHUNKS",
              help="Size of the index (built once, cached).")
@click.option("--repeat", type=int, default=2, show_default=True, envvar="NEWSDESK_BENCH_REPEAT",
              help="Passes over the question list.")
@click.option("--backend", type=click.Choice([b.value for b in EmbedBackend]), default="torch",
              show_default=True, envvar="NEWSDESK_EMBED_BACKEND", help="Embedding backend.")
@click.option("--profile", is_flag=True, envvar="NEWSDESK_BENCH_PROFILE",
              help="cProfile Newsdesk.ask and print its top functions.")
def main(n: int, repeat: int, backend: str, profile: bool) -> None:
    """Extractive answer p50/p95 end to end at 100k chunks."""
    res = run(n=n, repeat=repeat, backend=EmbedBackend(backend), profile=profile)
    print(table(f"Extractive answer at {res['index']['chunks']} chunks, {res['questions']} questions x "
                f"{res['repeat']}, {res['backend']} embedding ({res['refused']} refusals)",
                ["path", "p50 ms", "p95 ms", "target", "verdict"],
                [["newsdesk ask (end to end)", res["ask"]["p50_ms"], res["ask"]["p95_ms"], res["target"],
                  res["verdict"]],
                 ["its search step alone", res["search_only"]["p50_ms"], res["search_only"]["p95_ms"], "", ""]]))
    print(f"first answer after start: {res['first_answer_cold_s']} s")
    if "profile_top" in res:
        print(res["profile_top"])
    print("machine:", machine_line(res["machine"]))
    print("wrote", write_result(f"answer-{res['backend']}", res))


if __name__ == "__main__":
    main()
