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


# ---------------------------------------------------------------- a cold CLI command (issue 14 item 6)
# `newsdesk ask/search/coverage/chat` build the desk with quick_start=True: with the torch backend they embed with
# the cached ONNX export when one exists, search with HybridSearch and read BM25 without LlamaIndex's wrappers.
QUESTIONS = ["What changed in the Rust compiler?", "Who will supply HBM4 memory for AMD's MI455X?",
             "Anthropic sues the Trump administration", "What did OpenAI release last month?",
             "When did we first cover Rust 2024 edition?"]
HEAVY = ("torch", "sentence_transformers", "transformers", "llama_index.core")


def test_a_reading_process_embeds_with_the_export(onnx_cache: Path, real_texts: list[str], embedder: Embedder,
                                                  tmp_path: Path) -> None:
    reading = Embedder(onnx_cache=onnx_cache, onnx_if_exported=True)  # the torch backend, as configured
    got = reading.encode(real_texts)
    assert reading._runs_onnx() and reading._model is None  # onnxruntime; the torch model never loaded
    assert ((got * embedder.encode(real_texts)).sum(axis=1)).min() >= 0.99999
    assert reading.label == embedder.label  # still the configured model and backend (it writes nothing)
    # No export in the cache (a fresh clone): torch, and nothing is exported behind the user's back.
    assert Embedder(onnx_cache=tmp_path / "none", onnx_if_exported=True)._runs_onnx() is False
    assert not (tmp_path / "none").exists()
    # A broken export: torch again, with a warning, rather than an error.
    broken = cache_folder(str(default_model_path()), tmp_path / "broken")
    broken.mkdir(parents=True)
    (broken / META).write_text((cache_folder(str(default_model_path()), onnx_cache) / META).read_text())
    (broken / MODEL_FILE).write_bytes(b"not a model")
    (broken / "tokenizer.json").write_text((cache_folder(str(default_model_path()), onnx_cache)
                                            / "tokenizer.json").read_text())
    assert Embedder(onnx_cache=tmp_path / "broken", onnx_if_exported=True)._runs_onnx() is False


def test_quick_start_desk_searches_and_answers_as_the_app_does(corpus_index, corpus_desk, onnx_cache: Path) -> None:
    from llama_index.core.base.base_retriever import BaseRetriever

    from assistant.pipeline import Newsdesk

    quick = Newsdesk(corpus_index.model_copy(update={"onnx_cache": onnx_cache}), quick_start=True)
    try:
        assert isinstance(corpus_desk.retriever, BaseRetriever)  # the app's: LlamaIndex's retriever
        assert not isinstance(quick.retriever, BaseRetriever)
        assert type(quick.readers.get().lexical.retriever).__name__ == "_Bm25Files"
        for question in QUESTIONS:
            want, got = corpus_desk.search(question), quick.search(question)
            assert [h.chunk.chunk_id for h in got.hits] == [h.chunk.chunk_id for h in want.hits], question
            assert [h.score for h in got.hits] == pytest.approx([h.score for h in want.hits], abs=1e-4)
            assert float(got.query_vector @ want.query_vector) >= 0.99999
            slow, fast = corpus_desk.ask(question), quick.ask(question)
            assert (fast.answer, fast.refused, fast.kind) == (slow.answer, slow.refused, slow.kind), question
            assert [c.chunk_id for c in fast.citations] == [c.chunk_id for c in slow.citations]
        assert quick.embedder._runs_onnx() and quick.embedder._model is None
    finally:
        quick.readers.close()


def _cold(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`newsdesk ARGS` in a fresh process, and which of HEAVY it imported."""
    code = ("import sys\nfrom assistant.cli.main import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    status = exc.code\n"
            f"print('IMPORTED', *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
            "sys.exit(status)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, timeout=300)
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("IMPORTED")][-1]
    return done, line.split()[1:]


def test_cold_cli_starts_without_torch_or_llamaindex(corpus_index, onnx_cache: Path, tmp_path: Path) -> None:
    import json

    index = ["--index-dir", str(corpus_index.index_dir)]
    with_export = {"NEWSDESK_ONNX_CACHE": str(onnx_cache)}
    done, heavy = _cold(["export-onnx", *index], with_export)
    assert done.returncode == 0 and "already exported" in done.stdout, done.stderr[-800:]
    assert heavy == []
    question = "Who will supply HBM4 memory for AMD's MI455X?"
    fast, heavy = _cold(["ask", "--json", question, *index], with_export)
    assert fast.returncode == 0, fast.stderr[-800:]
    assert heavy == []
    for args in (["search", "HBM4", *index], ["coverage", "Rust", *index]):
        done, heavy = _cold(args, with_export)
        assert done.returncode == 0 and heavy == [], (args, done.stderr[-800:])
    # A fresh clone (no export): torch is loaded, and the answer is the same.
    slow, heavy = _cold(["ask", "--json", question, *index], {"NEWSDESK_ONNX_CACHE": str(tmp_path / "empty")})
    assert slow.returncode == 0, slow.stderr[-800:]
    assert "torch" in heavy and "llama_index.core" not in heavy
    want, got = json.loads(slow.stdout), json.loads(fast.stdout)
    assert (got["answer"], got["refused"]) == (want["answer"], want["refused"])
    assert [c["headline"] for c in got["citations"]] == [c["headline"] for c in want["citations"]]
    assert [c["score"] for c in got["citations"]] == pytest.approx([c["score"] for c in want["citations"]],
                                                                   abs=1e-3)
