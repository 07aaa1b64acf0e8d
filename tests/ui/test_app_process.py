"""`python app.py` as a user starts it: on 127.0.0.1 by default, with empty caches and every non-loopback
connection refused and recorded, it serves the page and answers through /ask without touching the network.
(Its start-up time is measured by benchmarks/app_startup.py, not here.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.config import Settings
from tests.conftest import REPO, free_port
from tests.test_offline import offline_env

pytestmark = pytest.mark.slow


def test_app_serves_on_loopback_without_network(tmp_path: Path, seed_index: Settings) -> None:
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, **offline_env(tmp_path), "NEWSDESK_INDEX_DIR": str(seed_index.index_dir),
           "NEWSDESK_PORT": str(port), "NEWSDESK_FEEDBACK_FILE": str(tmp_path / "feedback.jsonl")}
    for name in ("NEWSDESK_HOST", "GRADIO_ANALYTICS_ENABLED", "NEWSDESK_ADMIN_PASSWORD"):
        env.pop(name, None)
    log = tmp_path / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    page = response.read().decode()
                    break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "the app did not start serving:\n" + log.read_text()
                time.sleep(0.2)
        assert "<title>Newsdesk</title>" in page or "Newsdesk" in page
        answer = Client(url, analytics_enabled=False, verbose=False).predict(
            "Who will supply HBM4 memory for AMD's MI455X?", api_name="/ask")
        assert "AMD + Samsung: HBM4 for the MI455X" in answer
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert f"Newsdesk is serving on http://127.0.0.1:{port}" in log.read_text()
    assert "Traceback" not in log.read_text(), log.read_text()
    network = Path(env["NETGUARD_LOG"])
    attempts = network.read_text() if network.exists() else ""
    assert attempts == "", f"the app tried to reach the network:\n{attempts}"
