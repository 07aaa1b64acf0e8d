"""Web app start-up (issue 8): seconds from `python app.py` to the first 200 on /, and to the first /ask answer.

Starts the real app as a subprocess on a free loopback port, several times, on a built index, and prints
p50/max against the 10 s target. Writes benchmarks/results/app_startup.json.

    .venv/bin/python benchmarks/app_startup.py                          # indexes/ (or a temp index of the corpus)
    .venv/bin/python benchmarks/app_startup.py --index-dir /tmp/idx --runs 5
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import click

from common import REPO, machine, machine_line, table, verdict, write_result  # isort: skip

TARGET_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, *, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far: unlike wall time, it does not grow when
    other jobs share the cores, so it shows what the start-up costs on an idle machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(index_dir: Path, question: str) -> tuple[float, float, float]:
    from gradio_client import Client

    port = free_port()
    env = {**os.environ, "NEWSDESK_INDEX_DIR": str(index_dir), "NEWSDESK_PORT": str(port)}
    env.pop("NEWSDESK_HOST", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        if not wait_for(url, deadline=started + 120):
            raise SystemExit(f"the app did not serve {url} within 120 s")
        serving = time.monotonic() - started
        cpu = cpu_seconds(proc.pid)
        Client(url, analytics_enabled=False, verbose=False).predict(question, api_name="/ask")
        answered = time.monotonic() - started
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return serving, cpu, answered


@click.command()
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_INDEX_DIR",
              help="A built index (default: indexes/ when it holds one, else a temp index of corpus/issues).")
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True, help="Start-ups to time.")
@click.option("--question", default="Who will supply HBM4 memory for AMD's MI455X?", show_default=True,
              help="The first question asked.")
def main(index_dir: Path | None, runs: int, question: str) -> None:
    """Time `python app.py` from start to serving, and to its first answer."""
    if index_dir is None:
        index_dir = REPO / "indexes"
        if not (index_dir / "CURRENT").exists():
            index_dir = Path(tempfile.mkdtemp(prefix="newsdesk-startup-")) / "idx"
            print(f"building a temp index of corpus/issues in {index_dir} ...", flush=True)
            subprocess.run([sys.executable, "-m", "assistant.cli.main", "ingest", str(REPO / "corpus" / "issues"),
                            "--index-dir", str(index_dir)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    info = machine()
    serving: list[float] = []
    cpu: list[float] = []
    answered: list[float] = []
    for n in range(runs):
        s, c, a = one_run(index_dir, question)
        serving.append(s)
        cpu.append(c)
        answered.append(a)
        print(f"run {n + 1}: serving after {s:.2f} s ({c:.2f} s CPU), first answer after {a:.2f} s", flush=True)
    print(machine_line(info))
    print(table("python app.py start-up (seconds)", ["measure", "median", "max", f"target {TARGET_S:.0f} s"], [
        ["start -> serving /", statistics.median(serving), max(serving),
         verdict(max(serving), TARGET_S, at_most=True)],
        ["CPU time until serving", statistics.median(cpu), max(cpu), verdict(max(cpu), TARGET_S, at_most=True)],
        ["start -> first /ask answer", statistics.median(answered), max(answered), "-"],
    ]))
    write_result("app_startup", {"machine": info, "index_dir": str(index_dir), "runs": runs,
                                 "serving_s": serving, "serving_cpu_s": cpu, "first_answer_s": answered, "target_s": TARGET_S})


if __name__ == "__main__":
    main()
