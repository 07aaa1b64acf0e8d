"""`newsdesk ask` (JSON keys, streaming text) and `newsdesk chat` as a user runs them: real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, free_port, run_cli


@pytest.mark.slow
def test_ask_json_keeps_the_spine_keys_and_adds_verification(seed_index) -> None:
    result = run_cli("ask", "--json", "Who will supply HBM4 memory for AMD's MI455X?",
                     "--index-dir", str(seed_index.index_dir))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"answer", "refused", "citations", "unsupported_dropped"} <= set(data)
    assert data["refused"] is False and data["unsupported_dropped"] == 0
    for c in data["citations"]:
        assert {"n", "issue", "date", "headline", "url", "snippet", "score", "supported"} <= set(c)
        assert c["supported"] is True


@pytest.mark.slow
def test_chat_rewrites_the_follow_up_and_answers_both(seed_index) -> None:
    env = {**os.environ, "NEWSDESK_INDEX_DIR": str(seed_index.index_dir)}
    lines = "What is AMD doing with Samsung?\nand what about NVIDIA?\n/quit\n"
    result = subprocess.run([sys.executable, "-m", "assistant.cli.main", "chat"], input=lines, capture_output=True,
                            text=True, env=env, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "searching for: What is NVIDIA doing with Samsung?" in result.stderr
    assert result.stdout.count("Sources:") + result.stdout.count("The archive does not cover this.") == 2
    assert "HBM4" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.slow
def test_unreachable_llm_server_is_one_line(seed_index) -> None:
    result = run_cli("ask", "What did NVIDIA announce at GTC 2026?", "--mode", "openai",
                     "--index-dir", str(seed_index.index_dir),
                     env={"NEWSDESK_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "NEWSDESK_LLM_MODEL": "m",
                          "NEWSDESK_LLM_TIMEOUT": "5"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "LLM server at http://127.0.0.1:" in errors[0]
