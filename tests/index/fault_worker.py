"""A writer "zygote" for the fault suite: imports Newsdesk and loads the model once, then forks one child per
job, so 40+ writers can be killed with SIGKILL without paying ~10 s of imports each.

Protocol (one JSON object per line): stdin gets a job {"op": "ingest"|"rebuild"|"remove", "index_dir": ...,
"paths": [...], "target": ..., "kill_at": STEP or null, "reembed": bool, "settings": {...} (more Settings fields,
e.g. chroma_url), "server_kill_at": STEP, "server_pid": PID, "server_signal": "SIGKILL"|"SIGSTOP" (the Chroma
server dies or freezes at STEP)}; stdout answers {"pid": N} when the child started and {"pid": N, "exit": CODE,
"error": TRACEBACK, "error_type": NAME, "message": str(exception)} when it ended. The parent never runs
the model or opens Chroma itself, so the forked children start clean (no threads, no open databases).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from assistant.config import Settings, offline_environment

offline_environment()

import assistant.ingest.issues  # noqa: E402,F401 - imported before forking, so children start warm
import assistant.ingest.rebuild  # noqa: E402,F401
from assistant.embedding.encoder import Embedder  # noqa: E402


def run(job: dict, embedder: Embedder) -> None:
    from assistant.ingest.issues import ingest_paths, remove_target
    from assistant.ingest.rebuild import rebuild_index

    index_dir = Path(job["index_dir"])
    settings = Settings(index_dir=index_dir, feedback_file=index_dir / "feedback.jsonl",
                        keep_versions=job.get("keep", 3), **job.get("settings", {}))
    kill_at = job.get("kill_at")

    def fault(step: str) -> None:
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if step == job.get("server_kill_at"):
            # The Chroma server dies (SIGKILL) or freezes (SIGSTOP) at this step; the writer goes on.
            stop_server(int(job["server_pid"]), getattr(signal, job.get("server_signal", "SIGKILL")))
        if job.get("fail_at") == step:
            raise OSError(28, "No space left on device (injected)")

    if job["op"] == "ingest":
        report = ingest_paths(settings, embedder, [Path(p) for p in job["paths"]], fault=fault)
        if not report.issues:  # (an unchanged issue publishes no version: report.version is None then)
            raise RuntimeError(f"nothing ingested: {report.rejected}")
    elif job["op"] == "rebuild":
        rebuild_index(settings, embedder, fault=fault, reembed=job.get("reembed", False))
    elif job["op"] == "remove":
        remove_target(settings, embedder, job["target"], fault=fault)
    else:
        raise ValueError(f"unknown op {job['op']}")


def stop_server(pid: int, sig: signal.Signals) -> None:
    os.kill(pid, sig)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # dead (a zombie until the test reaps it) or stopped
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, IndexError):
            return
        if state in ("Z", "X", "T"):
            return
        time.sleep(0.01)


def main() -> None:
    embedder = Embedder()
    embedder._load()  # weights only: no forward pass in the parent (torch's thread pool is not fork-safe)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        err_file = Path(job["index_dir"]).parent / f".fault-worker-{os.getpid()}.err"
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                import torch

                torch.set_num_threads(1)
                run(job, embedder)
            except BaseException as exc:  # noqa: BLE001 - report, then exit without running the parent's handlers
                err_file.write_text(traceback.format_exc())
                err_file.with_suffix(".msg").write_text(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
                code = 1
            os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        error = err_file.read_text() if err_file.exists() else ""
        err_file.unlink(missing_ok=True)
        msg_file = err_file.with_suffix(".msg")
        raised = json.loads(msg_file.read_text()) if msg_file.exists() else {}
        msg_file.unlink(missing_ok=True)
        print(json.dumps({"pid": pid, "exit": os.waitstatus_to_exitcode(status), "error": error,
                          "error_type": raised.get("type", ""), "message": raised.get("message", "")}), flush=True)


if __name__ == "__main__":
    main()
