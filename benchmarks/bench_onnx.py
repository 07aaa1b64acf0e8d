"""The ONNX backend (NEWSDESK_EMBED_BACKEND=onnx) against torch: agreement and speed, in one process.

1. Agreement: cosine between the onnxruntime and the sentence-transformers vector of each of 1,000 real chunks
   (target: every one >= 0.999).
2. Encoder speed: the two encoders on the same chunks, batch by batch in alternating order.
3. Pipeline speed: Newsdesk's ingest with each backend on the same issues, ABBA order (target >= 1.4x torch).
4. Export: seconds to export the bundled model into an empty cache, and to load it from the cache.

    .venv/bin/python benchmarks/bench_onnx.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click
import numpy as np

from common import machine, machine_line, real_chunks, table, verdict, write_result  # isort: skip
from bench_ingest import newsdesk_ingest, workload  # noqa: E402

from assistant.config import EmbedBackend  # noqa: E402
from assistant.embedding.encoder import Embedder, default_model_path  # noqa: E402
from assistant.embedding.onnx import OnnxEncoder  # noqa: E402

COSINE_TARGET = 0.999
SPEED_TARGET = 1.4


def export_times(model: str) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="nd-onnx-export-"))
    try:
        start = time.perf_counter()
        OnnxEncoder._shared.clear()
        OnnxEncoder.for_model(model, cache_dir=root)
        export_s = time.perf_counter() - start
        OnnxEncoder._shared.clear()
        start = time.perf_counter()
        OnnxEncoder.for_model(model, cache_dir=root)
        load_s = time.perf_counter() - start
        return {"export_s": round(export_s, 2), "cached_load_s": round(load_s, 3)}
    finally:
        OnnxEncoder._shared.clear()
        shutil.rmtree(root, ignore_errors=True)


def run(*, chunks: int, pipeline_chunks: int, rounds: int, batch: int) -> dict[str, Any]:
    from sentence_transformers import SentenceTransformer

    info = machine()
    model = str(default_model_path())
    export = export_times(model)
    texts = [c.text for c in real_chunks(chunks)]
    st = SentenceTransformer(model, device="cpu")
    onnx = OnnxEncoder.for_model(model, batch_size=32, cache_dir=Path(tempfile.gettempdir()) / "newsdesk-bench" / "onnx")
    st.encode(texts[:32], batch_size=32)
    onnx.encode(texts[:32])

    torch_vecs = np.zeros((len(texts), 384), dtype=np.float32)
    onnx_vecs = np.zeros_like(torch_vecs)
    t_torch = t_onnx = 0.0
    for i, start in enumerate(range(0, len(texts), batch)):
        part = texts[start:start + batch]
        for which in (("torch", "onnx") if i % 2 == 0 else ("onnx", "torch")):
            t0 = time.perf_counter()
            if which == "torch":
                torch_vecs[start:start + len(part)] = st.encode(part, batch_size=32, normalize_embeddings=True)
                t_torch += time.perf_counter() - t0
            else:
                onnx_vecs[start:start + len(part)] = onnx.encode(part)
                t_onnx += time.perf_counter() - t0
    cos = (torch_vecs * onnx_vecs).sum(axis=1)
    print(f"  encoders done: torch {len(texts) / t_torch:.1f}/s, onnx {len(texts) / t_onnx:.1f}/s", file=sys.stderr)

    work = workload(pipeline_chunks)
    embedders = {b: Embedder(backend=b, onnx_cache=Path(tempfile.gettempdir()) / "newsdesk-bench" / "onnx")
                 for b in (EmbedBackend.TORCH, EmbedBackend.ONNX)}
    for emb in embedders.values():
        emb.encode(work.texts[:32])
    pipe: dict[str, list[float]] = {"torch": [], "onnx": []}
    for r in range(rounds):
        order = (EmbedBackend.TORCH, EmbedBackend.ONNX) if r % 2 == 0 else (EmbedBackend.ONNX, EmbedBackend.TORCH)
        for backend in order:
            seconds, _ = newsdesk_ingest(work.files, embedders[backend])
            pipe[backend.value].append(seconds)
        print(f"  pipeline round {r + 1}/{rounds}: torch {pipe['torch'][-1]:.1f} s, onnx {pipe['onnx'][-1]:.1f} s",
              file=sys.stderr)
    n = len(work.texts)
    torch_rate = n * rounds / sum(pipe["torch"])
    onnx_rate = n * rounds / sum(pipe["onnx"])
    speedup = onnx_rate / torch_rate
    return {
        "machine": info, "export": export,
        "agreement": {"chunks": len(texts), "min_cosine": round(float(cos.min()), 6),
                      "mean_cosine": round(float(cos.mean()), 6), "target": f">= {COSINE_TARGET}",
                      "verdict": verdict(float(cos.min()), COSINE_TARGET, at_most=False)},
        "encoders": {"chunks": len(texts), "torch_chunks_per_s": round(len(texts) / t_torch, 2),
                     "onnx_chunks_per_s": round(len(texts) / t_onnx, 2), "speedup": round(t_torch / t_onnx, 3)},
        "pipeline": {"issues": len(work.files), "chunks": n, "rounds": rounds, "seconds": pipe,
                     "torch_chunks_per_s": round(torch_rate, 2), "onnx_chunks_per_s": round(onnx_rate, 2),
                     "speedup": round(speedup, 3), "target": f">= {SPEED_TARGET}",
                     "verdict": verdict(speedup, SPEED_TARGET, at_most=False)},
    }


@click.command()
@click.option("--chunks", type=int, default=1000, show_default=True, envvar="NEWSDESK_BENCH_CHUNKS",
              help="Real chunks compared vector by vector (and timed encoder against encoder).")
@click.option("--pipeline-chunks", type=int, default=400, show_default=True,
              envvar="NEWSDESK_BENCH_PIPELINE_CHUNKS", help="Chunks ingested per pipeline run.")
@click.option("--rounds", type=int, default=2, show_default=True, envvar="NEWSDESK_BENCH_ROUNDS",
              help="ABBA rounds of the pipeline comparison.")
@click.option("--batch", type=int, default=64, show_default=True, envvar="NEWSDESK_BENCH_BATCH",
              help="Chunks per alternation in the encoder comparison.")
def main(chunks: int, pipeline_chunks: int, rounds: int, batch: int) -> None:
    """ONNX vs torch: cosine on real chunks, encoder and pipeline speed, export time."""
    result = run(chunks=chunks, pipeline_chunks=pipeline_chunks, rounds=rounds, batch=batch)
    a, e, p = result["agreement"], result["encoders"], result["pipeline"]
    print(table("ONNX backend vs torch (all-MiniLM-L6-v2, CPU)", ["figure", "torch", "onnx", "ratio", "target",
                                                                "verdict"],
                [[f"cosine onnx vs torch, min over {a['chunks']} chunks", "", a["min_cosine"], "", a["target"],
                  a["verdict"]],
                 [f"encoder chunks/s ({e['chunks']} chunks)", e["torch_chunks_per_s"], e["onnx_chunks_per_s"],
                  e["speedup"], "", ""],
                 [f"newsdesk ingest chunks/s ({p['chunks']} chunks)", p["torch_chunks_per_s"],
                  p["onnx_chunks_per_s"], p["speedup"], p["target"], p["verdict"]],
                 ["export into an empty cache (s)", "", result["export"]["export_s"], "", "", ""],
                 ["load from the cache (s)", "", result["export"]["cached_load_s"], "", "", ""]]))
    print("machine:", machine_line(result["machine"]))
    print("wrote", write_result("onnx", result))


if __name__ == "__main__":
    main()
