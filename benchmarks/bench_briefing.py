"""Briefings against the editors' own choices (the issue's "Done when"): a thin script over
assistant/evaluation/briefings.py, the code behind `newsdesk eval briefings`.

1. Last Week in AI weeks with a "Top News" section, every section heading removed: recall of Top News in the
   briefing's first 10 items, beside the plain baseline (newest stories) and two ablations.
2. This Week in Rust: no briefing leads with an event, job, quote or call for participation.
3. The five-newsletter weeks (Last Week in AI, This Week in Rust, LWKD, This Week In React, ML Papers of the
   Week): every newsletter's lead stories among the first 15 items.

Indexes are cached under /tmp/newsdesk-bench-brief (NEWSDESK_BENCH_BRIEF_CACHE), so reruns take seconds.

    .venv/bin/python benchmarks/bench_briefing.py [--twir-since 2025-06-01] [--lwai-history-since 2023-01-01]
"""

from __future__ import annotations

from datetime import date

import click

from common import write_result  # isort: skip
from assistant.config import Settings  # noqa: E402
from assistant.embedding.encoder import Embedder  # noqa: E402
from assistant.evaluation.briefings import run_all, summary_json  # noqa: E402


@click.command()
@click.option("--twir-since", default="2025-06-01", show_default=True, help="This Week in Rust issues from this date.")
@click.option("--lwai-history-since", default="2023-01-01", show_default=True,
              help="Last Week in AI issues indexed from this date (weeks scored: 2024 on).")
@click.option("--only", "parts", multiple=True, type=click.Choice(["lwai", "twir", "five"]),
              help="Only these parts (repeatable; default: all three).")
def main(twir_since: str, lwai_history_since: str, parts: tuple[str, ...]) -> None:
    embedder = Embedder.from_settings(Settings())
    result = run_all(embedder, twir_since=date.fromisoformat(twir_since),
                     lwai_history_since=date.fromisoformat(lwai_history_since),
                     parts=parts or ("lwai", "twir", "five"))
    path = write_result("bench_briefing", summary_json(result))
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
