"""A 100k-chunk Newsdesk index of real newsletter text, built once and cached (/tmp/newsdesk-bench/big-*).

Distinct text: every chunk Newsdesk makes from the shared Last Week in AI (339 issues, ~12.7k chunks) and This
Week in Rust (138 issues, ~28.8k chunks) archives, embedded once (vector_cache.py, ONNX = torch to 1e-6).
Replicas fill the rest up to the target: replica r of a chunk has its body sentences rotated by r, ids,
issue and source name marked "~r" / "(copy r)", and its vector perturbed: normalise(v + 0.01 * N(0, I)), a
cosine of about 0.98 to the original, so replicas sit next to their originals in the HNSW graph the way
reprinted stories do. Dates are kept, so date filters select across originals and replicas alike.
The index is written through Newsdesk's own IndexWriter (Chroma via LlamaIndex, BM25, validation, publish).
"""

from __future__ import annotations

import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from common import CACHE, LWIAI, TWIR, real_chunks  # isort: skip
from assistant.config import Settings  # noqa: E402
from assistant.records import Chunk, content_hash  # noqa: E402
from assistant.sources.text import split_sentences  # noqa: E402

NOISE = 0.01
# Bump to invalidate the cached index (or call big_index(rebuild=True)) when the on-disk index format changes.
FORMAT = 2


def settings_for(root: Path, **kw: Any) -> Settings:
    return Settings(index_dir=root, feedback_file=root / "feedback.jsonl", **kw)


def _key(n: int) -> str:
    digest = hashlib.sha256(f"{n}|{NOISE}|{FORMAT}|{LWIAI}|{TWIR}".encode())
    return digest.hexdigest()[:12]


def replica(chunk: Chunk, r: int) -> Chunk:
    head, _, body = chunk.text.partition("\n")
    sentences = split_sentences(body) if body else []
    if len(sentences) > 1:
        k = r % len(sentences)
        sentences = sentences[k:] + sentences[:k]
    text = f"{head}\n{' '.join(sentences)}" if sentences else chunk.text
    story = f"{chunk.story_id}~{r}"
    return replace(chunk, chunk_id=f"{story}:{chunk.chunk_index}", story_id=story, issue_id=f"{chunk.issue_id}~{r}",
                   issue_title=f"{chunk.issue_title} (copy {r})", source_name=f"{chunk.source_name} (copy {r})",
                   text=text, content_hash=content_hash(text, str(r), chunk.content_hash))


def corpus(n: int) -> tuple[list[Chunk], np.ndarray, int]:
    """n chunks and their vectors: the distinct real chunks first, then replicas. Returns (chunks, vectors,
    number of distinct chunks)."""
    from vector_cache import VectorCache

    distinct = real_chunks(folders=[LWIAI, TWIR])
    seen: set[str] = set()
    unique = [c for c in distinct if not (c.chunk_id in seen or seen.add(c.chunk_id))]  # type: ignore[func-returns-value]
    base = VectorCache().get([c.text for c in unique])
    chunks = list(unique[:n])
    parts = [base[: len(chunks)]]
    rng = np.random.default_rng(7)
    r = 1
    while len(chunks) < n:
        take = unique[: n - len(chunks)]
        chunks.extend(replica(c, r) for c in take)
        noisy = base[: len(take)] + NOISE * rng.standard_normal((len(take), base.shape[1]), dtype=np.float32)
        parts.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
        r += 1
    return chunks, np.vstack(parts).astype(np.float32), min(len(unique), n)


def big_index(n: int = 100_000, *, rebuild: bool = False) -> tuple[Path, dict[str, Any]]:
    """The index folder (a Newsdesk index_dir) holding n chunks, built if it is not cached yet."""
    import shutil

    from vector_cache import CachedEmbedder, VectorCache

    from assistant.index.store import IndexStore
    from assistant.index.writer import IndexWriter

    root = CACHE / f"big-{n}-{_key(n)}"
    ready = root / "READY"
    if ready.is_file() and not rebuild:
        return root / "index", {"cached": True, **_read_info(ready)}
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    print(f"  building the {n}-chunk index in {root} (once)...", file=sys.stderr)
    start = time.perf_counter()
    chunks, vectors, distinct = corpus(n)
    settings = settings_for(root / "index")
    with IndexWriter(IndexStore(settings), CachedEmbedder(VectorCache()), fresh=True) as writer:
        for i in range(0, len(chunks), 5000):
            writer.upsert(chunks[i:i + 5000], vectors[i:i + 5000])
    seconds = time.perf_counter() - start
    info = {"chunks": len(chunks), "distinct": distinct, "build_s": round(seconds, 1)}
    ready.write_text("\n".join(f"{k}={v}" for k, v in info.items()) + "\n")
    return root / "index", {"cached": False, **info}


def _read_info(path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for line in path.read_text().splitlines():
        k, _, v = line.partition("=")
        out[k] = float(v) if "." in v else int(v) if v.isdigit() else v
    return out


if __name__ == "__main__":
    print(big_index(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
