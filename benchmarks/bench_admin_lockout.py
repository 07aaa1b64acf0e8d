"""Admin lockout under a password-guessing attack (issue 14): 200 wrong passwords from 50 threads against the real
app, while a subscriber keeps asking through /ask.

Starts `python app.py` as a subprocess on a free loopback port (admin password set, its log captured), measures
the /ask median unloaded, then sends the wrong passwords the way the page does (`/gradio_api/queue/join` with the
sign-in event's number, one fresh cookie per try: the browser's own path, since the sign-in is not callable by
name) spread over --seconds (0: all at once), and times /ask meanwhile. The guessing runs in a process of its
own, so its 50 threads do not slow the /ask timer's Python. A reply either says the password was wrong (it was
checked) or "too many wrong passwords; try again in N s" (it was not looked at: from the app's edge, HTTP 429,
or from the sign-in itself).

Targets: at most 10 passwords checked per minute per client after the lockout starts; /ask p50 under attack
within 1.5x of its unloaded value. Writes benchmarks/results/admin_lockout.json.

    .venv/bin/python benchmarks/bench_admin_lockout.py                  # indexes/ (or a temp index of the corpus)
    .venv/bin/python benchmarks/bench_admin_lockout.py --seconds 0      # the 200 as one burst
"""

from __future__ import annotations

import json
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click
import httpx

from app_startup import free_port, wait_for  # isort: skip
from common import REPO, machine, machine_line, percentile, table, verdict, write_result  # isort: skip

from tests.ui.gradio_http import GradioHttp  # noqa: E402 - REPO is on sys.path once common is imported

QUESTIONS = ["Who will supply HBM4 memory for AMD's MI455X?", "What did OpenAI release?",
             "What happened with Nvidia export controls?", "Which company raised funding for robots?",
             "What did Anthropic announce?", "What is new in Rust?"]
MAX_CHECKED_PER_MINUTE = 10
MAX_SLOWDOWN = 1.5


def ask_times(client: Any, stop: threading.Event | None, count: int) -> list[tuple[float, float]]:
    """(wall-clock start, seconds) per /ask answer, sequentially: `count` of them, or until `stop` is set."""
    times: list[tuple[float, float]] = []
    n = 0
    while (stop is None and n < count) or (stop is not None and not stop.is_set()):
        wall, started = time.time(), time.monotonic()
        client.predict(QUESTIONS[n % len(QUESTIONS)], api_name="/ask")
        times.append((wall, time.monotonic() - started))
        n += 1
    return times


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def checked_per_minute(events: list[tuple[float, str]]) -> tuple[float | None, list[int]]:
    """(when the lockout started, passwords checked in each minute from then on)."""
    events = sorted(events)
    start = next((t for t, kind in events if kind == "locked"), None)
    if start is None:
        return None, []
    last = events[-1][0]
    minutes = [0] * (int((last - start) // 60) + 1)
    for t, kind in events:
        if kind == "wrong" and t >= start:
            minutes[int((t - start) // 60)] += 1
    return start, minutes


def attack(base: str, tries: int, threads: int, seconds: float) -> dict[str, Any]:
    """The guessing side: `tries` wrong passwords from `threads` threads, each a fresh browser (cookie)."""
    port = int(base.rsplit(":", 1)[1])
    config = httpx.get(base + "/config", timeout=30).json()
    events: list[tuple[float, str]] = []
    replies: list[float] = []
    lock = threading.Lock()
    schedule = sorted(random.uniform(0, seconds) for _ in range(tries))
    local = threading.local()  # one connection pool per thread, a fresh cookie per try
    started = time.monotonic()

    def guess(n: int) -> None:
        delay = started + schedule[n] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=120, verify=False)
        browser = GradioHttp(base, cookies={f"nd_admin_{port}": secrets.token_hex(32)}, config=config,
                             http=local.http)
        sent = time.monotonic()
        text = browser.call("admin_sign_in", [f"guess-{n}-{secrets.token_hex(4)}"]).text()
        kind = ("wrong" if "Wrong password." in text
                else "locked" if "too many wrong passwords; try again in" in text else "other")
        with lock:
            events.append((sent - started, kind))
            replies.append(time.monotonic() - sent)

    wall = time.time()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(guess, range(tries)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"events": events, "replies": replies, "seconds": time.monotonic() - started, "wall_start": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime}


@click.command()
@click.option("--attack-base", hidden=True, help="Internal: only guess against this running app; print JSON.")
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), envvar="NEWSDESK_INDEX_DIR",
              help="A built index (default: indexes/ when it holds one, else a temp index of corpus/issues).")
@click.option("--tries", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="Wrong passwords sent.")
@click.option("--threads", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--seconds", type=click.FloatRange(0, 3600), default=60.0, show_default=True,
              help="Spread the tries over this long (0: all at once).")
@click.option("--unloaded", type=click.IntRange(3, 1000), default=30, show_default=True,
              help="/ask answers timed before the attack.")
def main(attack_base: str | None, index_dir: Path | None, tries: int, threads: int, seconds: float,
         unloaded: int) -> None:
    """Measure the admin lockout and /ask latency during a password-guessing attack."""
    from gradio_client import Client

    if attack_base:
        print(json.dumps(attack(attack_base, tries, threads, seconds)))
        return

    if index_dir is None:
        index_dir = REPO / "indexes"
        if not (index_dir / "CURRENT").exists():
            index_dir = Path(tempfile.mkdtemp(prefix="newsdesk-lockout-")) / "idx"
            print(f"building a temp index of corpus/issues in {index_dir} ...", flush=True)
            subprocess.run([sys.executable, "-m", "assistant.cli.main", "ingest", str(REPO / "corpus" / "issues"),
                            "--index-dir", str(index_dir)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    info = machine()
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="newsdesk-lockout-"))
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "NEWSDESK_INDEX_DIR": str(index_dir), "NEWSDESK_PORT": str(port),
           "NEWSDESK_ADMIN_PASSWORD": password, "NEWSDESK_FEEDBACK_FILE": str(work / "feedback.jsonl")}
    env.pop("NEWSDESK_HOST", None)
    log_path = work / "app.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_for(base + "/", deadline=time.monotonic() + 180):
            raise SystemExit(f"the app did not serve {base}/ within 180 s:\n{log_path.read_text()}")
        client = Client(base + "/", analytics_enabled=False, verbose=False, download_files=False)
        ask_times(client, None, len(QUESTIONS))  # warm up: model, index, every question once
        quiet = [seconds for _, seconds in ask_times(client, None, unloaded)]

        config = httpx.get(base + "/config", timeout=30).json()
        by_name = [httpx.post(f"{base}/gradio_api/run/admin_sign_in", json={"data": ["guess"]}, timeout=30).status_code
                   for _ in range(5)]
        stop = threading.Event()
        server_cpu = cpu_seconds(proc.pid)
        with ThreadPoolExecutor(1) as asker:
            loaded_future = asker.submit(ask_times, client, stop, 0)
            guesser = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--attack-base", base, "--tries", str(tries),
                                      "--threads", str(threads), "--seconds", str(seconds)],
                                     cwd=REPO, capture_output=True, text=True, check=True)
            server_cpu = cpu_seconds(proc.pid) - server_cpu
            stop.set()
            timed = loaded_future.result()
        result = json.loads(guesser.stdout.strip().splitlines()[-1])
        events = [(float(t), str(k)) for t, k in result["events"]]
        replies, attack_s = result["replies"], result["seconds"]
        # Only the answers asked and finished while the guessing ran (not while its process started).
        window = (result["wall_start"], result["wall_start"] + attack_s)
        loaded = [sec for wall, sec in timed if window[0] <= wall and wall + sec <= window[1]] or \
            [sec for _, sec in timed]
        right = GradioHttp(base, cookies={f"nd_admin_{port}": secrets.token_hex(32)}, config=config).call(
            "admin_sign_in", [password]).text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log_text = log_path.read_text()
    logged_wrong = log_text.count(": wrong password (")
    kinds = [k for _, k in events]
    lock_start, per_minute = checked_per_minute(events)
    p50_quiet, p50_loaded = statistics.median(quiet), statistics.median(loaded)
    ratio = p50_loaded / p50_quiet
    worst_minute = max(per_minute) if per_minute else 0

    print(machine_line(info))
    print(f"{tries} wrong passwords from {threads} threads over {attack_s:.1f} s; /run/admin_sign_in by name: "
          f"HTTP {sorted(set(by_name))}")
    print(table("admin sign-in under attack", ["measure", "value", "target"], [
        ["passwords checked (reply: wrong password)", kinds.count("wrong"), "-"],
        ["refused unchecked (reply: try again in N s)", kinds.count("locked"), "-"],
        ["other replies", kinds.count("other"), "0"],
        ["wrong passwords in the app's log", logged_wrong, "= checked"],
        ["lockout began (s into the attack)", round(lock_start, 2) if lock_start is not None else "never", "-"],
        ["checked per minute after lockout", str(per_minute), f"<= {MAX_CHECKED_PER_MINUTE}"],
        ["sign-in reply p50 / p95 (s)", f"{statistics.median(replies):.3f} / {percentile(replies, 0.95):.3f}", "-"],
        ["CPU s: app (incl. its /ask answers) / guessing process", f"{server_cpu:.2f} / {result['cpu_s']:.2f}",
         "-"],
        ["right password right after the attack", "refused (locked)" if "try again in" in right else "accepted",
         "-"],
        ["password in the app's log", "yes" if "guess-" in log_text or password in log_text else "no", "no"],
    ]))
    print(table("/ask while it runs (s)", ["phase", "answers", "p50", "p95", "target"], [
        ["unloaded", len(quiet), p50_quiet, percentile(quiet, 0.95), "-"],
        ["under attack", len(loaded), p50_loaded, percentile(loaded, 0.95),
         f"p50 <= {MAX_SLOWDOWN}x unloaded: {ratio:.2f}x {verdict(ratio, MAX_SLOWDOWN, at_most=True)}"],
    ]))
    print(f"checked per minute after lockout: {worst_minute} "
          f"{verdict(worst_minute, MAX_CHECKED_PER_MINUTE, at_most=True)}")
    path = write_result("admin_lockout", {
        "machine": info, "index_dir": str(index_dir), "tries": tries, "threads": threads, "seconds": seconds,
        "attack_s": attack_s, "checked": kinds.count("wrong"), "locked": kinds.count("locked"),
        "other": kinds.count("other"), "logged_wrong": logged_wrong, "lock_start_s": lock_start,
        "checked_per_minute_after_lockout": per_minute, "run_by_name_status": sorted(set(by_name)),
        "sign_in_reply_p50_s": statistics.median(replies), "ask_unloaded_s": quiet, "ask_under_attack_s": loaded,
        "ask_p50_ratio": ratio, "app_cpu_s": server_cpu, "guesser_cpu_s": result["cpu_s"], "right_password_refused_while_locked": "try again in" in right})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
