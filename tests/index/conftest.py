"""Fixtures of the index tests: a writer process that can be killed, a real `chroma run` server, and the
checks that say an index version is whole."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.conftest import REPO, SEED_DIR, free_port

SEED_FILE = SEED_DIR / "000_31baea9013c4bfac.txt"
ARTIFACTS = REPO / "test-artifacts" / "reliability"


def seed_variant(which: str) -> str:
    """Two states of the seed issue: "a" as shipped; "b" with one story changed and one story removed."""
    text = SEED_FILE.read_text()
    if which == "a":
        return text
    text = text.replace("Cisco, IBM, and Google Cloud", "Cisco, IBM, Oracle and Google Cloud")
    start = text.index("📸 Shutterstock Goes All-In")
    return text[:start] + text[text.index("That's it for today"):]


def expected_state(path: Path) -> set[tuple[str, str]]:
    """(chunk id, content hash) of what ingesting `path` as it is now must give."""
    from assistant.ingest.chunking import chunk_stories
    from assistant.sources.newsletter import parse_issue

    return {(c.chunk_id, c.content_hash) for c in chunk_stories(parse_issue(path).stories)}


def index_state(settings: Settings) -> tuple[str | None, set[tuple[str, str]], int]:
    """Open the current version the way a reader does and prove it whole: the manifest's count, the vector
    side and the BM25 side all agree. Returns (version, its chunks, manifest count)."""
    from assistant.index.reader import open_reader
    from assistant.index.store import IndexStore

    store = IndexStore(settings)
    version = store.current()
    if version is None:
        return None, set(), 0
    manifest = store.manifest(version)
    reader = open_reader(store, version)
    try:
        got = reader.collection.get(include=["metadatas"])
        dense = {(cid, str(m["content_hash"])) for cid, m in zip(got["ids"], got["metadatas"], strict=True)}
        lexical = {(str(r["node_id"]), str(r["content_hash"])) for r in reader.lexical.corpus}
        assert reader.count() == manifest.chunks == len(dense), (reader.count(), manifest.chunks)
        assert lexical == dense, "BM25 and Chroma disagree"
    finally:
        reader.close()
    return version, dense, manifest.chunks


def tree_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()


def published_digests(settings: Settings) -> dict[str, str]:
    from assistant.index.store import IndexStore

    store = IndexStore(settings)
    return {v: tree_digest(store.version_dir(v)) for v in store.chain()}


def write_artifact(name: str, data: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(json.dumps(data, indent=2))


# ---------------------------------------------------------------- the killable writer


@dataclass
class JobResult:
    pid: int
    exit: int
    error: str
    seconds: float
    error_type: str = ""  # the exception's class name and str(): what a user would have been shown
    message: str = ""


class FaultWorker:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.index.fault_worker"], cwd=REPO, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ready = self._read()
        assert ready.get("ready"), ready

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"fault worker died (exit {self.proc.poll()})")
        return dict(json.loads(line))

    def start(self, **job: Any) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return int(self._read()["pid"])

    def finish(self, started: float) -> JobResult:
        done = self._read()
        return JobResult(pid=done["pid"], exit=done["exit"], error=done["error"], seconds=time.monotonic() - started,
                         error_type=done.get("error_type", ""), message=done.get("message", ""))

    def run(self, *, kill_after: float | None = None, **job: Any) -> JobResult:
        started = time.monotonic()
        pid = self.start(**job)
        if kill_after is not None:
            time.sleep(max(0.0, kill_after - (time.monotonic() - started)))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it finished first
        return self.finish(started)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def fault_worker() -> Iterator[FaultWorker]:
    worker = FaultWorker()
    yield worker
    worker.close()


# ---------------------------------------------------------------- a real Chroma server


class ChromaServer:
    """`chroma run` (the Rust server shipped in the chromadb wheel) on a free loopback port; stopped by PID."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = path.parent / f"chroma-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> None:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or "chroma"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([chroma, "run", "--path", str(self.path), "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"chroma run did not answer within {timeout} s")

    def kill(self) -> None:
        """SIGKILL by PID, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data")
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------- the web app in its own process


class AppProcess:
    """`python app.py` on a free loopback port, configured through NEWSDESK_* variables; stopped by PID."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        full = {**os.environ, **env, "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_PORT": str(self.port),
                "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=full, stdout=out,
                                         stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app.py exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=5) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"app.py did not serve within {timeout} s: {self.log.read_text()[-3000:]}")

    def client(self) -> Any:
        from gradio_client import Client

        # gradio_client ignores GRADIO_ANALYTICS_ENABLED; without this it would call huggingface.co.
        return Client(self.url, analytics_enabled=False, verbose=False, download_files=False)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


# ---------------------------------------------------------------- hostile inputs


def make_junk(folder: Path) -> list[Path]:
    """Generated bad inputs: binary, empty, 50 MB of text, mixed and legacy encodings, hostile file names."""
    folder.mkdir(parents=True)
    rng = random.Random(7)
    story = "## {h}\n\nThe {h} story has enough words in it to be a story of its own, with a link.\n\n"
    files = {
        "binary.md": bytes(rng.randrange(256) for _ in range(4096)),
        "empty.txt": b"",
        "blank.md": b" \n\t\n",
        "nul-padded.txt": b"\x00" * 2048,
        "utf16.md": ("# UTF-16 issue\n\n" + story.format(h="Fjord pilots")).encode("utf-16"),
        "latin1.txt": ("Caf\u00e9 issue\n" + story.format(h="Se\u00f1ora ferry")).encode("latin-1"),
        "mixed-encodings.md": ("# Mixed\n\n" + story.format(h="Kiln \u2014 m\u00fcnster")).encode("utf-8")
        + "\n\nPlus caf\u00e9 in latin-1.\n".encode("latin-1") + "\n\u201cquoted\u201d\n".encode("cp1252"),
        "[bold red]markup.md": ("# Markup name\n\n" + story.format(h="Orchard robots")).encode(),
        "-rf.md": ("# Dash name\n\n" + story.format(h="Lighthouse keepers")).encode(),
        "..%2f..%2fetc%2fpasswd.md": b"root:x:0:0:root:/root:/bin/bash\n",
        "new\nline.md": ("# Newline name\n\n" + story.format(h="Tidal mills")).encode(),
        "feed.xml": b"<?xml version='1.0'?><rss><channel><title>x</title></channel></rss>",
        "no-suffix": b"plain words",
    }
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    bad_name = os.fsencode(folder) + b"/\xff\xfe-not-utf8.md"
    with open(bad_name, "wb") as fh:
        fh.write(("# Bytes name\n\n" + story.format(h="Saltmarsh herons")).encode())
    paths.append(Path(os.fsdecode(bad_name)))
    huge = folder / "huge-50mb.txt"
    with open(huge, "w") as fh:
        line = "All work and no play makes a newsletter a dull archive. " * 8 + "\n"
        for _ in range(50_000_000 // len(line) + 1):
            fh.write(line)
    paths.append(huge)
    os.mkfifo(folder / "pipe.md")
    paths.append(folder / "pipe.md")
    (folder / "loop").symlink_to(folder)  # a symlink loop: never followed
    (folder / "dangling.md").symlink_to(folder / "nowhere.md")
    paths.append(folder / "dangling.md")
    return paths
