"""The contract of an encoder: what the index writer, the retriever, the answerer and the verifier need from
the embedding model. `assistant.embedding.encoder.Embedder` (sentence-transformers or ONNX) is the real one;
`tests.fakes.FakeEmbedder` (hashed word tokens, no model) is the one unit tests use.

Usage::

    from assistant.embedding import Encoder
    from assistant.embedding.encoder import Embedder

    encoder: Encoder = Embedder()                  # loads the bundled all-MiniLM-L6-v2 on first encode
    vectors = encoder.encode(["HBM4 memory", "Rust 1.90 released"])
    assert vectors.shape == (2, encoder.dimension)  # float32 rows, each of L2 norm 1
    query = encoder.encode_one("Who supplies HBM4?")
    scores = vectors @ query                       # cosine similarities, since the rows are normalised
    print(encoder.label)                           # recorded in each index manifest as its embed_model
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Encoder(Protocol):
    """Texts in, L2-normalised float32 vectors out; deterministic for a given model."""

    @property
    def label(self) -> str:
        """A short model name. An index records it; a different label means the vectors are not comparable."""
        ...

    @property
    def dimension(self) -> int:
        """The length of every vector `encode` returns."""
        ...

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        """A (len(texts), dimension) float32 array of unit rows; (0, dimension) for no texts."""
        ...

    def encode_one(self, text: str) -> np.ndarray:
        """One unit vector of shape (dimension,): `encode([text])[0]`."""
        ...
