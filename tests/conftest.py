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

offline_environment()


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
