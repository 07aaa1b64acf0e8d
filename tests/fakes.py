"""Test doubles for the fast tier (`pytest -m fast`): no model, no download, no torch.

`FakeEmbedder` satisfies `assistant.embedding.Encoder` the way simonw/llm's `EmbedDemo` stands in for a real
embedding model: each word token is hashed (blake2b, so the same on every run and machine) to a signed bucket
of a 384-d vector, and the sum is L2-normalised. Texts that share words get close vectors, texts that share
none are near-orthogonal, and the same text always gets the same vector. Use it for logic around the model
(chunk sync, writer bookkeeping, caching, filters), never for a claim about retrieval or answer quality.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from assistant.embedding import Encoder

WORD = re.compile(r"\w+", re.UNICODE)


class FakeEmbedder:
    """A deterministic bag-of-hashed-words encoder with the interface of `assistant.embedding.encoder.Embedder`."""

    def __init__(self, dimension: int = 384, *, label: str = "fake-hashed-words-384") -> None:
        self._dimension = dimension
        self._label = label
        self.calls = 0  # how many times `encode` ran (caching tests count on it)
        self.texts_encoded = 0

    @property
    def label(self) -> str:
        return self._label

    @property
    def dimension(self) -> int:
        return self._dimension

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self._dimension, dtype=np.float32)
        tokens = WORD.findall(text.lower())
        for token in tokens:
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self._dimension
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:  # no word at all: a fixed unit vector, like a model's output for punctuation
            vector[0] = 1.0
            return vector
        return vector / norm

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_encoded += len(texts)
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.stack([self._vector(t) for t in texts]).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


if TYPE_CHECKING:
    _conforms: Encoder = FakeEmbedder()  # mypy checks FakeEmbedder against the protocol (tests/fakes.py is in its files)
