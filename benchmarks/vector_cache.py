"""Embeddings of real chunk texts, computed once and kept on disk (default /tmp/newsdesk-bench/vectors), so the
benchmarks that need a large index (339 issues, 100k chunks) do not re-embed tens of thousands of chunks on
every run. They are computed with the ONNX backend (cosine 1.0000 to torch, see bench_onnx.py) and keyed by
the text's SHA-1 and the model's cache key; shards are written as they fill, so an interrupted fill resumes.

    .venv/bin/python benchmarks/vector_cache.py            # fill for Last Week in AI + This Week in Rust
    .venv/bin/python benchmarks/vector_cache.py --seed-from /tmp/nd-eval/last-week-in-ai \
        --seed-from /tmp/nd-eval/this-week-in-rust         # first take the vectors those indexes store

--seed-from takes the stored embeddings of an existing Newsdesk index built with the same bundled model (any
backend: torch and ONNX agree to 1e-6) for every chunk text it holds that the fill wants (same text = same SHA-1
key), so only the texts no index holds are embedded: a few seconds instead of ~15 minutes.
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
            self._write_shard([text_key(t) for t in part], vecs)
            done = min(i + SHARD, len(todo))
            rate = done / (time.perf_counter() - start)
            print(f"  vector cache {label}: {done}/{len(todo)} embedded ({rate:.1f}/s)", file=sys.stderr)

    def _write_shard(self, keys: list[str], vecs: np.ndarray) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        name = self.root / f"shard-{time.time_ns()}.npz"
        tmp = name.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.asarray(keys), vectors=vecs.astype(np.float32))
        tmp.replace(name)
        self.vectors.update(zip(keys, vecs, strict=True))

    def seed(self, index_dir: Path, texts: Iterable[str]) -> int:
        """Store the vectors the Newsdesk index at `index_dir` (its current version) holds for those of `texts`
        the cache lacks; returns how many. Refuses an index embedded with another model or dimension."""
        from assistant.config import Settings
        from assistant.index.reader import open_reader
        from assistant.index.store import IndexStore

        wanted = {text_key(t) for t in self.missing(texts)}
        if not wanted:
            return 0
        reader = open_reader(IndexStore(Settings(index_dir=index_dir, feedback_file=index_dir / "feedback.jsonl")))
        try:
            manifest = reader.manifest
            if "(bundled)" not in manifest.embed_model or manifest.dimension != self.embedder.dimension:
                raise click.ClickException(f"{index_dir}: embedded with {manifest.embed_model} "
                                           f"({manifest.dimension} dimensions), not the bundled model")
            keys: list[str] = []
            vecs: list[np.ndarray] = []
            total, offset = reader.count(), 0
            while offset < total:
                got = reader.collection.get(limit=5000, offset=offset, include=["documents", "embeddings"])
                if not got["ids"]:
                    break
                offset += len(got["ids"])
                for doc, vec in zip(got["documents"], got["embeddings"], strict=True):
                    key = text_key(doc or "")
                    if key in wanted:
                        wanted.discard(key)
                        keys.append(key)
                        vecs.append(np.asarray(vec, dtype=np.float32))
        finally:
            reader.close()
        for i in range(0, len(keys), SHARD):
            self._write_shard(keys[i:i + SHARD], np.vstack(vecs[i:i + SHARD]))
        return len(keys)

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
@click.option("--seed-from", "seeds", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A Newsdesk index folder (same bundled model) whose stored vectors fill the cache first; "
                   "repeatable.")
def main(rust: bool, seeds: tuple[Path, ...]) -> None:
    """Embed every chunk of the shared newsletters that the cache does not hold yet."""
    cache = VectorCache()
    print(f"cache {cache.root}: {len(cache)} vectors", file=sys.stderr)
    folders = [(LWIAI, "Last Week in AI")] + ([(TWIR, "This Week in Rust")] if rust else [])
    texts = {label: [c.text for c in real_chunks(folders=[folder])] for folder, label in folders}
    for index_dir in seeds:
        start = time.perf_counter()
        got = cache.seed(index_dir, [t for part in texts.values() for t in part])
        print(f"  seeded {got} vectors from {index_dir} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    for label, part in texts.items():
        cache.fill(part, label=label)
    print(f"cache {cache.root}: {len(cache)} vectors")


if __name__ == "__main__":
    main()
