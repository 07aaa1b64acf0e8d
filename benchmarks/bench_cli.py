"""How long a user at a terminal waits for `newsdesk`: whole processes, timed from start to exit, median of N.

- `newsdesk --help`
- `newsdesk ask --url URL QUESTION` against a running app (started here on a free loopback port unless --url is
  given; one untimed question first, so the app has its model loaded as a running app does)
- `newsdesk ask QUESTION` cold, without an app (loads the model and the index itself): with the model's ONNX
  export in place, as `make index` leaves it (`newsdesk export-onnx`, run here when missing); `--without-onnx`
  times the case without it (a fresh clone before `make index`: torch is loaded), using an empty ONNX cache

    python benchmarks/bench_cli.py [--index-dir DIR] [--runs 5] [--url http://127.0.0.1:7860] [--without-onnx]

Wall time moves with whatever else shares the cores; the CPU column (user + system of the process and its
children) shows what the command itself costs.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from common import REPO, machine, machine_line, table, verdict, write_result  # isort: skip
from app_startup import free_port, wait_for  # isort: skip

REMOTE_TARGET_S = 2.0  # issue 14 item 6: `ask --url` with an app running
COLD_TARGET_S = 4.0  # issue 14 item 6: `ask` without an app
QUESTION = "What changed in the Rust compiler?"


def newsdesk() -> list[str]:
    script = Path(sys.executable).parent / "newsdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli.main"]


def timed_run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole `newsdesk` process; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*newsdesk(), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"newsdesk {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def series(label: str, args: list[str], env: dict[str, str], runs: int) -> dict[str, object]:
    walls, cpus = [], []
    for n in range(runs):
        wall, cpu = timed_run(args, env)
        walls.append(wall)
        cpus.append(cpu)
        print(f"{label} run {n + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    return {"wall_s": walls, "cpu_s": cpus, "median_wall_s": statistics.median(walls),
            "median_cpu_s": statistics.median(cpus)}


@click.command()
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/tmp/idx-fastcli"), show_default=True,
              help="A built index (built from corpus/issues when it holds none).")
@click.option("--runs", type=click.IntRange(1, 50), default=5, show_default=True, help="Runs of each command.")
@click.option("--url", help="A running app to ask (default: start one here on the index).")
@click.option("--question", default=QUESTION, show_default=True)
@click.option("--without-onnx", is_flag=True,
              help="Time the cold ask without the ONNX export (an empty NEWSDESK_ONNX_CACHE): torch is loaded.")
def main(index_dir: Path, runs: int, url: str | None, question: str, without_onnx: bool) -> None:
    """Median whole-process wall time of `newsdesk --help`, `ask --url` and a cold `ask`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSDESK_URL", "NEWSDESK_HOST", "NEWSDESK_PORT")}
    env.update({"NEWSDESK_INDEX_DIR": str(index_dir), "GRADIO_ANALYTICS_ENABLED": "False",
                "HF_HUB_OFFLINE": "1"})
    if not (index_dir / "CURRENT").exists():
        print(f"building an index of corpus/issues in {index_dir} ...", flush=True)
        subprocess.run([*newsdesk(), "ingest", str(REPO / "corpus" / "issues")], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    if without_onnx:
        env["NEWSDESK_ONNX_CACHE"] = tempfile.mkdtemp(prefix="bench-cli-no-onnx-")
    else:  # as `make index` leaves it; prints "already exported" or the time the export took
        subprocess.run([*newsdesk(), "export-onnx"], cwd=REPO, env=env, check=True)
    info = machine()
    results: dict[str, object] = {"help": series("--help", ["--help"], env, runs)}
    app = None
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(REPO / "benchmarks" / "results" / "bench_cli_app.log", "wb")  # noqa: SIM115 - closed below
        app = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                               env={**env, "NEWSDESK_HOST": "127.0.0.1", "NEWSDESK_PORT": str(port)})
        if not wait_for(url + "/", deadline=time.monotonic() + 240):
            app.terminate()
            raise SystemExit(f"the app did not serve {url} within 240 s (log: {log.name})")
    try:
        first = timed_run(["ask", "--url", url, question], env)
        print(f"ask --url first question (app warming up, untimed): {first[0]:.2f} s", flush=True)
        results["ask_url"] = series("ask --url", ["ask", "--url", url, question], env, runs)
    finally:
        if app is not None:
            app.terminate()
            app.wait(timeout=30)
            log.close()
    results["ask_cold"] = series("ask (cold)", ["ask", question], env, runs)
    med = {k: v["median_wall_s"] for k, v in results.items()}  # type: ignore[index]
    cpu = {k: v["median_cpu_s"] for k, v in results.items()}  # type: ignore[index]
    print(machine_line(info))
    print(table(f"newsdesk, whole process, median of {runs} (seconds)", ["command", "wall", "CPU", "target"], [
        ["newsdesk --help", med["help"], cpu["help"], "-"],
        ["newsdesk ask --url (app running)", med["ask_url"], cpu["ask_url"],
         f"<= {REMOTE_TARGET_S:g} s {verdict(med['ask_url'], REMOTE_TARGET_S, at_most=True)}"],
        [f"newsdesk ask (cold, no app{', no ONNX export' if without_onnx else ''})", med["ask_cold"],
         cpu["ask_cold"],
         f"<= {COLD_TARGET_S:g} s {verdict(med['ask_cold'], COLD_TARGET_S, at_most=True)}"],
    ]))
    write_result("bench_cli", {"machine": info, "index_dir": str(index_dir), "runs": runs, "question": question,
                               "onnx_export": not without_onnx,
                               "newsdesk": shutil.which("newsdesk") or " ".join(newsdesk()), **results})


if __name__ == "__main__":
    main()
