"""The ONNX embedding backend: same vectors as torch on real chunks, a cache that is reused (without torch),
and clear errors. One export per session (a few seconds), shared by every test here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.config import EmbedBackend
from assistant.embedding.encoder import Embedder, EmbeddingError, default_model_path
from assistant.embedding.onnx import META, MODEL_FILE, OnnxEncoder, cache_folder, cache_key
from assistant.ingest.chunking import chunk_stories
from assistant.sources.newsletter import parse_issue
from tests.conftest import CORPUS_ISSUES, REPO, make_settings


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEncoder.for_model(str(default_model_path()), cache_dir=cache)
    return cache


@pytest.fixture(scope="session")
def real_texts() -> list[str]:
    """Chunks of the bundled Last Week in AI issue exactly as ingest makes them: short and long ones."""
    path = sorted((CORPUS_ISSUES / "last-week-in-ai").glob("*.md"))[0]
    texts = [c.text for c in chunk_stories(parse_issue(path).stories)]
    assert len(texts) >= 20
    return texts[:60]


def test_matches_torch_on_real_chunks(onnx_cache: Path, real_texts: list[str], embedder: Embedder) -> None:
    # batch_size 7 < len(texts): exercises the length sort and the restore of the input order.
    onnx = OnnxEncoder(cache_folder(str(default_model_path()), onnx_cache), batch_size=7)
    got = onnx.encode(real_texts)
    want = embedder.encode(real_texts)
    assert got.shape == want.shape == (len(real_texts), 384)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosine = (got * want).sum(axis=1)
    assert cosine.min() >= 0.999, f"worst cosine {cosine.min():.6f}"


def test_empty_input(onnx_cache: Path) -> None:
    onnx = OnnxEncoder(cache_folder(str(default_model_path()), onnx_cache))
    assert onnx.encode([]).shape == (0, 384)


def test_cache_is_reused_without_torch(onnx_cache: Path) -> None:
    folder = cache_folder(str(default_model_path()), onnx_cache)
    stamp = (folder / MODEL_FILE).stat().st_mtime_ns
    code = ("import sys; from pathlib import Path\n"
            "from assistant.embedding.encoder import default_model_path\n"
            "from assistant.embedding.onnx import OnnxEncoder\n"
            f"enc = OnnxEncoder.for_model(str(default_model_path()), cache_dir=Path({str(onnx_cache)!r}))\n"
            "v = enc.encode(['a sentence about language models'])\n"
            "print(v.shape[1], 'torch' in sys.modules)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-800:]
    assert done.stdout.split() == ["384", "False"]  # the cached export runs without importing torch
    assert (folder / MODEL_FILE).stat().st_mtime_ns == stamp  # not exported again
    assert len([p for p in onnx_cache.iterdir() if (p / META).is_file()]) == 1


def test_cache_key_follows_the_model_files(tmp_path: Path) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"1234")
    first = cache_key(str(model))
    assert cache_key(str(model)) == first
    (model / "model.safetensors").write_bytes(b"12345")  # retrained weights: a new export
    assert cache_key(str(model)) != first
    assert cache_folder(str(model), tmp_path).name.startswith("my-model-")


def test_settings_select_the_backend(tmp_path: Path, onnx_cache: Path, real_texts: list[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_EMBED_BACKEND", "onnx")
    monkeypatch.setenv("NEWSDESK_ONNX_CACHE", str(onnx_cache))
    settings = make_settings(tmp_path / "index")
    assert settings.embed_backend is EmbedBackend.ONNX
    embedder = Embedder.from_settings(settings)
    assert embedder.dimension == 384
    assert embedder.encode(real_texts[:3]).shape == (3, 384)
    assert embedder.label.endswith("[onnx]")


def test_default_cache_is_under_the_index_dir(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "index", embed_backend="onnx")
    assert Embedder.from_settings(settings).onnx_cache == tmp_path / "index" / "onnx-cache"


def test_unwritable_cache_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    embedder = Embedder(backend=EmbedBackend.ONNX, onnx_cache=blocker / "cache")
    with pytest.raises(EmbeddingError, match="NEWSDESK_ONNX_CACHE"):
        embedder.encode(["x"])


def test_dimension_without_loading_the_model(tmp_path: Path) -> None:
    # An ingest that embeds nothing records the dimension; it must not pay for importing torch.
    code = ("import sys\nfrom assistant.embedding.encoder import Embedder\n"
            "print(Embedder().dimension, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.stdout.split() == ["384", "False"], done.stderr[-800:]
    # A head after pooling changes the size: then the config is not trusted.
    folder = tmp_path / "with-dense"
    folder.mkdir()
    (folder / "modules.json").write_text('[{"type": "sentence_transformers.models.Transformer", "path": ""},'
                                         ' {"type": "sentence_transformers.models.Pooling", "path": "1_Pooling"},'
                                         ' {"type": "sentence_transformers.models.Dense", "path": "2_Dense"}]')
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text('{"word_embedding_dimension": 384}')
    assert Embedder(model=str(folder))._configured_dimension() is None
