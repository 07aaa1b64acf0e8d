"""Ingest and ask with an empty HOME and empty caches, with every non-loopback connection refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO, SEED_DIR, run_cli


def offline_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    empty = tmp_path / "empty-cache"
    for d in (home, empty):
        d.mkdir()
    return {
        "HOME": str(home),
        "XDG_CACHE_HOME": str(empty),
        "HF_HOME": str(empty / "hf"),
        "SENTENCE_TRANSFORMERS_HOME": str(empty / "st"),
        "TORCH_HOME": str(empty / "torch"),
        "NLTK_DATA": str(empty / "nltk"),
        "TIKTOKEN_CACHE_DIR": str(empty / "tiktoken"),
        "HF_HUB_OFFLINE": "0",  # Newsdesk must not depend on the caller setting offline flags
        "PYTHONPATH": f"{REPO / 'tests' / 'fixtures' / 'netguard'}:{REPO}",
        "NETGUARD_LOG": str(tmp_path / "network.log"),
    }


@pytest.mark.model  # the CLI loads the model
def test_ingest_and_ask_offline_with_empty_caches(tmp_path: Path) -> None:
    env = offline_env(tmp_path)
    index = tmp_path / "idx"
    ingest = run_cli("ingest", str(SEED_DIR), "--index-dir", str(index), env=env)
    assert ingest.returncode == 0, ingest.stderr
    ask = run_cli("ask", "--json", "Who will supply HBM4 memory for AMD's MI455X?", "--index-dir", str(index),
                  env=env)
    assert ask.returncode == 0, ask.stderr
    assert json.loads(ask.stdout)["citations"][0]["headline"] == "AMD + Samsung: HBM4 for the MI455X"
    log = Path(env["NETGUARD_LOG"])
    attempts = log.read_text() if log.exists() else ""
    assert attempts == "", f"network access attempted:\n{attempts}"


def test_guard_is_active(tmp_path: Path) -> None:
    """The guard itself must refuse a non-loopback connection, or the test above proves nothing."""
    import subprocess
    import sys

    env = offline_env(tmp_path)
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError as e:\n    print('blocked', e)\n"
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env})
    assert "blocked" in out.stdout
    assert "192.0.2.1" in Path(env["NETGUARD_LOG"]).read_text()
