"""Several app processes over one `chroma run` and one index folder, one writer (issue 14 item 5): each process
picks up a version the writer publishes without a restart, a process killed leaves the other answering, and server
mode makes no reader copies in the shared folder. The load test is benchmarks/bench_multiprocess.py."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.cli.remote import RemoteError, call
from assistant.ingest.issues import ingest_paths
from tests.conftest import SEED_DIR, make_settings
from tests.index.conftest import AppProcess, ChromaServer

AMD = "AMD + Samsung: HBM4 for the MI455X"
MARKER = "Zqlanternfish"


def ask(url: str, question: str) -> dict[str, Any]:
    """/ask over plain HTTP, as `newsdesk ask --url` and the load test call it."""
    value = call(url, "ask", [question, "", "", "", "", "auto", "json"])
    return dict(json.loads(value) if isinstance(value, str) else value)


def headlines(answer: dict[str, Any]) -> list[str]:
    return [str(c.get("headline")) for c in answer.get("citations", [])]


def marker_issue(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "2026-09-01-marker.md"
    path.write_text(f"""---
title: "Marker Weekly #1"
---

### Top News

#### [{MARKER} unveils a solar-powered lighthouse robot](https://example.com/{MARKER.lower()})

{MARKER}, a startup from Tromsø, unveiled a solar-powered lighthouse robot on September 1, 2026. The robot, called
{MARKER} Beacon, keeps coastal lights running through polar winters. {MARKER} said the first forty units ship to
Norwegian ports next spring.
""")
    return path


@pytest.mark.slow
def test_two_app_processes_one_server_one_writer(chroma_server: ChromaServer, tmp_path: Path, embedder) -> None:
    settings = make_settings(tmp_path / "idx", chroma_url=chroma_server.url, collection="twoapps")
    ingest_paths(settings, embedder, [SEED_DIR])
    env = {"NEWSDESK_INDEX_DIR": str(settings.index_dir), "NEWSDESK_CHROMA_URL": chroma_server.url,
           "NEWSDESK_COLLECTION": "twoapps", "NEWSDESK_FEEDBACK_FILE": str(settings.index_dir / "feedback.jsonl")}
    apps = [AppProcess(env, tmp_path / f"app-{n}.log") for n in range(2)]
    try:
        for app in apps:
            app.wait()
        for app in apps:
            assert AMD in headlines(ask(app.url, "Who will supply HBM4 memory for AMD's MI455X?"))

        # One writer (this process) publishes a new issue into the shared folder; both apps cite it, no restart.
        ingest_paths(settings, embedder, [marker_issue(tmp_path / "issues" / "markerdesk").parent])
        published = time.monotonic()
        for app in apps:
            deadline = published + 30
            while not any(MARKER in h for h in headlines(ask(app.url, f"What did {MARKER} announce?"))):
                assert time.monotonic() < deadline, f"{app.url} never cited the new version"
                time.sleep(0.1)
        # Server mode: the apps query the server, so the shared folder holds no private reader copies.
        readers = settings.index_dir / "readers"
        assert not readers.exists() or not any(readers.iterdir())

        # One process killed: the other keeps answering; the dead one refuses connections (a client retries on
        # the other one, as the load test does).
        os.kill(apps[1].proc.pid, signal.SIGKILL)
        apps[1].proc.wait(timeout=10)
        assert any(MARKER in h for h in headlines(ask(apps[0].url, f"What did {MARKER} announce?")))
        with pytest.raises(RemoteError, match="cannot reach"):
            ask(apps[1].url, f"What did {MARKER} announce?")
    finally:
        for app in apps:
            app.stop()
