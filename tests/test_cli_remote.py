"""`newsdesk ask/search/coverage --url`: the question goes to a running app (a real `python app.py` on loopback)
and the output is the one the local command prints; failures are one line and exit 1; nothing heavy is imported
on that path."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from assistant.config import Settings
from tests.conftest import REPO, free_port, run_cli
from tests.index.conftest import AppProcess

QUESTION = "Who will supply HBM4 memory for AMD's MI455X?"
HEAVY = ("torch", "chromadb", "llama_index.core", "gradio", "gradio_client", "sentence_transformers", "httpx",
         "bm25s", "numpy")


@pytest.fixture(scope="module")
def app_url(seed_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = AppProcess({"NEWSDESK_INDEX_DIR": str(seed_index.index_dir)},
                     tmp_path_factory.mktemp("remote-app") / "app.log")
    try:
        app.wait()
        yield app.url.rstrip("/")
    finally:
        app.stop()


@pytest.fixture(scope="module")
def desk(seed_index: Settings, embedder: Any) -> Any:
    from assistant.pipeline import Newsdesk

    d = Newsdesk(seed_index)
    d.__dict__["embedder"] = embedder
    return d


def _ok(*args: str, **kw: Any) -> str:
    done = run_cli(*args, **kw)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_ask_through_the_app_prints_the_local_answer(app_url: str, desk: Any, seed_index: Settings) -> None:
    remote = json.loads(_ok("ask", "--json", "--url", app_url, QUESTION))
    local = json.loads(json.dumps(desk.ask(QUESTION).to_json()))
    assert remote == local
    assert remote["citations"] and not remote["refused"] and "Samsung" in remote["answer"]

    # The text output, byte for byte: the local command streams it, the remote one prints the app's answer.
    text = _ok("ask", QUESTION, env={"NEWSDESK_URL": app_url})
    assert text == _ok("ask", QUESTION, "--index-dir", str(seed_index.index_dir))
    assert remote["answer"] in text and "\nSources:\n[1] " in text
    for c in remote["citations"]:
        assert f"[{c['n']}] {c['issue']} ({c['date'] or 'date unknown'}) - {c['headline']}" in text


def test_search_and_coverage_through_the_app(app_url: str, desk: Any) -> None:
    found = json.loads(_ok("search", "Samsung HBM4", "--json", "--url", app_url))
    assert found == json.loads(json.dumps(desk.archive("Samsung HBM4", limit=20).to_json()))
    assert found["total"] == 1

    cov = json.loads(_ok("coverage", "HBM4", "--json", "--url", app_url, "--source", "Clustermind"))
    assert cov["total"] == 1 and cov["issues"][0]["stories"] == 1
    text = _ok("coverage", "HBM4", "--url", app_url, "--source", "Clustermind")
    assert "1 story in 1 issue, 1 undated" in text and "issues that covered it:" in text


def test_the_app_refusing_is_one_line(app_url: str) -> None:
    done = run_cli("ask", "--url", app_url, "   ")
    assert done.returncode == 1 and done.stderr.strip() == "error: the app refused: question is empty"
    wrong = run_cli("search", "x", "--url", app_url + "/not-here")
    assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert "no /search endpoint (HTTP 404)" in wrong.stderr


def test_app_down_is_one_line_and_exit_1() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    for args in (["ask", "What is new?"], ["search", "HBM4"], ["coverage", "HBM4", "--json"]):
        done = run_cli(*args, "--url", url, timeout=60)
        assert done.returncode == 1 and not done.stdout
        assert done.stderr.strip() == f"error: cannot reach the Newsdesk app at {url}: connection refused (is the " \
                                      "app running?)"
    refused = run_cli("ask", "q", "--issue", "x", env={"NEWSDESK_URL": url})
    assert refused.returncode == 1 and "--issue is not available with --url" in refused.stderr


def test_the_url_path_imports_nothing_heavy() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "assistant.cli.main", "ask", "--url", url, "q"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")}
    assert done.returncode == 1 and imported
    assert not [m for m in imported if m in HEAVY or m.split(".")[0] in HEAVY], sorted(imported & set(HEAVY))
