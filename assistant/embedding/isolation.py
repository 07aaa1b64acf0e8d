"""The embedding package's one isolation point around third-party model code.

sentence-transformers, torch (and its ONNX exporter) and onnxruntime, handed a missing, truncated or foreign
model, raise errors with no common base: OSError, ValueError, RuntimeError, huggingface_hub's and safetensors'
own types, onnxruntime's pybind errors, even KeyError from a config without a field. Each becomes one
`NewsdeskError` line (our own errors pass through unchanged):

    with model_failures(EmbeddingError, f"cannot load embedding model {name!r}"):
        model = SentenceTransformer(name)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from assistant.errors import NewsdeskError


@contextmanager
def model_failures(error: Callable[[str], NewsdeskError], what: str) -> Iterator[None]:
    """Run model loading or inference; any failure becomes `error("<what>: <its message>")`."""
    try:
        yield
    except NewsdeskError:
        raise
    except Exception as exc:  # noqa: BLE001 - the one isolation point: model loaders raise errors of any type
        raise error(f"{what}: {exc}") from exc
