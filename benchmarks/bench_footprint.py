"""Footprint of the web app over the 100k-chunk index: seconds from process start to serving (GET / answers
200), seconds to the first answer, and resident memory (RSS, from /proc) after answering questions through the
app's own API. Targets: RSS <= 1.5 GB, start to serving <= 10 s.

    .venv/bin/python benchmarks/bench_footprint.py                  # torch backend (the default)
    .venv/bin/python benchmarks/bench_footprint.py --backend onnx
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx

from app_startup import free_port  # isort: skip
from common import CACHE, REPO, machine, machine_line, rss_mib, table, verdict, write_result  # isort: skip
from big_index import big_index  # noqa: E402
from queries import QUESTIONS  # noqa: E402

RSS_TARGET_MIB = 1.5 * 1024
START_TARGET_S = 10.0


def tree_rss_mib(pid: int) -> float:
    """RSS of the process and its children (gradio starts none today; counted in case it does)."""
    total = rss_mib(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_rss_mib(int(c)) for c in children)


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(*, n: int, backend: str, answers: int, timeout: float) -> dict[str, Any]:
    from gradio_client import Client

    info = machine()
    index, index_info = big_index(n)
    port = free_port()
    env = {**os.environ, "NEWSDESK_INDEX_DIR": str(index), "NEWSDESK_PORT": str(port),
           "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_EMBED_BACKEND": backend, "NEWSDESK_ONNX_CACHE": str(CACHE / "onnx"),
           "NEWSDESK_FEEDBACK_FILE": str(CACHE / "footprint-feedback.jsonl"),
           "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    url = f"http://127.0.0.1:{port}/"
    start = time.perf_counter()
    log = CACHE / "footprint-app.log"
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py")], env=env, cwd=REPO,
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        serving = None
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise click.ClickException(f"the app exited with {proc.returncode}: {log.read_text()[-400:]}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    serving = time.perf_counter() - start
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        if serving is None:
            raise click.ClickException(f"the app did not serve {url} within {timeout:.0f} s")
        rss_serving = tree_rss_mib(proc.pid)
        client = Client(url, verbose=False, analytics_enabled=False)
        t = time.perf_counter()
        first = client.predict(QUESTIONS[0], api_name="/ask")
        first_answer = time.perf_counter() - start
        first_latency = time.perf_counter() - t
        rss_first = tree_rss_mib(proc.pid)
        for q in (QUESTIONS * 3)[1:answers]:
            client.predict(q, api_name="/ask")
        client.predict("OpenAI", api_name="/search")  # the archive tab's search over every chunk
        rss_after = tree_rss_mib(proc.pid)
        peak = peak_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        out.close()
    # The app prints how long building and launching the Gradio app took; the rest is Python imports.
    built = re.search(r"built and started in ([0-9.]+) s", log.read_text())
    return {
        "app_build_and_launch_s": float(built.group(1)) if built else None,
        "machine": info, "index": {"path": str(index), **index_info}, "backend": backend,
        "start_to_serving_s": round(serving, 2), "start_to_first_answer_s": round(first_answer, 2),
        "first_answer_latency_s": round(first_latency, 2), "first_answer_chars": len(str(first)),
        "rss_mib_serving": round(rss_serving), "rss_mib_after_first_answer": round(rss_first),
        "answers": answers, "rss_mib_after_answers_and_search": round(rss_after), "peak_rss_mib": round(peak),
        "rss_verdict": verdict(max(rss_after, peak), RSS_TARGET_MIB, at_most=True),
        "start_verdict": verdict(serving, START_TARGET_S, at_most=True),
    }


@click.command()
@click.option("--chunks", "n", type=int, default=100_000, show_default=True, envvar="NEWSDESK_BENCH_INDEX_CHUNKS",
              help="Size of the index the app serves (built once, cached).")
@click.option("--backend", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True,
              envvar="NEWSDESK_EMBED_BACKEND", help="Embedding backend of the app.")
@click.option("--answers", type=int, default=20, show_default=True, envvar="NEWSDESK_BENCH_ANSWERS",
              help="Questions answered through the app's API before the final RSS reading.")
@click.option("--timeout", type=float, default=180.0, show_default=True, envvar="NEWSDESK_BENCH_TIMEOUT",
              help="Seconds to wait for the app to serve.")
def main(n: int, backend: str, answers: int, timeout: float) -> None:
    """App start-up time and memory over the 100k-chunk index."""
    res = run(n=n, backend=backend, answers=answers, timeout=timeout)
    print(table(f"App footprint at {res['index']['chunks']} chunks, {res['backend']} backend",
                ["figure", "value", "target", "verdict"],
                [["process start to serving (s)", res["start_to_serving_s"], f"<= {START_TARGET_S:.0f}",
                  res["start_verdict"]],
                 ["  of which building + launching the Gradio app (s)", res["app_build_and_launch_s"], "", ""],
                 ["process start to first answer (s)", res["start_to_first_answer_s"], "", ""],
                 ["RSS when serving (MiB)", res["rss_mib_serving"], "", ""],
                 ["RSS after the first answer (MiB)", res["rss_mib_after_first_answer"], "", ""],
                 [f"RSS after {res['answers']} answers + an archive search (MiB)",
                  res["rss_mib_after_answers_and_search"], f"<= {RSS_TARGET_MIB:.0f}", res["rss_verdict"]],
                 ["peak RSS, VmHWM (MiB)", res["peak_rss_mib"], f"<= {RSS_TARGET_MIB:.0f}", ""]]))
    print("machine:", machine_line(res["machine"]))
    print("wrote", write_result(f"footprint-{res['backend']}", res))


if __name__ == "__main__":
    main()
