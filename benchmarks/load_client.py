"""The load test's clients (benchmarks/bench_multiprocess.py): distinct questions from the corpus's headlines,
users as threads, asked round-robin over several app processes through the app's plain HTTP API (as `newsdesk ask
--url` does), with a retry on the next process after a connection error, and the phase summaries."""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common import REPO, parse_folder, percentile  # isort: skip
from assistant.cli.remote import stream_result  # noqa: E402

CORPUS = REPO / "corpus" / "issues"
TIMEOUT_S = 60.0

TEMPLATES = (
    "What happened with {h}?",
    "What did the newsletter report about {h}?",
    "Tell me about {h}.",
    "What is the story behind {h}?",
    "What were the details of {h}?",
    "Why did {h} make the news?",
    "Summarize the coverage of {h}.",
    "What do we know about {h}?",
    "What was said about {h}?",
    "Give me the key facts on {h}.",
)


def questions() -> list[str]:
    """Distinct questions over the corpus's headlines, shuffled (fixed seed)."""
    heads = sorted({s.headline.strip().rstrip(".?!") for i in parse_folder(CORPUS) for s in i.stories
                    if 3 <= len(s.headline.split()) <= 20})
    out = sorted({t.format(h=h) for h in heads for t in TEMPLATES})
    random.Random(14).shuffle(out)
    return out


# ---------------------------------------------------------------- the client


class Unreachable(Exception):
    """The process could not be reached or dropped the connection: the question goes to the other one."""


class Refused(Exception):
    """The process answered, but not with an answer (the app's error, a bad reply, a timeout)."""


CONNECTION_ERRORS = (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead,
                     http.client.BadStatusLine)


def call(base: str, name: str, args: list[Any], *, timeout: float = TIMEOUT_S) -> Any:
    """One public endpoint on one process, the way `newsdesk ask --url` calls it (assistant/cli/remote.py):
    `POST /gradio_api/call/<name>`, then its event stream; the last output value."""
    where = f"{base}/gradio_api/call/{name}"
    body = json.dumps({"data": args}).encode()
    request = urllib.request.Request(where, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - loopback only
            event_id = json.loads(reply.read())["event_id"]
        with urllib.request.urlopen(f"{where}/{event_id}", timeout=timeout) as stream:  # noqa: S310
            ended = stream_result(stream)
        if ended is not None:
            event, data = ended
            if event == "error":
                raise Refused(f"the app refused: {str(data)[:200]}")
            return data[-1]
    except urllib.error.HTTPError as exc:
        raise Refused(f"HTTP {exc.code}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, OSError) and not isinstance(exc.reason, TimeoutError):
            raise Unreachable(str(exc.reason)) from exc
        raise Refused(str(exc.reason)) from exc
    except CONNECTION_ERRORS as exc:
        raise Unreachable(type(exc).__name__) from exc
    except TimeoutError as exc:
        raise Refused("timed out") from exc
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise Refused(f"bad reply: {exc}") from exc
    # The stream ended without a result: the process went away mid-answer.
    raise Unreachable("the event stream ended without a result")


def ask(base: str, question: str, *, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """/ask with format json: the answer as `Answer.to_json()`."""
    value = call(base, "ask", [question, "", "", "", "", "auto", "json"], timeout=timeout)
    try:
        answer = json.loads(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise Refused(f"not an answer: {str(value)[:200]}") from exc
    if not isinstance(answer, dict) or "answer" not in answer:
        raise Refused(f"not an answer: {str(value)[:200]}")
    return answer


@dataclass
class Sample:
    started: float  # monotonic
    seconds: float
    ok: bool
    lost: bool = False
    retried: bool = False
    refused_answer: bool = False
    process: int = -1  # which process answered
    first: int = -1  # which process it was sent to first
    error: str = ""


class RoundRobin:
    """Each question to the next process in turn; on a connection error, the same question to the other one."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def ask(self, question: str) -> Sample:
        with self._lock:
            first = next(self._turn) % len(self.urls)
        order = [first] + [i for i in range(len(self.urls)) if i != first]
        started = time.monotonic()
        retried = False
        error = ""
        for n, which in enumerate(order):
            try:
                answer = ask(self.urls[which], question)
            except Unreachable as exc:
                retried, error = n + 1 < len(order), f"unreachable: {exc}"
                continue
            except Refused as exc:
                return Sample(started, time.monotonic() - started, ok=False, retried=retried, process=which,
                              first=first, error=str(exc))
            return Sample(started, time.monotonic() - started, ok=True, retried=retried, process=which,
                          first=first, refused_answer=bool(answer.get("refused")))
        return Sample(started, time.monotonic() - started, ok=False, lost=True, retried=retried, first=first,
                      error=error)


class QuestionPool:
    def __init__(self, items: list[str]) -> None:
        self._items = iter(items)
        self._lock = threading.Lock()
        self.used = 0

    def next(self) -> str:
        with self._lock:
            self.used += 1
            try:
                return next(self._items)
            except StopIteration:
                raise SystemExit("ran out of distinct questions; shorten the phases") from None


phase_start: list[float] = []


def run_phase(client: RoundRobin, pool: QuestionPool, users: int, seconds: float,
              during: Callable[[float], None] | None = None) -> tuple[list[Sample], float]:
    """`users` threads asking in a loop for `seconds`; `during(start)` runs alongside. (samples, elapsed)."""
    samples: list[Sample] = []
    lock = threading.Lock()
    start = time.monotonic()
    phase_start.append(start)
    end = start + seconds

    side_done = threading.Event()

    def user() -> None:  # the users keep asking until the phase is over and so is what runs alongside
        while time.monotonic() < end or (during is not None and not side_done.is_set()):
            sample = client.ask(pool.next())
            with lock:
                samples.append(sample)

    threads = [threading.Thread(target=user, daemon=True) for _ in range(users)]
    for t in threads:
        t.start()
    failure: list[BaseException] = []

    def side() -> None:
        try:
            during(start)  # type: ignore[misc]
        except BaseException as exc:  # noqa: BLE001 - reported after the users stop
            failure.append(exc)
        finally:
            side_done.set()

    if during is not None:
        threading.Thread(target=side, daemon=True).start()
    for t in threads:
        t.join()
    if failure:
        raise failure[0]
    return samples, time.monotonic() - start


def summary(users: int, samples: list[Sample], elapsed: float, label: str = "") -> dict[str, Any]:
    good = [s.seconds for s in samples if s.ok]
    cores = os.cpu_count() or 1
    return {"phase": label or f"{users} users, 2 processes", "users": users, "answers": len(good),
            "elapsed_s": round(elapsed, 2), "answers_per_s": round(len(good) / elapsed, 2),
            "answers_per_s_per_core": round(len(good) / elapsed / cores, 2),
            "p50_s": round(percentile(good, 0.5), 3), "p95_s": round(percentile(good, 0.95), 3),
            "max_s": round(max(good, default=float("nan")), 3),
            "errors": sum(not s.ok and not s.lost for s in samples), "lost": sum(s.lost for s in samples),
            "retried": sum(s.retried for s in samples), "refusals": sum(s.refused_answer for s in samples),
            "error_examples": sorted({s.error for s in samples if s.error and not s.retried})[:5],
            "load_avg_end": [round(x, 2) for x in os.getloadavg()]}


# ---------------------------------------------------------------- the writer and the marker polls
