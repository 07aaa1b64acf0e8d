"""Incremental update: with the Last Week in AI archive indexed, what adding one new issue costs next to
embedding that issue alone, and what re-ingesting an unchanged issue embeds (must be 0).

The archive is the 338 other issues; the newest issue (2026-05-25, #341) is the "new" one, so after the add the
index holds all 339. The 338-issue base index is built once through `ingest_paths` (its vectors come from the
benchmark vector cache, see vector_cache.py) and cached under /tmp/newsdesk-bench/incremental/, keyed by the
files (--rebuild after an index format change); each round works on a fresh copy of it.

Timed per round, in alternating order: (A) Embedder.encode() on the new issue's chunks, (B) `ingest_paths` of
the new issue file into the copy; then (C) the same file again, unchanged. Target: B / A <= 1.3, C embeds 0.
--profile adds one untimed add on another fresh copy under cProfile and prints where its time goes.

    .venv/bin/python benchmarks/bench_incremental.py [--profile]
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import click

from common import CACHE, LWIAI, issue_files, machine, machine_line, table, verdict, write_result  # isort: skip
from bench_ingest import TimedEmbedder  # noqa: E402

from assistant.config import EmbedBackend, Settings  # noqa: E402
from assistant.ingest.chunking import chunk_stories  # noqa: E402
from assistant.ingest.issues import ingest_paths, parse_files  # noqa: E402

TARGET = 1.3
# Bump to invalidate cached base indexes (or pass --rebuild) when the on-disk index format changes.
BASE_FORMAT = 4


def settings_for(root: Path) -> Settings:
    return Settings(index_dir=root, feedback_file=root / "feedback.jsonl")


def base_key(files: list[Path]) -> str:
    digest = hashlib.sha256(f"format {BASE_FORMAT}\n".encode())
    for f in files:
        digest.update(f"{f.name}:{f.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def base_index(files: list[Path], *, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    from vector_cache import CachedEmbedder, VectorCache

    root = CACHE / "incremental" / base_key(files)
    ready = root / "READY"
    if ready.is_file() and not rebuild:
        return root / "index", {"cached": True}
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"  building the {len(files)}-issue base index in {root} (once)...", file=sys.stderr)
    start = time.perf_counter()
    report = ingest_paths(settings_for(root / "index"), CachedEmbedder(VectorCache()), files)
    seconds = time.perf_counter() - start
    ready.write_text(f"{report.chunks} chunks, built in {seconds:.1f} s\n")
    return root / "index", {"cached": False, "build_s": round(seconds, 1), "chunks": report.chunks}


class StepClock:
    """Fault hook that timestamps the writer's named steps, to show where an ingest's time goes."""

    def __init__(self) -> None:
        self.marks: list[tuple[str, float]] = []

    def start(self) -> None:
        self.marks = [("start", time.perf_counter())]

    def __call__(self, step: str) -> None:
        self.marks.append((step, time.perf_counter()))

    def spans(self) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for (a, t0), (b, t1) in zip(self.marks, self.marks[1:], strict=False):
            out[f"{a}->{b}"] += t1 - t0
        return dict(out)


def profile_add(base: Path, new_file: Path, embedder: Any) -> str:
    """cProfile of one add on a fresh copy of the base index: the top functions by cumulative time."""
    work = Path(tempfile.mkdtemp(prefix="nd-bench-incr-"))
    try:
        shutil.copytree(base, work / "index", ignore=shutil.ignore_patterns("readers", ".write.lock"))
        prof = cProfile.Profile()
        prof.enable()
        ingest_paths(settings_for(work / "index"), embedder, [new_file])
        prof.disable()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    buf = io.StringIO()
    # Newsdesk, Chroma, bm25s and file work only: the embedding itself is the part the ratio compares against.
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(
        r"assistant/(?!embedding)|chromadb/|bm25s/|shutil|json/", 30)
    return buf.getvalue()


def run(*, rounds: int, backend: EmbedBackend, rebuild: bool, base_issues: int | None,
        profile: bool = False) -> dict[str, Any]:
    info = machine()
    files = issue_files(LWIAI)
    new_file, old_files = files[-1], files[:-1]
    if base_issues is not None:  # a smaller archive, for a quick check of the script itself
        old_files = old_files[-base_issues:]
    base, base_info = base_index(old_files, rebuild=rebuild)
    issues, _ = parse_files([new_file])
    texts = [c.text for c in chunk_stories(issues[0].stories)]
    embedder = TimedEmbedder(backend=backend, onnx_cache=CACHE / "onnx")
    embedder.encode(texts[:8])  # load the model outside the timings

    alone: list[float] = []
    added: list[float] = []
    added_embed: list[float] = []
    again: list[float] = []
    embedded_add: list[int] = []
    embedded_again: list[int] = []
    spans: dict[str, list[float]] = defaultdict(list)
    clock = StepClock()
    for r in range(rounds):
        work = Path(tempfile.mkdtemp(prefix="nd-bench-incr-"))
        try:
            shutil.copytree(base, work / "index", ignore=shutil.ignore_patterns("readers", ".write.lock"))
            settings = settings_for(work / "index")
            for which in (("alone", "add") if r % 2 == 0 else ("add", "alone")):
                if which == "alone":
                    t0 = time.perf_counter()
                    embedder.encode(texts)
                    alone.append(time.perf_counter() - t0)
                else:
                    before = embedder.spent
                    clock.start()
                    t0 = time.perf_counter()
                    report = ingest_paths(settings, embedder, [new_file], fault=clock)
                    added.append(time.perf_counter() - t0)
                    added_embed.append(embedder.spent - before)
                    embedded_add.append(report.embedded)
                    for name, s in clock.spans().items():
                        spans[name].append(s)
            t0 = time.perf_counter()
            report = ingest_paths(settings, embedder, [new_file])
            again.append(time.perf_counter() - t0)
            embedded_again.append(report.embedded)
            chunks_total = report.chunks
        finally:
            shutil.rmtree(work, ignore_errors=True)
        print(f"  round {r + 1}/{rounds}: embed alone {alone[-1]:.2f} s, add {added[-1]:.2f} s, "
              f"unchanged {again[-1]:.2f} s", file=sys.stderr)
    ratio = sum(added) / sum(alone)
    profile_top = profile_add(base, new_file, embedder) if profile else None
    from assistant.index.store import IndexStore

    manifest = IndexStore(settings_for(base)).manifest()
    return {
        "machine": info, "backend": backend.value, "base": {**base_info, "issues": len(old_files),
                                                           "chunks": manifest.chunks},
        "new_issue": {"file": new_file.name, "chunks": len(texts), "chunks_in_ingest": chunks_total},
        "rounds": rounds, "embed_alone_s": alone, "add_s": added, "add_embedding_s": added_embed,
        "unchanged_s": again, "embedded_on_add": embedded_add, "embedded_on_unchanged": embedded_again,
        "ratio": round(ratio, 3), "target": f"<= {TARGET}", "verdict": verdict(ratio, TARGET, at_most=True),
        "unchanged_verdict": "met" if all(n == 0 for n in embedded_again) else "MISSED",
        "add_step_seconds_mean": {k: round(sum(v) / len(v), 3) for k, v in spans.items()},
        "load_avg_at_end": [round(x, 2) for x in os.getloadavg()],
        **({"profile_top": profile_top} if profile_top else {}),
    }


@click.command()
@click.option("--rounds", type=int, default=3, show_default=True, envvar="NEWSDESK_BENCH_ROUNDS",
              help="Rounds, each on a fresh copy of the cached base index.")
@click.option("--backend", type=click.Choice([b.value for b in EmbedBackend]), default="torch",
              show_default=True, envvar="NEWSDESK_EMBED_BACKEND", help="Embedding backend being measured.")
@click.option("--rebuild", is_flag=True, envvar="NEWSDESK_BENCH_REBUILD",
              help="Rebuild the cached 338-issue base index.")
@click.option("--base-issues", type=int, default=None, envvar="NEWSDESK_BENCH_BASE_ISSUES",
              help="Index only this many issues before the new one (default: all 338).")
@click.option("--profile", is_flag=True, envvar="NEWSDESK_BENCH_PROFILE",
              help="Also run one add under cProfile and print its top functions.")
def main(rounds: int, backend: str, rebuild: bool, base_issues: int | None, profile: bool) -> None:
    """Cost of adding one issue to the 339-issue archive, and of re-ingesting an unchanged one."""
    if rounds < 1:
        raise click.BadParameter("must be >= 1", param_hint="--rounds")
    res = run(rounds=rounds, backend=EmbedBackend(backend), rebuild=rebuild, base_issues=base_issues,
              profile=profile)
    n = res["new_issue"]["chunks"]
    print(table(f"Incremental: add {res['new_issue']['file']} ({n} chunks) to {res['base']['issues']} issues "
                f"({res['base']['chunks']} chunks), {res['rounds']} rounds, {res['backend']}",
                ["figure", "seconds (mean)", "ratio", "target", "verdict"],
                [["embed the issue alone (Embedder.encode)", sum(res["embed_alone_s"]) / res["rounds"], 1.0, "", ""],
                 ["newsdesk ingest of the new issue", sum(res["add_s"]) / res["rounds"], res["ratio"],
                  res["target"], res["verdict"]],
                 [f"re-ingest unchanged: embedded {res['embedded_on_unchanged']}",
                  sum(res["unchanged_s"]) / res["rounds"], "", "0 embedded", res["unchanged_verdict"]]]))
    print("where the add's time goes (writer steps, mean s):",
          ", ".join(f"{k} {v:.2f}" for k, v in res["add_step_seconds_mean"].items()))
    if "profile_top" in res:
        print(res["profile_top"])
    print("machine:", machine_line(res["machine"]), f"; load at end {res['load_avg_at_end'][0]}")
    print("wrote", write_result(f"incremental-{res['backend']}", res))


if __name__ == "__main__":
    main()
