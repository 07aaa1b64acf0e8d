"""`newsdesk ask/search/coverage --url URL`: the question goes to a running app through its public API instead
of loading the model and the index in this process (the CLI then answers in well under a second).

Plain HTTP with the standard library (no gradio_client, no httpx: both cost more to import than the answer takes):
`POST /gradio_api/call/<name>` with the arguments, then `GET /gradio_api/call/<name>/<event_id>`, an event stream
that ends with `event: complete` (the result) or `event: error` (the app's one-line refusal). Every failure is a
`RemoteError` with one line: the app down, a wrong address, an app that refuses.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import date
from types import SimpleNamespace
from typing import Any, TypeVar

import click

from assistant.errors import NewsdeskError

F = TypeVar("F", bound=Callable[..., Any])
TIMEOUT = float(os.environ.get("NEWSDESK_URL_TIMEOUT") or 300)  # a cold app loads its model for the first answer


class RemoteError(NewsdeskError, RuntimeError):
    """The app could not be reached, is not a Newsdesk app, or refused the request; one line."""


def url_option(func: F) -> F:
    return click.option("--url", envvar="NEWSDESK_URL", metavar="URL",
                        help="Ask a running Newsdesk app at this address (e.g. http://127.0.0.1:7860) through its "
                             "API instead of loading the index here: same output, answered in about a second. "
                             "The app's index and answer mode are used.")(func)


def base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "http://" + url
    if not url.startswith(("http://", "https://")):
        raise RemoteError(f"--url must be an http:// or https:// address, not {url!r}")
    return url


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the app running?)"
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"no answer within {TIMEOUT:g} s"
    return " ".join(str(getattr(reason, "strerror", None) or reason).split()) or type(reason).__name__


def _refusal(body: bytes) -> str:
    """An error reply's text: Gradio's {"detail"/"error": ...} or the guard's plain line."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300]
    if isinstance(data, dict):
        data = data.get("error") or data.get("detail") or data
    return " ".join(str(data).split())[:300]


def stream_result(stream: Iterable[bytes]) -> tuple[str, Any] | None:
    """The end of a Gradio event stream (`GET /gradio_api/call/<name>/<event id>`): ("complete", the output
    values) or ("error", its detail); None when the stream stops without either (the app went away)."""
    event = ""
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:") and event in ("complete", "error"):
            return event, json.loads(line[5:])
    return None


def call(url: str, name: str, args: list[Any]) -> Any:
    """Run the public endpoint /name with these positional arguments; its (last) output value."""
    import urllib.error
    import urllib.request

    base = base_url(url)
    where = f"{base}/gradio_api/call/{name}"
    request = urllib.request.Request(where, data=json.dumps({"data": args}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as reply:
            event_id = json.loads(reply.read())["event_id"]
        with urllib.request.urlopen(f"{where}/{event_id}", timeout=TIMEOUT) as stream:
            ended = stream_result(stream)
        if ended is not None:
            event, data = ended
            if event == "error":
                raise RemoteError(f"the app refused: {_refusal(json.dumps(data).encode()) or 'error'}")
            if not isinstance(data, list) or not data:
                raise RemoteError(f"{base} sent an empty result for /{name}")
            return data[-1]
    except urllib.error.HTTPError as exc:
        detail = _refusal(exc.read())
        if exc.code == 404:
            raise RemoteError(f"{base} has no /{name} endpoint (HTTP 404): is it a Newsdesk app? {detail}") from exc
        raise RemoteError(f"the app at {base} refused /{name} (HTTP {exc.code}): {detail}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise RemoteError(f"cannot reach the Newsdesk app at {base}: {_reason(exc)}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise RemoteError(f"{base} did not answer as a Newsdesk app (/{name}: {exc})") from exc
    raise RemoteError(f"{base} ended the answer stream of /{name} without a result")


def ask_json(url: str, question: str, since: str, until: str, source: list[str], section: list[str],
             kind: str) -> dict[str, Any]:
    """The app's answer as `Answer.to_json()` (the /ask endpoint with format=json)."""
    value = call(url, "ask", [question, since, until, source, section, kind, "json"])
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        data = None
    if not isinstance(data, dict) or "answer" not in data:
        raise RemoteError(f"the app at {base_url(url)} answered /ask without a JSON answer (an older version?)")
    return data


def _namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{str(k): _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


def as_object(data: Any, name: str, *keys: str) -> Any:
    """A JSON reply -> attributes, the shape the printers of local results read (Answer, ArchiveResult, Coverage:
    they print attributes only); the week of a coverage timeline back to a date."""
    if not isinstance(data, dict) or any(k not in data for k in keys):
        raise RemoteError(f"the app's /{name} answer lacks {', '.join(k for k in keys if k not in (data or {}))}"
                          if isinstance(data, dict) else f"the app's /{name} answer is not a JSON object")
    result = _namespace(data)
    for week in getattr(result, "weeks", None) or []:
        week.week = date.fromisoformat(week.week)
    return result
