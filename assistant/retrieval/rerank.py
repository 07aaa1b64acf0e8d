"""Optional cross-encoder reranking (NEWSDESK_RERANKER = any sentence-transformers CrossEncoder name or path).

Off by default: no cross-encoder ships offline with Newsdesk, and a hub name only works where the model is
already in the local cache (nothing downloads at run time)."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from assistant.embedding.encoder import EmbeddingError
from assistant.embedding.isolation import model_failures


class RerankerError(EmbeddingError):
    """The configured cross-encoder cannot be loaded or run; shown as one line by the CLI."""


class CrossEncoderReranker:
    """Scores (question, passage) pairs with a CrossEncoder; scores are squashed to (0, 1) so they can be
    combined with the retriever's recency bonus on the same scale as cosine similarities."""

    def __init__(self, model: str, *, top_n: int = 20, device: str = "cpu", batch_size: int = 32) -> None:
        if not model.strip():
            raise ValueError("the reranker model name is empty")
        if top_n < 1:
            raise ValueError("top_n must be >= 1")
        self.model_name = model
        self.top_n = top_n
        self.device = device
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from sentence_transformers import CrossEncoder

                with model_failures(RerankerError, f"cannot load reranker {self.model_name!r} (NEWSDESK_RERANKER)"):
                    self._model = CrossEncoder(self.model_name, device=self.device)
            return self._model

    def scores(self, query: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        model = self._load()
        with model_failures(RerankerError, f"reranker {self.model_name!r} failed"):
            raw = model.predict([(query, t) for t in texts], batch_size=self.batch_size,
                                show_progress_bar=False, convert_to_numpy=True)
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 2:  # a multi-label head: take the last label as "relevant"
            raw = raw[:, -1]
        # Models with a sigmoid activation already return probabilities; logits are squashed here.
        if raw.min() < 0.0 or raw.max() > 1.0:
            raw = 1.0 / (1.0 + np.exp(-raw))
        return raw.astype(np.float32)
