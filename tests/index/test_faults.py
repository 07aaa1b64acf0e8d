"""The fault suite: writers killed with SIGKILL at 20+ points, write errors, a Chroma server killed during
queries and during writes, concurrent users during an ingest, and hostile inputs. Results go to
test-artifacts/reliability/ and the README's Reliability section quotes them."""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

import pytest

from assistant.index.reader import CHECK_EVERY
from assistant.index.store import IndexStore
from assistant.index.writer import FAULT_STEPS
from tests.conftest import make_settings
from tests.index.conftest import (
    FaultWorker,
    expected_state,
    index_state,
    make_junk,
    published_digests,
    seed_variant,
    write_artifact,
)
from tests.requires import require

# Steps a plain ingest or a rebuild passes through (the others belong to other operations).
STEPS = {"ingest": [s for s in FAULT_STEPS if s != "read"], "rebuild": [s for s in FAULT_STEPS if s != "deleted"]}
MIN_KILLS = 20


@pytest.mark.slow
@pytest.mark.parametrize("op", ["ingest", "rebuild"])
def test_writer_killed_at_random_points(op: str, fault_worker: FaultWorker, tmp_path: Path, embedder) -> None:
    """kill -9 of the writer at every named step and at random moments: afterwards the current version is a
    whole published one (the previous or, if the kill came after the switch, the new), counts agree, earlier
    versions are byte-for-byte unchanged, answers come from it, and the next run completes."""
    from assistant.pipeline import Newsdesk

    settings = make_settings(tmp_path / "idx")
    issue = tmp_path / "issues" / "clustermind" / "000_31baea9013c4bfac.txt"
    issue.parent.mkdir(parents=True)
    issue.write_text(seed_variant("a"))
    job = {"op": op, "index_dir": str(settings.index_dir), "paths": [str(issue.parent)]}
    first = fault_worker.run(**{**job, "op": "ingest"})
    assert first.exit == 0, first.error
    desk = Newsdesk(settings)  # a long-lived reader, like the web app
    desk.__dict__["embedder"] = embedder
    rng = random.Random(6)
    durations: list[float] = []
    plan: list[str | None] = [*STEPS[op]]
    outcomes = {"kills": 0, "survived": 0, "old_version_kept": 0, "new_version_live": 0, "runs_after_kill_ok": 0,
                "documents_lost": 0, "published_versions_changed": 0, "kill_points": []}
    variant = "a"
    attempts = 0
    retried: set[str] = set()
    state = index_state(settings)
    digests = published_digests(settings)
    while (plan or outcomes["kills"] < MIN_KILLS + 2) and attempts < 80:
        attempts += 1
        step = plan.pop(0) if plan else None
        variant = "b" if variant == "a" else "a"
        issue.write_text(seed_variant(variant))
        new = expected_state(issue)
        old_version, old_chunks, _ = state
        if step is None:
            # A random moment within a typical run of this operation.
            typical = statistics.median(durations) if durations else 1.0
            delay = rng.uniform(0.02, typical)
            result = fault_worker.run(kill_after=delay, **job)
            point = f"timer {delay:.2f}s"
        else:
            result = fault_worker.run(kill_at=step, **job)
            point = f"step {step}"
        if result.exit == 0:
            durations.append(result.seconds)
            if step is not None and step not in retried:
                # The step did not happen in this direction (e.g. "deleted" when no story vanished).
                retried.add(step)
                plan.insert(0, step)
        else:
            assert result.exit == -9, result.error  # killed, never a Python error
            outcomes["kills"] += 1
            outcomes["kill_points"].append(point)

        version, chunks, count = index_state(settings)
        assert version is not None
        if version == old_version:
            assert chunks == old_chunks
            outcomes["old_version_kept"] += result.exit != 0
        else:
            assert chunks == new, f"{point}: the new version is not what was written"
            outcomes["new_version_live"] += result.exit != 0
        for kept, digest in published_digests(settings).items():
            if kept in digests and digests[kept] != digest:
                outcomes["published_versions_changed"] += 1
        # Lost: in the last good version and meant to stay (not removed by this write), yet gone.
        outcomes["documents_lost"] += len((old_chunks & new) - chunks)
        # The app looks at the pointer at most every check_every seconds; wait that long, as a user would.
        time.sleep(desk.readers.check_every + 0.05)
        answer = desk.ask("Who will supply HBM4 memory for AMD's MI455X?")
        assert answer.citations and answer.citations[0].headline == "AMD + Samsung: HBM4 for the MI455X"
        assert desk.readers.get().version == version

        # The next run completes and leaves no debris of the killed one.
        after = fault_worker.run(**job)
        assert after.exit == 0, after.error
        durations.append(after.seconds)
        state = index_state(settings)
        assert state[1] == new and state[2] == len(new)
        store = IndexStore(settings)
        assert sorted(p.name for p in (settings.index_dir / "versions").iterdir()) == sorted(store.chain())
        digests = published_digests(settings)
        if result.exit != 0:
            outcomes["survived"] += 1
            outcomes["runs_after_kill_ok"] += 1

    assert outcomes["kills"] >= MIN_KILLS
    assert outcomes["survived"] == outcomes["kills"]
    assert outcomes["documents_lost"] == 0 and outcomes["published_versions_changed"] == 0
    outcomes["median_run_s"] = round(statistics.median(durations), 2)
    write_artifact(f"kills-{op}.json", outcomes)


# ---------------------------------------------------------------- write errors


@pytest.mark.slow
@pytest.mark.parametrize("op", ["rebuild"])
def test_write_error_at_every_step_leaves_the_index_untouched(op: str, tmp_path: Path, embedder) -> None:
    """An exception (here ENOSPC, injected) at each step of a write: one clear IndexWriteError, the current
    version byte-for-byte as it was, no leftovers, and the next write completes."""
    from assistant.index.errors import IndexWriteError
    from assistant.ingest.issues import ingest_paths
    from assistant.ingest.rebuild import rebuild_index

    settings = make_settings(tmp_path / "idx")
    issue = tmp_path / "issues" / "clustermind" / "000_31baea9013c4bfac.txt"
    issue.parent.mkdir(parents=True)
    issue.write_text(seed_variant("a"))
    ingest_paths(settings, embedder, [issue.parent])
    issue.write_text(seed_variant("b"))
    store = IndexStore(settings)
    before, digests = index_state(settings), published_digests(settings)
    failed = []
    for step in [s for s in STEPS[op] if s not in ("switched",)]:
        def fault(name: str, step: str = step) -> None:
            if name == step:
                raise OSError(28, "No space left on device")

        with pytest.raises(IndexWriteError) as caught:
            if op == "ingest":
                ingest_paths(settings, embedder, [issue.parent], fault=fault)
            else:
                rebuild_index(settings, embedder, fault=fault)
        message = str(caught.value)
        assert "changed nothing" in message and "No space left" in message and "\n" not in message
        failed.append(step)
        assert index_state(settings) == before and published_digests(settings) == digests, step
        assert sorted(p.name for p in (settings.index_dir / "versions").iterdir()) == store.chain()
    done = ingest_paths(settings, embedder, [issue.parent]) if op == "ingest" else rebuild_index(settings, embedder)
    assert done.version == store.current() and index_state(settings)[1] == expected_state(issue)
    write_artifact(f"write-errors-{op}.json", {"injected": len(failed), "steps": failed,
                                               "current_unchanged": len(failed)})


@pytest.mark.slow
def test_full_filesystem_during_rebuild(tmp_path: Path, embedder) -> None:
    """A real full disk: a small tmpfs in a private mount namespace (`unshare -rm`, gone with the process),
    filled to several levels before a rebuild. Every failed rebuild leaves the current index untouched."""
    import json
    import shutil
    import subprocess
    import sys

    from assistant.ingest.issues import ingest_paths
    from tests.conftest import REPO, SEED_DIR

    require(shutil.which("unshare") and subprocess.run(["unshare", "-rm", "true"]).returncode == 0,
            "no unprivileged mount namespaces here (unshare -rm); the injected-error test covers it")
    settings = make_settings(tmp_path / "src")
    ingest_paths(settings, embedder, [SEED_DIR])
    probe = subprocess.run(["unshare", "-rm", sys.executable, "-m", "tests.index.enospc_probe",
                            str(settings.index_dir), str(tmp_path / "mnt")], cwd=REPO, capture_output=True,
                           text=True, timeout=600)
    assert probe.returncode == 0, probe.stderr[-3000:]
    data = json.loads(probe.stdout.strip().splitlines()[-1])
    refused = [row for row in data["levels"] if row["outcome"] == "refused"]
    assert len(refused) >= 3, data
    for row in refused:
        assert row["current_unchanged"] and row["published_unchanged"] and not row["leftovers"], row
        assert "changed nothing" in row["message"]
    assert data["levels"][-1]["outcome"] == "completed" and data["after_space_freed"]["chunks"] == 5
    write_artifact("full-disk.json", data)


# ---------------------------------------------------------------- the Chroma server dies


QUESTION = "Who will supply HBM4 memory for AMD's MI455X?"
AMD = "AMD + Samsung: HBM4 for the MI455X"


@pytest.mark.slow
def test_chroma_server_killed_during_queries(tmp_path: Path, embedder) -> None:
    """The server is killed (SIGKILL) while queries run: each failing query is one clear IndexUnavailableError
    (CLI: one line; web app: a message), and once the server is back the same processes answer again."""
    import threading

    from assistant.index.errors import IndexUnavailableError
    from assistant.ingest.issues import ingest_paths
    from assistant.pipeline import Newsdesk
    from tests.conftest import SEED_DIR, run_cli
    from tests.index.conftest import AppProcess, ChromaServer

    server = ChromaServer(tmp_path / "chroma")
    server.start()
    settings = make_settings(tmp_path / "idx", chroma_url=server.url, collection="srvkill")
    ingest_paths(settings, embedder, [SEED_DIR])
    env = {"NEWSDESK_INDEX_DIR": str(settings.index_dir), "NEWSDESK_CHROMA_URL": server.url,
           "NEWSDESK_COLLECTION": "srvkill"}
    app = AppProcess(env, tmp_path / "app.log")
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = embedder
    errors: list[BaseException] = []
    answers: list[tuple[float, str]] = []
    stop = threading.Event()

    def asker() -> None:
        while not stop.is_set():
            try:
                answers.append((time.monotonic(), desk.ask(QUESTION).citations[0].headline))
            except Exception as exc:  # noqa: BLE001 - collected and judged below
                errors.append(exc)
                time.sleep(0.05)

    try:
        app.wait()
        client = app.client()
        assert AMD in client.predict(QUESTION, api_name="/ask")
        thread = threading.Thread(target=asker, daemon=True)
        thread.start()
        time.sleep(1.0)
        server.kill()
        killed_at = time.monotonic()
        time.sleep(1.0)
        ui_reply = client.predict(QUESTION, api_name="/ask")
        assert ui_reply.startswith("Sorry:") and "Chroma server" in ui_reply, ui_reply
        cli = run_cli("ask", QUESTION, env=env)
        assert cli.returncode != 0 and "Traceback" not in cli.stderr + cli.stdout
        assert len(cli.stderr.strip().splitlines()) == 1 and "Chroma server" in cli.stderr, cli.stderr
        assert errors, "queries kept succeeding with the server dead"

        server.start()  # same port, same data folder
        restarted = time.monotonic()
        deadline = restarted + 60
        while time.monotonic() < deadline and not any(t > restarted for t, _ in answers):
            time.sleep(0.2)
        stop.set()
        thread.join(timeout=30)
        assert any(t > restarted and h == AMD for t, h in answers), "no recovery without a restart"
        assert all(isinstance(e, IndexUnavailableError) and "Chroma server" in str(e) for e in errors), \
            {type(e).__name__: str(e) for e in errors}
        assert AMD in client.predict(QUESTION, api_name="/ask")  # the web app recovered too
        assert index_state(settings)[2] == 5  # nothing lost on the server
        write_artifact("server-kill.json", {
            "queries_before_kill": sum(t < killed_at for t, _ in answers),
            "failed_while_down": len(errors), "answered_after_restart": sum(t > restarted for t, _ in answers),
            "error_types": sorted({type(e).__name__ for e in errors}), "ui_message": ui_reply[:200],
            "cli_message": cli.stderr.strip()[:300]})
    finally:
        stop.set()
        app.stop()
        server.stop()
        desk.readers.close()


# Server steps where the kill comes after the new version was validated: the writer makes no more Chroma calls
# before the switch, so it publishes (what Chroma acknowledged survives a kill -9); at the others it must fail.
AFTER_VALIDATION = ("manifest", "switch", "switched")


@pytest.mark.slow
def test_chroma_server_killed_during_writes(fault_worker: FaultWorker, tmp_path: Path, embedder) -> None:
    """`chroma run` killed (SIGKILL) at every named step of an ingest, at random moments of a real `newsdesk
    ingest`, and frozen (SIGSTOP) once: the writer fails with one line and CURRENT stays byte-for-byte as it
    was (or, killed after validation, the writer publishes a whole version); once the server is back on the same
    port and data folder the current version answers, and the next write completes and drops the failed
    writer's collection and folder."""
    import os
    import shutil
    import subprocess
    import sys
    import threading

    from assistant.pipeline import Newsdesk
    from tests.conftest import REPO
    from tests.index.conftest import SEED_FILE, ChromaServer
    from tests.index.test_server import server_collections

    test_started = time.monotonic()
    server = ChromaServer(tmp_path / "chroma")
    server.start()
    settings = make_settings(tmp_path / "idx", chroma_url=server.url, collection="srvwrite")
    store = IndexStore(settings)
    pointer = settings.index_dir / "CURRENT"
    issues = tmp_path / "issues"
    seed = issues / "clustermind" / SEED_FILE.name
    seed.parent.mkdir(parents=True)
    seed_states = {}
    for which in ("a", "b"):
        seed.write_text(seed_variant(which))
        seed_states[which] = expected_state(seed)
    seed_ids = seed_states["a"] | seed_states["b"]
    pool = sorted((REPO / "corpus" / "issues" / "last-week-in-ai").iterdir())
    base = {"op": "ingest", "index_dir": str(settings.index_dir),
            "settings": {"chroma_url": server.url, "collection": "srvwrite"}}
    env = {"NEWSDESK_INDEX_DIR": str(settings.index_dir), "NEWSDESK_CHROMA_URL": server.url,
           "NEWSDESK_COLLECTION": "srvwrite", "PYTHONUNBUFFERED": "1"}
    first = fault_worker.run(**base, paths=[str(seed.parent)])
    assert first.exit == 0, first.error
    desk = Newsdesk(settings)  # a long-lived reader, like the web app
    desk.__dict__["embedder"] = embedder

    rng = random.Random(14)
    plan: list[tuple[str, str | None]] = [("step", s) for s in FAULT_STEPS if s != "read"]
    plan += [("cli", None)] * 6 + [("frozen", "opened")]
    retried: set[str] = set()
    durations: list[float] = []
    cli_durations: list[float] = []  # the same writes as the timed `newsdesk ingest` runs, uninterrupted
    outcomes: dict = {"kills": 0, "survived": 0, "failed_with_one_line": 0, "published_before_kill": 0,
                      "current_unchanged_after_failure": 0, "documents_lost": 0, "published_versions_changed": 0,
                      "answers_after_restart": 0, "failed_write_collections_left": 0,
                      "failed_write_folders_left": 0, "old_versions_left_by_a_failed_prune": 0,
                      "left_by_next_writer": 0, "kill_points": [], "messages": {},
                      "max_writer_seconds_after_kill": 0.0}
    try:
        n = 0
        while plan:
            kind, step = plan.pop(0)
            n += 1
            variant = "b" if n % 2 else "a"
            seed.write_text(seed_variant(variant))
            job = {**base, "paths": [str(seed.parent)]}
            old_version, old_chunks, _ = index_state(settings)
            new = {c for c in old_chunks if c not in seed_ids} | seed_states[variant]
            if kind == "cli":
                # A write long enough to be hit at random moments: an issue of ~40-60 chunks to embed as well.
                fresh = issues / f"desk-{n}" / pool[n % len(pool)].name
                fresh.parent.mkdir()
                shutil.copy(pool[n % len(pool)], fresh)
                job["paths"].append(str(fresh.parent))
                new |= expected_state(fresh)
            old_pointer, digests = pointer.read_bytes(), published_digests(settings)
            before = set(store._folders())

            if kind == "step":
                assert step is not None
                result = fault_worker.run(**job, server_kill_at=step, server_pid=server.proc.pid)
                exit_code, message, seconds = result.exit, f"{result.error_type}: {result.message}", result.seconds
                point = f"step {step}"
                if server.proc.poll() is None:  # the step did not happen in this direction: no kill, try again
                    assert exit_code == 0, result.error
                    assert step not in retried, f"step {step} never happened"
                    retried.add(step)
                    plan.insert(0, (kind, step))
                    durations.append(seconds)
                    continue
                assert exit_code in (0, 1), result.error  # a Python error, never a crash
                if exit_code:
                    assert result.error_type == "IndexWriteError", result.error
            elif kind == "frozen":
                # SIGSTOP: connections are accepted, nothing answers. Without a timeout the writer waited for ever;
                # the watchdog kills the stopped server after 120 s so a regression fails instead of hanging.
                watchdog = threading.Timer(120, server.kill)
                watchdog.start()
                result = fault_worker.run(**{**job, "settings": {**base["settings"], "chroma_timeout": 5}},
                                          server_kill_at=step, server_pid=server.proc.pid, server_signal="SIGSTOP")
                watchdog.cancel()
                exit_code, message, seconds = result.exit, f"{result.error_type}: {result.message}", result.seconds
                point = f"SIGSTOP at step {step}"
                assert exit_code == 1 and result.error_type == "IndexWriteError", result.error
                assert seconds < 60, f"the writer waited {seconds:.0f} s on a frozen server"
                outcomes["frozen_server"] = {"writer_failed_after_s": round(seconds, 1), "chroma_timeout_s": 5,
                                             "message": result.message[:300]}
                server.kill()
            else:
                # A real `newsdesk ingest`, killed at a random moment after its writer opened the new version.
                typical = statistics.median(cli_durations) if cli_durations else 4.0
                delay = rng.uniform(0.0, 0.8 * typical)
                proc = subprocess.Popen([sys.executable, "-m", "assistant.cli.main", "ingest", *job["paths"]],
                                        cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                deadline = time.monotonic() + 300
                while not set(store._folders()) - before:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        proc.kill()
                        raise AssertionError(f"the writer never opened a version: {proc.communicate()[1][-3000:]}")
                    time.sleep(0.02)
                opened = time.monotonic()
                time.sleep(delay)
                if proc.poll() is not None:  # it finished first: not a kill during a write, try another moment
                    assert proc.returncode == 0, proc.communicate()[1]
                    outcomes["cli_finished_before_kill"] = outcomes.get("cli_finished_before_kill", 0) + 1
                    assert outcomes["cli_finished_before_kill"] <= 6, "the timed kills keep missing the write"
                    plan.insert(0, (kind, step))
                    proc.communicate()
                    continue
                server.kill()
                try:
                    out, err_text = proc.communicate(timeout=180)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    raise AssertionError("`newsdesk ingest` hung after the Chroma server was killed") from None
                exit_code, seconds = proc.returncode, time.monotonic() - opened
                point = f"cli {delay:.2f}s after open"
                assert "Traceback" not in out + err_text, err_text
                if exit_code:
                    lines = err_text.strip().splitlines()
                    assert exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), err_text
                    message = lines[0]
                else:
                    message = ""
            outcomes["kills"] += 1
            outcomes["kill_points"].append(point)
            outcomes["max_writer_seconds_after_kill"] = max(outcomes["max_writer_seconds_after_kill"],
                                                            round(seconds, 1))

            if exit_code:
                # One line that says what failed and that nothing changed; CURRENT is byte-for-byte as it was.
                assert "\n" not in message and "changed nothing" in message and "Chroma server" in message, message
                assert pointer.read_bytes() == old_pointer, point
                outcomes["failed_with_one_line"] += 1
                outcomes["current_unchanged_after_failure"] += 1
                outcomes["messages"].setdefault(kind, message[:300])
            else:
                assert kind == "cli" or step in AFTER_VALIDATION, f"{point}: published with the server dead"
                assert store.current() != old_version
                outcomes["published_before_kill"] += 1
            for kept, digest in published_digests(settings).items():
                if kept in digests and digests[kept] != digest:
                    outcomes["published_versions_changed"] += 1

            server.start()  # same port, same data folder
            version, chunks, count = index_state(settings)
            assert version == store.current()
            assert chunks == (old_chunks if exit_code else new), point
            outcomes["documents_lost"] += len((old_chunks & new) - chunks)
            time.sleep(desk.readers.check_every + 0.05)
            for attempt in range(3):  # a reader that failed on the dead server is replaced on the next request
                try:
                    answer = desk.ask(QUESTION)
                    break
                except Exception:  # noqa: BLE001 - retried; the last attempt raises
                    if attempt == 2:
                        raise
            assert answer.citations and answer.citations[0].headline == AMD
            assert desk.readers.get().version == version
            outcomes["answers_after_restart"] += 1
            # What the dead server kept the writer from dropping: its own version (collection and folder), and,
            # killed after the switch, the versions beyond NEWSDESK_KEEP_VERSIONS (the prune failed).
            chain = store.chain()
            ours = {f"srvwrite-{v}" for v in set(store._folders()) - before - set(chain)}
            stray = server_collections(settings, store) - {f"srvwrite-{v}" for v in chain}
            outcomes["failed_write_collections_left"] += len(stray & ours)
            outcomes["failed_write_folders_left"] += len(ours)
            outcomes["old_versions_left_by_a_failed_prune"] += len(stray - ours)

            # The next write completes, and leaves nothing of the failed one, on disk or on the server.
            after = fault_worker.run(**job)
            assert after.exit == 0, after.error
            (cli_durations if kind == "cli" else durations).append(after.seconds)
            version, chunks, count = index_state(settings)
            assert chunks == new and count == len(new)
            chain = store.chain()
            left = (set(store._folders()) - set(chain)) | (
                server_collections(settings, store) - {f"srvwrite-{v}" for v in chain})
            outcomes["left_by_next_writer"] += len(left)
            assert not left, f"{point}: {left}"
            outcomes["survived"] += 1
    finally:
        desk.readers.close()
        server.stop()

    assert outcomes["kills"] >= 17 and outcomes["survived"] == outcomes["kills"]
    assert outcomes["documents_lost"] == 0 and outcomes["published_versions_changed"] == 0
    outcomes["median_write_s"] = round(statistics.median(durations), 2)
    outcomes["median_write_with_an_issue_to_embed_s"] = round(statistics.median(cli_durations), 2)
    outcomes["test_seconds"] = round(time.monotonic() - test_started, 1)
    write_artifact("server-kill-writes.json", outcomes)


# ---------------------------------------------------------------- concurrent users during an ingest


USER_QUESTIONS = [
    QUESTION,
    "What did OpenAI acquire to own the Python developer stack?",
    "How much of AI spending goes to inference?",
    "What happened in the Rust project this week?",
    "What did Last Week in AI say about image generation?",
    "Which company licenses training data?",
]


@pytest.mark.slow
def test_20_users_for_60_s_while_ingests_run(corpus_index, fault_worker: FaultWorker, tmp_path: Path) -> None:
    """20 gradio_client users ask for 60 s against `python app.py` while the writer process publishes one new
    version after another: no errors, and the latency percentiles are recorded."""
    import shutil
    import threading

    from tests.index.conftest import AppProcess

    index = tmp_path / "idx"
    shutil.copytree(corpus_index.index_dir, index,
                    ignore=shutil.ignore_patterns("readers", ".write.lock", "feedback.jsonl"))
    issue = tmp_path / "issues" / "live-desk" / "000_live.txt"
    issue.parent.mkdir(parents=True)
    app = AppProcess({"NEWSDESK_INDEX_DIR": str(index)}, tmp_path / "app.log")
    latencies: list[float] = []
    errors: list[str] = []
    versions: list[str] = []
    ingest_failures: list[str] = []
    lock = threading.Lock()
    try:
        app.wait()
        warm = app.client()
        assert AMD in warm.predict(QUESTION, api_name="/ask")
        start = time.monotonic()
        end = start + 60

        def user(n: int) -> None:
            client = app.client()
            rng = random.Random(n)
            while time.monotonic() < end:
                question = rng.choice(USER_QUESTIONS)
                t0 = time.monotonic()
                try:
                    reply = client.predict(question, api_name="/ask")
                    problem = reply if not isinstance(reply, str) or reply.startswith("Sorry:") else None
                except Exception as exc:  # noqa: BLE001 - counted as an error
                    problem = f"{type(exc).__name__}: {exc}"
                with lock:
                    latencies.append(time.monotonic() - t0)
                    if problem:
                        errors.append(f"{question}: {str(problem)[:200]}")

        def writer() -> None:
            variant = "a"
            while time.monotonic() < end:
                variant = "b" if variant == "a" else "a"
                issue.write_text(seed_variant(variant))
                result = fault_worker.run(op="ingest", index_dir=str(index), paths=[str(issue.parent)])
                if result.exit != 0:
                    ingest_failures.append(result.error[-500:])
                versions.append(IndexStore(make_settings(index)).current() or "")

        threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(20)]
        threads.append(threading.Thread(target=writer, daemon=True))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        elapsed = time.monotonic() - start
        # The app (its own process) serves a version published after it started, without a restart.
        (issue.parent / "001_news.txt").write_text(
            "Zephyr llama sanctuary opens\nThe zephyr llama sanctuary opened its gates in Oslo on Monday, "
            "with forty llamas, a library of maps and a bakery for visitors.\n")
        late = fault_worker.run(op="ingest", index_dir=str(index), paths=[str(issue.parent)])
        assert late.exit == 0, late.error
        # The app looks at the pointer at most every check_every seconds (CHECK_EVERY): wait that long first.
        time.sleep(CHECK_EVERY + 0.05)
        picked_up = warm.predict("When did the zephyr llama sanctuary open in Oslo?", api_name="/ask")
        assert "Zephyr llama sanctuary" in picked_up, picked_up
    finally:
        app.stop()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 3)

    result = {"users": 20, "seconds": round(elapsed, 1), "requests": len(latencies), "errors": len(errors),
              "error_samples": errors[:5], "p50_s": pct(0.50), "p95_s": pct(0.95), "max_s": ordered[-1],
              "versions_published_during_load": len(set(versions)), "ingest_failures": len(ingest_failures)}
    write_artifact("concurrency.json", result)
    assert not ingest_failures, ingest_failures[:1]
    assert len(set(versions)) >= 2, "the ingests did not publish during the load"
    assert errors == [], errors[:5]
    assert len(latencies) >= 40


# ---------------------------------------------------------------- hostile inputs


@pytest.mark.slow
def test_hostile_inputs_through_newsdesk_ingest(tmp_path: Path, embedder) -> None:
    """Every file of ../shared/data/feeds/ plus generated junk, through the real `newsdesk ingest`: no crash,
    one clear line per rejected file, and nothing already in the index is lost."""
    import json
    import os

    from assistant.ingest.issues import display_path, ingest_paths
    from tests.conftest import SEED_DIR, SHARED, run_cli

    feeds = SHARED / "feeds"
    require(feeds.is_dir(), f"shared data missing: {feeds}")
    settings = make_settings(tmp_path / "idx")
    ingest_paths(settings, embedder, [SEED_DIR])
    version0, chunks0, count0 = index_state(settings)
    junk = make_junk(tmp_path / "junk")
    traversal = str(tmp_path / "junk" / ".." / ".." / ".." / ".." / "etc" / "passwd")
    args = [str(feeds), str(tmp_path / "junk"), traversal, str(tmp_path / "missing.md")]
    result = run_cli("ingest", "--json", *args, env={"NEWSDESK_INDEX_DIR": str(settings.index_dir)}, timeout=900)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]
    data = json.loads(result.stdout)
    rejected = {r["path"]: r["reason"] for r in data["rejected"]}
    ingested = {i["path"] for i in data["ingested"]}
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped ")]
    assert len(lines) == len(data["rejected"]), "one line per rejected input"

    inputs = [Path(dirpath) / name for dirpath, _, names in os.walk(feeds) for name in names]
    inputs += [p for p in junk]
    inputs += [Path(traversal), tmp_path / "missing.md"]
    unaccounted = [str(p) for p in inputs if display_path(p) not in rejected and display_path(p) not in ingested]
    assert unaccounted == [], unaccounted[:10]
    assert all(reason.strip() for reason in rejected.values())
    for name, reason in (("binary.md", "binary"), ("empty.txt", "empty"), ("huge-50mb.txt", "larger than"),
                         ("pipe.md", "not a regular file"), ("feed.xml", "unsupported file type"),
                         ("missing.md", "no such file")):
        assert any(p.endswith(name) and reason in r for p, r in rejected.items()), (name, rejected)

    # Nothing lost: every chunk of the index before is still there, the rejected inputs added nothing.
    version1, chunks1, count1 = index_state(settings)
    assert chunks0 <= chunks1
    added = sum(1 for cid, _ in chunks1 if cid not in {c for c, _ in chunks0})
    assert count1 == count0 + added
    assert added >= sum(i["stories"] for i in data["ingested"])  # a story is one chunk or more
    write_artifact("bad-inputs.json", {
        "inputs": len(inputs), "feeds_files": len(inputs) - len(junk) - 2, "generated_junk": len(junk) + 2,
        "rejected_with_a_line": len(rejected), "ingested": len(ingested), "chunks_before": count0,
        "chunks_after": count1, "chunks_added_by_accepted_files": added, "documents_lost": len(chunks0 - chunks1),
        "crashes": 0})


@pytest.mark.slow
def test_uploads_with_path_traversal_names_stay_in_the_index(tmp_path: Path, embedder) -> None:
    """Uploads keep their bytes under <index_dir>/uploads/ whatever name the browser sends, and, being recorded
    sources, are read again by a rebuild."""
    from assistant.ingest.issues import ingest_paths
    from assistant.ingest.rebuild import rebuild_index
    from assistant.ui.admin import UploadError, store_upload

    settings = make_settings(tmp_path / "idx")
    uploads = (settings.index_dir / "uploads").resolve()
    body = "# Upload {n}\n\n## Heron count {n} rises\n\nThe marsh heron count {n} rose again this spring.\n"
    hostile = ["../../../../etc/cron.d/evil.md", "..\\..\\windows\\win.md", "/etc/passwd.md", "a/../../b.md",
               "%2e%2e%2fencoded.md", ".hidden.md", "nul\x00byte.md", "CON.md", "ünïcödé naïve.md", "../.md"]
    stored: list[Path] = []
    refused: list[str] = []
    for n, name in enumerate(hostile):
        temp = tmp_path / f"upload-{n}"
        temp.write_text(body.format(n=n))
        try:
            stored.append(store_upload(settings, temp, original_name=name, source_name="../../Team Uploads"))
        except UploadError as exc:
            refused.append(f"{name!r}: {exc}")
    for path in stored:
        assert path.resolve().is_relative_to(uploads), path
    assert len(stored) >= 8, refused
    assert not any(Path("/etc").glob("*evil*")) and not (tmp_path / "b.md").exists()
    report = ingest_paths(settings, embedder, stored)
    assert not report.rejected and len(report.issues) == len(set(stored))
    rebuilt = rebuild_index(settings, embedder)
    assert rebuilt.reread == len(set(stored)) and not rebuilt.kept
    write_artifact("uploads.json", {"hostile_names": len(hostile), "stored_inside_uploads": len(stored),
                                    "refused": refused, "escaped": 0, "reread_by_rebuild": rebuilt.reread})
