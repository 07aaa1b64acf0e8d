"""The fast tier's stand-in encoder keeps the `Encoder` contract that the real one keeps."""

from __future__ import annotations

import numpy as np

from assistant.embedding import Encoder
from assistant.embedding.encoder import Embedder
from tests.fakes import FakeEmbedder


def test_both_encoders_satisfy_the_protocol() -> None:
    assert isinstance(FakeEmbedder(), Encoder)
    assert isinstance(Embedder(), Encoder)  # constructing it loads nothing


def test_fake_vectors_are_deterministic_unit_rows_and_similar_for_similar_texts() -> None:
    fake = FakeEmbedder()
    texts = ["Samsung will supply HBM4 memory for AMD's MI455X", "AMD picks Samsung HBM4 memory for the MI455X",
             "Rust 1.90 ships a faster linker", ""]
    vectors = fake.encode(texts)
    assert fake.dimension == 384
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(FakeEmbedder().encode(texts), vectors)  # no per-process salt
    np.testing.assert_array_equal(fake.encode_one(texts[0]), vectors[0])
    assert vectors[0] @ vectors[1] > 0.4 > abs(float(vectors[0] @ vectors[2]))
    assert fake.encode([]).shape == (0, 384)
