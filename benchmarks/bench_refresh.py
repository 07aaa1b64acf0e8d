"""Refresh speed: the 27 real feeds (../shared/data/feeds/real) served on 127.0.0.1, refreshed into an empty
index by Newsdesk's whole refresh (fetch, parse, clean, dedup, chunk, embed, Chroma upsert, BM25, validate,
publish). Reports entries per second of the first refresh, split into fetch+parse, embedding and the rest,
then a second refresh (every feed answers 304) and a forced one (every entry read and compared again).

    .venv/bin/python benchmarks/bench_refresh.py
    .venv/bin/python benchmarks/bench_refresh.py --backend onnx
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from common import SHARED, TimedEmbedder, machine, machine_line, table, write_result  # isort: skip
from assistant.config import EmbedBackend, Settings  # noqa: E402
from assistant.ingest.refresh import RefreshHooks, RefreshReport, refresh_feeds  # noqa: E402
from assistant.sources.feedlist import FeedList, FeedSpec  # noqa: E402
from tests.feedserver import FeedServer  # noqa: E402

REAL = SHARED / "feeds" / "real"


def run(settings: Settings, embedder: TimedEmbedder, *, force: bool = False) -> dict[str, Any]:
    marks: dict[str, float] = {}
    embedder.spent = 0.0
    start = time.perf_counter()

    def feed_done(_outcome: Any, done: int, total: int) -> None:
        if done == total:
            marks["read"] = time.perf_counter() - start

    report: RefreshReport = refresh_feeds(settings, embedder, force=force, hooks=RefreshHooks(feed_done=feed_done))
    total = time.perf_counter() - start
    entries = report.total("entries")
    return {"seconds": round(total, 2), "fetch_parse_s": round(marks.get("read", 0.0), 2),
            "embed_s": round(embedder.spent, 2), "rest_s": round(total - marks.get("read", 0.0) - embedder.spent, 2),
            "feeds": len(report.feeds), "failed": len(report.failed),
            "not_modified": sum(f.status == "not modified" for f in report.feeds), "entries": entries,
            "new": report.total("new"), "linked": report.total("linked"), "embedded": report.embedded,
            "entries_per_s": round(entries / total, 1) if entries else 0.0,
            "fetch_parse_entries_per_s": round(entries / marks["read"], 1) if entries and marks.get("read") else 0.0}


@click.command()
@click.option("--backend", type=click.Choice([b.value for b in EmbedBackend]), default="torch", show_default=True,
              help="Embedding backend.")
def main(backend: str) -> None:
    info = machine()
    work = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    try:
        with FeedServer() as srv:
            urls = [u for f, u in srv.add_dir(REAL).items() if f.name not in ("SOURCE.md", "LICENSE", "LICENSE-MIT")]
            flist = FeedList(path=work / "real.opml", feeds=[FeedSpec(url=u) for u in urls])
            flist.save()
            # The feeds are served on loopback, which the fetch policy refuses unless allowed.
            settings = Settings(index_dir=work / "index", feeds_file=flist.path, feedback_file=work / "fb.jsonl",
                                embed_backend=EmbedBackend(backend), fetch_allow="127.0.0.1")
            embedder = TimedEmbedder(model=settings.embed_model, backend=settings.embed_backend,
                                     batch_size=settings.embed_batch_size)
            embedder.encode(["warm up the model before the clock starts"])
            first = run(settings, embedder)
            second = run(settings, embedder)
            forced = run(settings, embedder, force=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = [[name, r["feeds"], r["failed"], r["not_modified"], r["entries"], r["new"], r["linked"], r["embedded"],
             r["fetch_parse_s"], r["embed_s"], r["rest_s"], r["seconds"], r["entries_per_s"]]
            for name, r in (("first refresh", first), ("second (304s)", second), ("forced re-read", forced))]
    print(f"machine: {machine_line(info)}; embedding backend {backend}")
    print(table("refresh of the 27 real feeds served on 127.0.0.1",
                ["run", "feeds", "failed", "304", "entries", "new", "linked", "embedded", "fetch+parse s",
                 "embed s", "rest s", "total s", "entries/s"], rows))
    print(f"first refresh: {first['entries_per_s']} entries/s overall; fetch+parse alone "
          f"{first['fetch_parse_entries_per_s']} entries/s; {first['embedded']} embeddings "
          f"({first['embedded'] / max(first['embed_s'], 1e-9):.1f} chunks/s while embedding)")
    path = write_result(f"refresh-{backend}", {"machine": info, "backend": backend, "first": first,
                                               "second": second, "forced": forced})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
