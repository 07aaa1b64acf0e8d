"""Embeddings of real chunk texts, computed once and kept on disk (default /tmp/newsdesk-bench/vectors), so the
benchmarks that need a large index (339 issues, 100k chunks) do not re-embed tens of thousands of chunks on
every run. They are computed with the ONNX backend (cosine 1.0000 to torch, see bench_onnx.py) and keyed by
the text's SHA-1 and the model's cache key; shards are written as they fill, so an interrupted fill resumes.

    .venv/bin/python benchmarks/vector_cache.py            # fill for Last Week in AI + This Week in Rust
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import click
import numpy as np

from common import CACHE, LWIAI, TWIR, real_chunks  # isort: skip
from assistant.config import EmbedBackend  # noqa: E402
from assistant.embedding.encoder import Embedder, default_model_path  # noqa: E402

SHARD = 2048


def model_key() -> str:
    """The bundled model's identity (its weight and tokenizer files), whatever the ONNX export version."""
    folder = default_model_path()
    digest = hashlib.sha256(str(folder.resolve()).encode())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        st = (folder / name).stat()
        digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class VectorCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = (root or CACHE / "vectors") / model_key()
        self.vectors: dict[str, np.ndarray] = {}
        if self.root.is_dir():
            for shard in sorted(self.root.glob("shard-*.npz")):
                data = np.load(shard)
                for key, vec in zip(data["keys"], data["vectors"], strict=True):
                    self.vectors[str(key)] = vec
        self._embedder: Embedder | None = None

    def __len__(self) -> int:
        return len(self.vectors)

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = Embedder(backend=EmbedBackend.ONNX, batch_size=32, onnx_cache=CACHE / "onnx")
        return self._embedder

    def missing(self, texts: Iterable[str]) -> list[str]:
        seen: set[str] = set()
        out = []
        for text in texts:
            key = text_key(text)
            if key not in self.vectors and key not in seen:
                seen.add(key)
                out.append(text)
        return out

    def fill(self, texts: Sequence[str], *, label: str = "") -> None:
        todo = self.missing(texts)
        if not todo:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        for i in range(0, len(todo), SHARD):
            part = todo[i:i + SHARD]
            vecs = self.embedder.encode(part)
            keys = [text_key(t) for t in part]
            name = self.root / f"shard-{time.time_ns()}.npz"
            tmp = name.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.asarray(keys), vectors=vecs.astype(np.float32))
            tmp.replace(name)
            self.vectors.update(zip(keys, vecs, strict=True))
            done = min(i + SHARD, len(todo))
            rate = done / (time.perf_counter() - start)
            print(f"  vector cache {label}: {done}/{len(todo)} embedded ({rate:.1f}/s)", file=sys.stderr)

    def get(self, texts: Sequence[str]) -> np.ndarray:
        self.fill(texts)
        return np.vstack([self.vectors[text_key(t)] for t in texts]).astype(np.float32)


class CachedEmbedder(Embedder):
    """An Embedder that answers from the cache and embeds (then caches) only unseen texts: it builds the
    large base indexes quickly; it is never the embedder being measured."""

    def __init__(self, cache: VectorCache) -> None:
        super().__init__(backend=EmbedBackend.ONNX, onnx_cache=CACHE / "onnx")
        self.cache = cache

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return self.cache.get(texts)


@click.command()
@click.option("--rust/--no-rust", default=True, show_default=True, envvar="NEWSDESK_BENCH_RUST",
              help="Also embed This Week in Rust (the 100k-chunk index uses it).")
def main(rust: bool) -> None:
    """Embed every chunk of the shared newsletters that the cache does not hold yet."""
    cache = VectorCache()
    print(f"cache {cache.root}: {len(cache)} vectors", file=sys.stderr)
    cache.fill([c.text for c in real_chunks(folders=[LWIAI])], label="Last Week in AI")
    if rust:
        cache.fill([c.text for c in real_chunks(folders=[TWIR])], label="This Week in Rust")
    print(f"cache {cache.root}: {len(cache)} vectors")


if __name__ == "__main__":
    main()
