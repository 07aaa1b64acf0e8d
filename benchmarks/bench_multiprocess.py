"""Several app processes over one Chroma server (issue 14 item 5): 2 `python app.py` processes on one shared index
folder and one `chroma run`, distinct questions from 10, 30 and 50 concurrent users, round-robin with a retry on
the other process; during the 50-user phase a writer publishes twice and one app process is killed.

What it starts, all on free loopback ports, in a temp folder, stopped by PID at the end:

- `chroma run` (data in the temp folder), and an index of corpus/issues built into a temp index folder in server
  mode (`NEWSDESK_CHROMA_URL`) by `newsdesk ingest`;
- 2 app processes (`python app.py`) with the same `NEWSDESK_INDEX_DIR`, `NEWSDESK_CHROMA_URL` and collection;
- a writer process (this script with `--writer`): the same `ingest_paths` as `newsdesk ingest`, in server mode on
  the same folder, its model loaded before the load starts so that both publishes fall inside the 50-user phase.

Users are threads of this process; each asks distinct questions (templates over the corpus's headlines, none asked
twice, so no answer can come from a cache) through the app's plain HTTP API, as `newsdesk ask --url` does
(`POST /gradio_api/call/ask`, then its event stream). Each question goes to the next process in turn (both of its
requests to the same one); on a connection error (refused, reset, a stream cut off) it is asked again on the other
process. Errors: anything else (the app refused, a bad reply, a timeout). Lost: failed on both processes.

Phases: a 10-user warm-up (not in the table: each process's sentence-vector cache fills with use, as in a running
app), 10 users; 30 users on ONE process (the raw part the deployment builds on) and on both, interleaved ABBA in
halves; 50 users for --load-seconds, during which the writer publishes an issue with a unique marker word (twice,
two issues), and then one app process is killed (SIGKILL). From each publish (the moment `CURRENT` changes) each
process is asked about the marker in a loop, until a question asked 2 s after the publish has its reply: through
/search (its own queue lane in the app, so this is when the process serves the new version) and through /ask (an
answer citing it; these wait in the app's /ask queue behind the 50 users). CPU seconds of the apps and the server are read from /proc, so the
table also gives CPU per answer, which does not grow when other jobs share the cores.

    .venv/bin/python benchmarks/bench_multiprocess.py                         # 20 s phases, 60 s at 50 users
    .venv/bin/python benchmarks/bench_multiprocess.py --phase-seconds 10 --load-seconds 30   # a quick look
    .venv/bin/python benchmarks/bench_multiprocess.py --backend onnx          # the apps on onnxruntime
    .venv/bin/python benchmarks/bench_multiprocess.py --embedded              # no server: a copy per process

Writes benchmarks/results/bench_multiprocess.json (bench_multiprocess_onnx.json, ..._embedded.json).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import shutil
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from common import (  # isort: skip
    REPO, machine, machine_line, percentile, rss_mib, table, verdict, write_result)

from load_client import (  # isort: skip
    CORPUS, QuestionPool, Refused, RoundRobin, Unreachable, ask, call, phase_start, questions, run_phase, summary)
from tests.index.conftest import AppProcess, ChromaServer  # noqa: E402 - REPO is on sys.path once common is imported

P95_TARGET_S = 2.5  # at 30 users, issue 14 item 5
PROPAGATION_TARGET_S = 2.0

def marker_word() -> str:
    return "Zq" + "".join(random.choice(string.ascii_lowercase) for _ in range(8))


def marker_issue(folder: Path, marker: str, day: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"2026-09-{day:02d}-{marker.lower()}.md"
    path.write_text(f"""---
title: "Marker Weekly #{day}"
---

### Top News

#### [{marker} unveils a solar-powered lighthouse robot](https://example.com/{marker.lower()})

{marker}, a startup from Tromsø, unveiled a solar-powered lighthouse robot on September {day}, 2026. The robot,
called {marker} Beacon, keeps coastal lights running through polar winters and reports storms to harbour masters.
{marker} said the first forty units ship to Norwegian ports next spring.

#### [Harbour masters test {marker} Beacon in the Arctic](https://example.com/{marker.lower()}-test)

Harbour masters in Svalbard tested {marker} Beacon for three weeks and reported no outages.
""")
    return path


@dataclass
class Poll:
    sent: float
    done: float
    cited: bool
    error: str = ""


@dataclass
class Propagation:
    """One publish: when CURRENT changed, and each process's polls (by endpoint) until they showed the issue."""

    marker: str
    published: float | None = None  # monotonic, the moment CURRENT changed
    writer_s: float = 0.0
    polls: dict[tuple[str, int], list[Poll]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """Per endpoint and process: when the first reply showing the issue came back (from the publish), and
        how many replies to questions asked after the publish, and after publish + PROPAGATION_TARGET_S, did not
        show it (stale). A stale reply to a question asked at +t s means the process had not switched when it
        served that question, at +t s or later."""
        out: dict[str, Any] = {"marker": self.marker, "writer_s": round(self.writer_s, 2)}
        for key, polls in sorted(self.polls.items()):
            name = f"{key[0]}_process_{key[1]}"
            first = next((p for p in polls if p.cited), None)
            if first is None or self.published is None:
                out[name] = None
                continue
            after = [p for p in polls if p.sent >= self.published]
            stale = [p for p in after if not p.cited]
            out[name] = {"shown_after_s": round(first.done - self.published, 2),
                         "asked_after_s": round(first.sent - self.published, 2),
                         "answer_took_s": round(first.done - first.sent, 2),
                         "polls": len(polls), "asked_after_publish": len(after),
                         "stale_asked_after_publish": len(stale),
                         "last_stale_asked_after_s": round(max(p.sent for p in stale) - self.published, 2)
                         if stale else None,
                         "asked_after_target": sum(p.sent >= self.published + PROPAGATION_TARGET_S for p in after),
                         "stale_asked_after_target": sum(p.sent >= self.published + PROPAGATION_TARGET_S
                                                         for p in stale)}
        return out


def pointer_stamp(index_dir: Path) -> tuple[int, int] | None:
    try:
        st = (index_dir / "CURRENT").stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_ino)


# Questions about the marker issue that cite it once it is in the index (checked on the bundled corpus; "What did
# {m} unveil?" and "Tell me about {m}." are refused by the answer gate, so they would read as "not there yet").
POLL_TEMPLATES = ("What is {m} Beacon?", "What did {m} announce?", "Where will {m} ship its robots?",
                  "What did harbour masters say about {m} Beacon?")


class Writer:
    """A writer process (`bench_multiprocess.py --writer`): the same `ingest_paths` as `newsdesk ingest`, in server
    mode on the same folder, with its model loaded before the load starts, so that both publishes fall inside
    the 50-user phase (a `newsdesk ingest` process spends 10-40 s loading torch and the model on busy cores)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = open(log, "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen([sys.executable, __file__, "--writer"], cwd=REPO, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        if self._read().get("ready") is not True:
            raise SystemExit("the writer did not start")

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the writer died (exit {self.proc.poll()}); see {self.log.name}")
        return dict(json.loads(line))

    def ingest(self, path: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(str(path) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.log.close()


def writer_main() -> None:
    """--writer: load the model, say ready, then ingest each path read from stdin (one publish each)."""
    from assistant.config import Settings
    from assistant.embedding.encoder import Embedder
    from assistant.ingest.issues import ingest_paths

    settings = Settings()
    embedder = Embedder.from_settings(settings)
    embedder.encode_one("warm up")
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        started = time.monotonic()
        report = ingest_paths(settings, embedder, [Path(line.strip())], wait_seconds=120)
        print(json.dumps({"version": report.version, "seconds": time.monotonic() - started}), flush=True)


def publish_and_poll(writer: Writer, index_dir: Path, extra: Path, urls: dict[int, str], day: int,
                     deadline_s: float = 60.0) -> Propagation:
    """Write a new issue with a marker word and have the writer publish it; watch CURRENT for the moment it is
    published. Meanwhile, from the start, each process is asked about the marker in a loop, until a question asked
    PROPAGATION_TARGET_S after the publish has its reply: through /ask (does the answer cite it? these wait in the
    app's /ask queue behind the users) and through /search (a hit; /search has its own queue lane, so this shows
    when the process serves the version)."""
    marker = marker_word()
    issue = marker_issue(extra / f"marker-{day}", marker, day)
    prop = Propagation(marker=marker, polls={(kind, n): [] for kind in ("ask", "search") for n in urls})
    before = pointer_stamp(index_dir)
    started = time.monotonic()
    stop = threading.Event()

    def poll(kind: str, n: int) -> None:
        for i in itertools.count():
            if stop.is_set() or (prop.published is not None and time.monotonic() - prop.published > deadline_s):
                return
            sent = time.monotonic()
            try:
                if kind == "ask":
                    answer = ask(urls[n], POLL_TEMPLATES[i % len(POLL_TEMPLATES)].format(m=marker))
                    heads = [c.get("headline") or "" for c in answer.get("citations", [])]
                else:
                    found = call(urls[n], "search", [marker, "", "", "", "", "relevance", 5])
                    heads = [h.get("headline") or "" for h in found.get("hits", [])]
            except (Unreachable, Refused) as exc:
                prop.polls[(kind, n)].append(Poll(sent, time.monotonic(), False, str(exc)))
                time.sleep(0.05)
                continue
            cited = any(marker in h for h in heads)
            prop.polls[(kind, n)].append(Poll(sent, time.monotonic(), cited))
            # Until a question asked PROPAGATION_TARGET_S or more after the publish has its reply.
            if prop.published is not None and sent >= prop.published + PROPAGATION_TARGET_S:
                return
            if kind == "search":
                time.sleep(0.05)

    threads = [threading.Thread(target=poll, args=key, daemon=True) for key in prop.polls]
    for t in threads:
        t.start()
    done: dict[str, Any] = {}
    ingest = threading.Thread(target=lambda: done.update(writer.ingest(issue)), daemon=True)
    ingest.start()
    while ingest.is_alive() and pointer_stamp(index_dir) == before:
        time.sleep(0.002)
    if pointer_stamp(index_dir) != before:
        prop.published = time.monotonic()
    ingest.join()
    prop.writer_s = time.monotonic() - started
    if prop.published is None or not done.get("version"):
        stop.set()
        raise SystemExit(f"the writer published nothing: {done}")
    for t in threads:
        t.join()
    return prop


def newsdesk() -> list[str]:
    script = Path(sys.executable).parent / "newsdesk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli.main"]


# ---------------------------------------------------------------- main


def fmt_prop(p: dict[str, Any], kind: str, n: int) -> str:
    got = p.get(f"{kind}_process_{n}")
    if got is None:
        return "never"
    stale = (f"the last stale reply was to a question asked at {got['last_stale_asked_after_s']:+.2f} s"
             if got["last_stale_asked_after_s"] is not None else "no stale reply to a question asked after it")
    return (f"{got['shown_after_s']:.2f} s (asked at {got['asked_after_s']:+.2f} s, took {got['answer_took_s']:.2f} s);"
            f" {stale}; stale replies to questions asked >= {PROPAGATION_TARGET_S:g} s after it: "
            f"{got['stale_asked_after_target']} of {got['asked_after_target']}")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds (user + system) used by the app processes, the Chroma server and this client between two
    reads: unlike wall time, it does not grow when other jobs share the cores."""

    def __init__(self, apps: list[int], chroma: int | None) -> None:
        self.apps, self.chroma = apps, chroma
        self._last: dict[str, float] = {}

    def read(self) -> dict[str, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {"apps": sum(cpu_seconds(pid) for pid in self.apps),
                "chroma": cpu_seconds(self.chroma) if self.chroma else 0.0,
                "client": own.ru_utime + own.ru_stime}


def merge(label: str, users: int, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from the interleaved halves of a phase: their samples together, their times added."""
    samples = [s for p in parts for s in p["_samples"]]
    row = summary(users, samples, sum(p["elapsed_s"] for p in parts), label)
    row["load_avg_start"] = parts[0]["load_avg_start"]
    row["cpu_s"] = {k: round(sum(p["cpu_s"][k] for p in parts), 2) for k in parts[0]["cpu_s"]}
    row["cpu_ms_per_answer"] = round(1000 * (row["cpu_s"]["apps"] + row["cpu_s"]["chroma"]) / max(1, row["answers"]), 1)
    row["halves"] = [{k: v for k, v in p.items() if k != "_samples"} for p in parts]
    row["_samples"] = samples
    return row


def answers_line(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [[r["users"], r["phase"], r["answers"], r["answers_per_s"], r["answers_per_s_per_core"], r["p50_s"],
             r["p95_s"], r["max_s"], r["errors"], r["lost"], r["retried"], r["refusals"], r["cpu_ms_per_answer"],
             r["load_avg_start"][0]] for r in rows]


@click.command()
@click.option("--phase-seconds", type=click.FloatRange(2, 600), default=20.0, show_default=True,
              help="Length of the 10- and 30-user phases and of the 1-process baseline.")
@click.option("--load-seconds", type=click.FloatRange(10, 600), default=60.0, show_default=True,
              help="Length of the 50-user phase (both publishes and the kill happen inside it).")
@click.option("--backend", type=click.Choice(["torch", "onnx"]), default="torch", show_default=True,
              help="The apps' NEWSDESK_EMBED_BACKEND.")
@click.option("--warmup-seconds", type=click.FloatRange(0, 600), default=20.0, show_default=True,
              help="A 10-user warm-up before the measured phases (not in the table).")
@click.option("--app-env", multiple=True, metavar="NAME=VALUE",
              help="An extra environment variable for the app processes (e.g. OMP_NUM_THREADS=1); repeatable.")
@click.option("--embedded", is_flag=True,
              help="No Chroma server: each app process queries its own copy of the version under readers/ "
                   "(embedded Chroma), to check that mode on one host too.")
@click.option("--keep", is_flag=True, help="Keep the temp folder (index, logs) instead of deleting it.")
def main(phase_seconds: float, load_seconds: float, warmup_seconds: float, backend: str, app_env: tuple[str, ...],
         embedded: bool, keep: bool) -> None:
    """2 app processes, one `chroma run`, one index folder: load, publish, kill."""
    info = machine()
    print(machine_line(info), flush=True)
    work = Path(tempfile.mkdtemp(prefix="newsdesk-multi-"))
    index_dir, logs = work / "idx", work / "logs"
    logs.mkdir()
    chroma = None if embedded else ChromaServer(work / "chroma")
    apps: list[AppProcess] = []
    writer: Writer | None = None
    results: dict[str, Any] = {"machine": info, "phase_seconds": phase_seconds, "load_seconds": load_seconds,
                               "backend": backend}
    try:
        if chroma is not None:
            chroma.start()
        env = {**os.environ, "NEWSDESK_INDEX_DIR": str(index_dir),
               "NEWSDESK_COLLECTION": "multiproc", "NEWSDESK_FEEDBACK_FILE": str(index_dir / "feedback.jsonl"),
               "NEWSDESK_EMBED_BACKEND": backend, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
        if backend == "onnx" and (REPO / "indexes" / "onnx-cache").is_dir():  # the export, made once
            env.setdefault("NEWSDESK_ONNX_CACHE", str(REPO / "indexes" / "onnx-cache"))
        for name in ("NEWSDESK_URL", "NEWSDESK_HOST", "NEWSDESK_PORT", "NEWSDESK_ADMIN_PASSWORD", "NEWSDESK_CHROMA_URL"):
            env.pop(name, None)
        if chroma is not None:
            env["NEWSDESK_CHROMA_URL"] = chroma.url
        results["mode"] = "embedded" if chroma is None else "server"
        started = time.monotonic()
        subprocess.run([*newsdesk(), "ingest", str(CORPUS)], cwd=REPO, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        results["index_build_s"] = round(time.monotonic() - started, 1)
        print(f"index of corpus/issues built ({chroma.url if chroma else 'embedded'}) in "
              f"{results['index_build_s']} s", flush=True)
        extra_env = dict(item.split("=", 1) for item in app_env)
        results["app_env"] = extra_env
        apps_env = {**{k: v for k, v in env.items() if k.startswith("NEWSDESK_")}, **extra_env}
        apps = [AppProcess(apps_env, logs / f"app-{n}.log") for n in range(2)]
        writer = Writer(env, logs / "writer.log")
        for app in apps:
            app.wait()
        urls = [app.url.rstrip("/") for app in apps]
        distinct = questions()
        pool = QuestionPool(distinct)
        for url in urls:  # the model and BM25 loaded, as in a running app
            ask(url, pool.next(), timeout=300)
        print(f"2 app processes serving: {', '.join(urls)}; {len(distinct)} distinct questions", flush=True)
        meter = CpuMeter([app.proc.pid for app in apps], chroma.proc.pid if chroma and chroma.proc else None)
        rows: list[dict[str, Any]] = []

        def phase(users: int, seconds: float, targets: list[str], label: str = "",
                  during: Callable[[float], None] | None = None) -> dict[str, Any]:
            load = [round(x, 2) for x in os.getloadavg()]
            before = meter.read()
            samples, elapsed = run_phase(RoundRobin(targets), pool, users, seconds, during)
            after = meter.read()
            row = {**summary(users, samples, elapsed, label), "load_avg_start": load}
            cpu = {k: round(after[k] - before[k], 2) for k in after}
            row["cpu_s"] = cpu
            row["cpu_ms_per_answer"] = round(1000 * (cpu["apps"] + cpu["chroma"]) / max(1, row["answers"]), 1)
            rows.append(row)
            print(f"{row['phase']}: {row['answers']} answers, {row['answers_per_s']}/s, p50 {row['p50_s']} s, "
                  f"p95 {row['p95_s']} s, errors {row['errors']}, lost {row['lost']}, retried {row['retried']}, "
                  f"CPU {row['cpu_ms_per_answer']} ms/answer, load {load[0]}", flush=True)
            row["_samples"] = samples
            return row

        if warmup_seconds:  # the sentence-vector caches of a running app warm up with use (not an answer cache)
            phase(10, warmup_seconds, urls, label="warm-up, 10 users, 2 processes")
        phase(10, phase_seconds, urls)
        # The 30-user load on one process (the raw part the deployment builds on) and on both, interleaved
        # ABBA in halves, so that a change in the other jobs' load or in the caches falls on both alike.
        half = phase_seconds / 2
        one, two = "30 users, 1 process (baseline)", "30 users, 2 processes"
        halves: dict[str, list[dict[str, Any]]] = {one: [], two: []}
        for label, targets in ((one, urls[:1]), (two, urls), (two, urls), (one, urls[:1])):
            halves[label].append(phase(30, half, targets, label=label + " (half)"))
        for label in (one, two):
            rows[:] = [r for r in rows if all(r is not h for h in halves[label])]
            rows.append(merge(label, 30, halves[label]))

        # Each process holds its own model, BM25 side and caches: memory grows with the processes.
        results["app_rss_mib"] = [round(rss_mib(app.proc.pid), 1) for app in apps]
        print(f"app processes' RSS: {', '.join(f'{r:.0f} MiB' for r in results['app_rss_mib'])}", flush=True)
        props: list[Propagation] = []
        events: dict[str, float] = {}

        def during(start: float) -> None:
            assert writer is not None
            for day, at in ((1, 0.1), (2, 0.35)):
                time.sleep(max(0.0, start + load_seconds * at - time.monotonic()))
                props.append(publish_and_poll(writer, index_dir, work / "extra", dict(enumerate(urls)), day))
                events[f"publish_{day}"] = round(props[-1].published - start, 2)  # type: ignore[operator]
            time.sleep(max(0.0, start + load_seconds * 0.7 - time.monotonic()))
            os.kill(apps[1].proc.pid, signal.SIGKILL)
            events["kill"] = round(time.monotonic() - start, 2)

        samples = phase(50, load_seconds, urls, during=during)["_samples"]
        kill_at = phase_start[-1] + events["kill"]
        hit = [s for s in samples if s.first == 1 and s.started <= kill_at <= s.started + s.seconds]
        later = [s for s in samples if s.started > kill_at]
        results["kill"] = {"in_flight": len(hit), "in_flight_retried": sum(s.retried for s in hit),
                           "in_flight_lost": sum(s.lost for s in hit), "after": len(later),
                           "after_retried": sum(s.retried for s in later), "after_lost": sum(s.lost for s in later),
                           "after_p95_s": round(percentile([s.seconds for s in later if s.ok], 0.95), 3)}
        # Answers of the 50-user phase by when they came back, in 5 s steps: where the publishes and the kill fall.
        timeline = []
        for step in range(0, int(max((s.started + s.seconds for s in samples), default=0) - phase_start[-1]) + 1, 5):
            got = [s.seconds for s in samples if s.ok and step <= s.started + s.seconds - phase_start[-1] < step + 5]
            timeline.append({"from_s": step, "answers": len(got), "p95_s": round(percentile(got, 0.95), 2)})
        results["timeline_50_users"] = timeline
        before_kill = [s.seconds for s in samples if s.ok and s.started + s.seconds < kill_at]
        results["kill"]["before_p95_s"] = round(percentile(before_kill, 0.95), 3)
        prop_reports = [p.report() for p in props]
        readers = index_dir / "readers"
        results["reader_copies_at_end"] = sorted(p.name for p in readers.iterdir()) if readers.is_dir() else []
        warm = [r for r in rows if r["phase"].startswith("warm-up")]
        rows = [r for r in rows if not r["phase"].startswith("warm-up")]
        for r in rows + warm:
            r.pop("_samples", None)
        base = next(r for r in rows if r["phase"] == one)
        two_row = next(r for r in rows if r["phase"] == two)
        ratio = two_row["answers_per_s"] / base["answers_per_s"] if base["answers_per_s"] else float("nan")

        print()
        print(machine_line(info))
        over = "embedded Chroma (a copy each)" if chroma is None else "one `chroma run`"
        print(table(f"2 app processes over {over}, distinct questions, {backend} (latency in seconds)",
                    ["users", "phase", "answers", "answers/s", "per core", "p50", "p95", "max", "errors", "lost",
                     "retried", "refusals", "CPU ms/answer", "load at start"], answers_line(rows)))
        print(f"raw part: 2 processes / 1 process at 30 users: {ratio:.2f}x answers/s "
              f"(p95 {two_row['p95_s']:.2f} s vs {base['p95_s']:.2f} s)")
        print("events in the 50-user phase (s from its start): "
              + ", ".join(f"{k} {v:.1f}" for k, v in events.items()))
        for n, p in enumerate(prop_reports, 1):
            print(f"publish {n} (marker {p['marker']}; writer {p['writer_s']:.1f} s):")
            for kind in ("search", "ask"):
                for proc in (0, 1):
                    print(f"  process {proc} /{kind} shows it after {fmt_prop(p, kind, proc)}")
        k = results["kill"]
        print(f"kill: {k['in_flight']} requests in flight on the killed process, {k['in_flight_retried']} retried, "
              f"{k['in_flight_lost']} lost; after it {k['after']} requests, {k['after_retried']} retried on the "
              f"survivor, {k['after_lost']} lost; p95 {k['before_p95_s']} s before, {k['after_p95_s']} s after")
        print("50 users, answers / p95 per 5 s (from the phase's start): "
              + ", ".join(f"{t['from_s']}s {t['answers']}/{t['p95_s']:.1f}" for t in results["timeline_50_users"]))
        print(f"reader copies under readers/ at the end: {len(results['reader_copies_at_end'])}")
        print(f"load average now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        total_errors = sum(r["errors"] for r in rows)
        total_lost = sum(r["lost"] for r in rows)

        def worst(kind: str) -> float:
            return max((p[f"{kind}_process_{n}"]["shown_after_s"] if p.get(f"{kind}_process_{n}") else float("inf")
                        for p in prop_reports for n in (0, 1)), default=float("nan"))

        def late_stale(kind: str) -> tuple[int, int]:
            got = [p.get(f"{kind}_process_{n}") or {} for p in prop_reports for n in (0, 1)]
            return (sum(g.get("stale_asked_after_target", 1) for g in got),
                    sum(g.get("asked_after_target", 0) for g in got))

        stale_ask, asked_ask = late_stale("ask")
        stale_search, asked_search = late_stale("search")
        checks = [
            ["errors (all phases)", total_errors, "0", "met" if total_errors == 0 else "MISSED"],
            ["lost answers (all phases; one process killed)", total_lost, "0", "met" if total_lost == 0 else "MISSED"],
            ["both processes serve a new version (/search, first reply)", worst("search"),
             f"<= {PROPAGATION_TARGET_S:g} s", verdict(worst("search"), PROPAGATION_TARGET_S, at_most=True)],
            [f"stale /search replies to questions asked >= {PROPAGATION_TARGET_S:g} s after a publish",
             f"{stale_search} of {asked_search}", "0", "met" if stale_search == 0 and asked_search else "MISSED"],
            [f"stale /ask answers to questions asked >= {PROPAGATION_TARGET_S:g} s after a publish",
             f"{stale_ask} of {asked_ask}", "0", "met" if stale_ask == 0 and asked_ask else "MISSED"],
            ["first /ask answer citing it, from the publish (includes the queue wait)", worst("ask"), "-", "-"],
            ["p95 at 30 users, 2 processes", two_row["p95_s"], f"<= {P95_TARGET_S:g} s",
             verdict(two_row["p95_s"], P95_TARGET_S, at_most=True)],
        ]
        print(table("targets (issue 14 item 5)", ["check", "measured", "target", "status"], checks))
        results.update({"phases": rows, "warm_up": warm, "baseline_ratio_answers_per_s": round(ratio, 3), "events_s": events,
                        "propagation": prop_reports, "questions_asked": pool.used, "checks": checks,
                        "load_avg_end": [round(x, 2) for x in os.getloadavg()]})
        suffix = ("_onnx" if backend == "onnx" else "") + ("_embedded" if chroma is None else "")
        write_result("bench_multiprocess" + suffix, results)
    finally:
        if writer is not None:
            writer.close()
        for app in apps:
            app.stop()
        if chroma is not None:
            chroma.stop()
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--writer"]:
        writer_main()
    else:
        main()
