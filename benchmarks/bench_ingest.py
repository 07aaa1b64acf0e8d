"""Ingest speed: Newsdesk's whole ingest (parse, chunk, embed, Chroma upsert through LlamaIndex, BM25, validate,
publish) in chunks/s, next to raw SentenceTransformer.encode on the same chunks, in the same process.

The two are timed in ABBA order (raw, Newsdesk, Newsdesk, raw, ...) so a load change on a shared machine hits
both alike. Target: Newsdesk / raw >= 0.9.

    .venv/bin/python benchmarks/bench_ingest.py                 # ~1,000 chunks of Last Week in AI, CPU
    .venv/bin/python benchmarks/bench_ingest.py --backend onnx  # the pipeline on onnxruntime
    .venv/bin/python benchmarks/bench_ingest.py --device cuda --all   # on a GPU: the whole 339-issue archive
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from common import (  # isort: skip
    LWIAI, TimedEmbedder, issue_files, machine, machine_line, parse_folder, table, verdict, write_result,
)
from assistant.config import EmbedBackend, Settings  # noqa: E402
from assistant.embedding.encoder import Embedder, default_model_path  # noqa: E402
from assistant.ingest.chunking import chunk_stories  # noqa: E402

TARGET = 0.9


@dataclass
class Workload:
    files: list[Path]
    texts: list[str]


def workload(chunks: int | None) -> Workload:
    """The first LWIAI issues holding at least `chunks` chunks (all 339 issues when None)."""
    files = issue_files(LWIAI)
    issues = parse_folder(LWIAI)
    texts: list[str] = []
    picked: list[Path] = []
    by_path = {Path(i.path).resolve(): i for i in issues}
    for path in files:
        issue = by_path.get(path.resolve())
        if issue is None:
            continue
        picked.append(path)
        texts.extend(c.text for c in chunk_stories(issue.stories))
        if chunks is not None and len(texts) >= chunks:
            break
    return Workload(files=picked, texts=texts)


def newsdesk_ingest(files: list[Path], embedder: Embedder) -> tuple[float, int]:
    """One `newsdesk ingest FILES` into a fresh index; returns (seconds, chunks embedded)."""
    from assistant.ingest.issues import ingest_paths

    root = Path(tempfile.mkdtemp(prefix="nd-bench-ingest-"))
    try:
        settings = Settings(index_dir=root, feedback_file=root / "feedback.jsonl")
        start = time.perf_counter()
        report = ingest_paths(settings, embedder, files)
        return time.perf_counter() - start, report.embedded
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(*, chunks: int | None, rounds: int, backend: EmbedBackend, device: str, batch_size: int) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    info = machine()
    work = workload(chunks)
    model_path = str(default_model_path())
    raw = SentenceTransformer(model_path, device=device)
    embedder = TimedEmbedder(device=device, batch_size=batch_size, backend=backend,
                        onnx_cache=Path(tempfile.gettempdir()) / "newsdesk-bench" / "onnx")

    def raw_encode() -> float:
        start = time.perf_counter()
        raw.encode(work.texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                   show_progress_bar=False)
        if device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()
        return time.perf_counter() - start

    # Warm both: model load, first-call allocations, the ONNX export when it is not cached yet.
    raw.encode(work.texts[:batch_size], batch_size=batch_size)
    embedder.encode(work.texts[:batch_size])
    raw_s: list[float] = []
    nd_s: list[float] = []
    nd_embed_s: list[float] = []
    embedded = 0
    for r in range(rounds):
        order = ("raw", "nd") if r % 2 == 0 else ("nd", "raw")
        for which in order:
            if which == "raw":
                raw_s.append(raw_encode())
            else:
                before = embedder.spent
                seconds, embedded = newsdesk_ingest(work.files, embedder)
                nd_s.append(seconds)
                nd_embed_s.append(embedder.spent - before)
        print(f"  round {r + 1}/{rounds}: raw {raw_s[-1]:.1f} s, newsdesk {nd_s[-1]:.1f} s", file=sys.stderr)
    n = len(work.texts)
    raw_rate = n * len(raw_s) / sum(raw_s)
    nd_rate = n * len(nd_s) / sum(nd_s)
    ratio = nd_rate / raw_rate
    return {
        "machine": info, "device": device, "backend": backend.value, "batch_size": batch_size,
        "issues": len(work.files), "chunks": n, "embedded_per_ingest": embedded,
        "mean_words_per_chunk": round(sum(len(t.split()) for t in work.texts) / max(1, n), 1),
        "rounds": rounds, "raw_seconds": raw_s, "newsdesk_seconds": nd_s,
        "newsdesk_embedding_seconds": nd_embed_s,
        # Load-independent view: what the pipeline adds on top of its own encode() calls.
        "newsdesk_other_share": round(1 - sum(nd_embed_s) / sum(nd_s), 3),
        "raw_chunks_per_s": round(raw_rate, 2), "newsdesk_chunks_per_s": round(nd_rate, 2),
        "ratio": round(ratio, 3), "target": f">= {TARGET}", "verdict": verdict(ratio, TARGET, at_most=False),
    }


@click.command()
@click.option("--chunks", type=int, default=1000, show_default=True, envvar="NEWSDESK_BENCH_CHUNKS",
              help="Use the first Last Week in AI issues holding at least this many chunks.")
@click.option("--all", "all_issues", is_flag=True, envvar="NEWSDESK_BENCH_ALL",
              help="Use all 339 issues (a full re-embed of the archive; for a GPU run).")
@click.option("--rounds", type=int, default=4, show_default=True, envvar="NEWSDESK_BENCH_ROUNDS",
              help="ABBA rounds; each round runs raw encode and the Newsdesk ingest once.")
@click.option("--backend", type=click.Choice([b.value for b in EmbedBackend]), default="torch",
              show_default=True, envvar="NEWSDESK_EMBED_BACKEND", help="Embedding backend of the Newsdesk side.")
@click.option("--device", default="cpu", show_default=True, envvar="NEWSDESK_EMBED_DEVICE",
              help="torch device for both sides: cpu or cuda.")
@click.option("--batch-size", type=int, default=32, show_default=True, envvar="NEWSDESK_EMBED_BATCH_SIZE",
              help="Encoder batch size for both sides.")
def main(chunks: int, all_issues: bool, rounds: int, backend: str, device: str, batch_size: int) -> None:
    """Newsdesk ingest chunks/s against raw SentenceTransformer.encode, same chunks, same run."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise click.ClickException("--device cuda: no CUDA GPU here (torch.cuda.is_available() is False; "
                                       f"torch {torch.__version__}); run it on a GPU machine with a CUDA torch build")
    if rounds < 1:
        raise click.BadParameter("must be >= 1", param_hint="--rounds")
    result = run(chunks=None if all_issues else chunks, rounds=rounds, backend=EmbedBackend(backend),
                 device=device, batch_size=batch_size)
    print(table(f"Ingest: {result['chunks']} chunks from {result['issues']} issues "
                f"({result['mean_words_per_chunk']} words each), {result['rounds']} ABBA rounds, "
                f"{result['device']}, batch {result['batch_size']}",
                ["path", "chunks/s", "ratio", "target", "verdict"],
                [["raw SentenceTransformer.encode", result["raw_chunks_per_s"], 1.0, "", ""],
                 [f"newsdesk ingest ({result['backend']})", result["newsdesk_chunks_per_s"], result["ratio"],
                  result["target"], result["verdict"]]]))
    print(f"newsdesk time outside encode(): {100 * result['newsdesk_other_share']:.1f}% "
          f"(chroma upsert, BM25, validation, publish)")
    print("machine:", machine_line(result["machine"]))
    print("wrote", write_result(f"ingest-{result['backend']}-{result['device']}", result))


if __name__ == "__main__":
    main()
