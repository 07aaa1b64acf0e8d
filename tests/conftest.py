"""Shared fixtures: real model, real Chroma, indexes built once per session in temporary folders."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings, offline_environment

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
SEED_DIR = REPO / "corpus" / "issues" / "clustermind"
CORPUS_ISSUES = REPO / "corpus" / "issues"
LWIAI = SHARED / "newsletters" / "skynet-today-last-week-in-ai"
TWIR = SHARED / "newsletters" / "this-week-in-rust"
LWKD = SHARED / "newsletters" / "lwkd"

offline_environment()

# ---------------------------------------------------------------- test tiers
# `fast` (`make test-fast`, `pytest -m fast`): no real model, no browser, no server (a CLI subprocess that stops
# before loading the model is fine). Marked here at collection: a test is fast unless it uses one of these
# fixtures (directly or through another fixture), lives in tests/ui, or carries `slow` or `model` (the mark for a
# test that loads the model without a fixture, e.g. through `run_cli`). Logic around the model can use the
# `fake_embedder` fixture (tests/fakes.py) and stay fast.
SLOW_FIXTURES = frozenset({
    "embedder", "seed_index", "corpus_index", "corpus_desk",  # the real model and the indexes built with it
    "fault_worker", "chroma_server",  # tests/index: a writer process with the model, a `chroma run` server
    "llm_server", "llm_settings", "llm_desk",  # tests/answer: llama.cpp serving SmolLM2
    "ui_settings", "ui_desk", "app_url", "chromium", "watched",  # tests/ui: the app and a browser
    "onnx_cache",  # tests/test_onnx_backend.py: an ONNX export of the model
    "seed_dir_index",  # tests/test_cli.py: `newsdesk ingest` in a subprocess, with the model
})
NOT_FAST_MARKS = ("slow", "model")
UI_TESTS = Path(__file__).resolve().parent / "ui"


def is_fast(item: pytest.Item) -> bool:
    if any(item.get_closest_marker(name) for name in NOT_FAST_MARKS):
        return False
    if UI_TESTS in Path(str(item.path)).parents:
        return False
    return not SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ()))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_fast(item):
            item.add_marker(pytest.mark.fast)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`requires(condition, reason)` marks (tests/requires.py): skip locally, fail under CI=true."""
    from tests.requires import require

    for mark in item.iter_markers("requires"):
        require(mark.kwargs["condition"], mark.kwargs["reason"])


@pytest.fixture(autouse=True)
def _fast_tests_never_load_the_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps the `fast` tier honest: in this process, a fast test that reaches the real model fails at once."""
    if request.node.get_closest_marker("fast") is None:
        return
    from assistant.embedding.encoder import Embedder

    def refuse(self: Embedder) -> None:
        raise AssertionError(f"{request.node.nodeid} is marked fast but loads the embedding model: use the "
                             "fake_embedder fixture, or mark it @pytest.mark.model")

    monkeypatch.setattr(Embedder, "_load", refuse)  # (ONNX exports go through the `onnx_cache` fixture)


@pytest.fixture
def fake_embedder():
    """A deterministic hashed-words encoder (tests/fakes.py): the `Encoder` contract without the model."""
    from tests.fakes import FakeEmbedder

    return FakeEmbedder()


def make_settings(index_dir: Path, **kw: object) -> Settings:
    return Settings(index_dir=index_dir, feedback_file=index_dir / "feedback.jsonl", **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def embedder():
    from assistant.embedding.encoder import Embedder

    return Embedder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:
    from assistant.ingest.issues import ingest_paths

    settings = make_settings(tmp_path_factory.mktemp("seed-index"))
    ingest_paths(settings, embedder, [SEED_DIR])
    return settings


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, embedder) -> Settings:
    from assistant.ingest.issues import ingest_paths

    settings = make_settings(tmp_path_factory.mktemp("corpus-index"))
    ingest_paths(settings, embedder, [CORPUS_ISSUES])
    return settings


@pytest.fixture(scope="session")
def corpus_desk(corpus_index: Settings, embedder):
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(corpus_index)
    desk.__dict__["embedder"] = embedder  # share the loaded model across tests
    return desk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The real `newsdesk` command in a subprocess, as a user runs it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "assistant.cli.main", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)
