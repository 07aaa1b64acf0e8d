"""An ASGI layer in front of Gradio's routes: only the public endpoints are callable by name, and uploads need
an admin sign-in and stay within the size and count limits.

Gradio 6.31 runs any event named in `/gradio_api/run/<name>` or `/gradio_api/call/<name>`, whatever its
`api_visibility` ("private" only hides it from the API page; `api_name=False` names it "false"), and a
`fn_index` in the body of `/run/<public name>` runs that event instead. The browser itself only uses
`/gradio_api/queue/join` (by event number), where the admin events check the sign-in themselves (signin.py).

Gradio's `/gradio_api/upload` stores files for anyone; only the Admin tab uploads, so a request without a live
admin sign-in cookie is refused before its body is read, and one with more than `max_files` files or bytes
beyond `max_files` x `max_bytes` is cut off. Gradio itself refuses any one file over `max_bytes`
(`launch(max_file_size=...)`), and `gr.Blocks(delete_cache=...)` sweeps the upload cache.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from assistant.ui.signin import AdminSessions, SignInThrottle

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

BY_NAME = re.compile(r"/gradio_api/(run|api|call/v2|call)/([^/]+)(?:/([^/]+))?/?$")
UPLOAD = re.compile(r"/gradio_api/upload/?$")
JOIN = re.compile(r"/gradio_api/queue/join/?$")
MAX_RUN_BODY = 1_000_000  # a /run request body is one question and its filters
PART_OVERHEAD = 64 * 1024  # multipart headers per file, generously


def format_size(n: int) -> str:
    """Bytes as the upload widget prints them (binary units, one decimal under 10): 5242880 -> "5.0 MB"."""
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KB"
    for bigger in ("MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}" if value < 10 else f"{round(value)} {unit}"


@dataclass
class GuardConfig:
    blocks: Any  # the gr.Blocks; its public events are read at the first request (after it is built)
    sessions: AdminSessions | None  # None: the Admin tab is off and nothing may be uploaded
    max_files: int
    max_bytes: int
    throttle: SignInThrottle | None = None  # the Admin sign-in's: a locked client's sign-in never reaches the queue
    sign_in_event: str = "admin_sign_in"
    _public: dict[str, int] | None = field(default=None, repr=False)
    _sign_in: set[int] | None = field(default=None, repr=False)

    def parameters(self, name: str) -> list[inspect.Parameter]:
        """The parameters of a public endpoint's function (gr.api), in order."""
        fn = self.blocks.fns[self.public()[name]].fn
        return [p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    def sign_in_ids(self) -> set[int]:
        if self._sign_in is None:
            self._sign_in = {fn._id for fn in self.blocks.fns.values() if fn.api_name == self.sign_in_event}
        return self._sign_in

    def public(self) -> dict[str, int]:
        """Public event name -> its event number."""
        if self._public is None:
            self._public = {fn.api_name: fn._id for fn in self.blocks.fns.values()
                            if getattr(fn, "api_visibility", "public") == "public" and isinstance(fn.api_name, str)}
        return self._public


class ApiGuard:
    """Pure ASGI middleware (streams pass through untouched); install with
    `launch(app_kwargs={"middleware": [Middleware(ApiGuard, config=...)]}`."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], config: GuardConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        named = BY_NAME.search(path)
        if named:
            kind, name, event = named.groups()
            public = self.config.public()
            if name not in public or (event is not None and not kind.startswith("call")):
                await _reply(send, 404, f"no API endpoint named /{name}; the public ones are "
                             + ", ".join(f"/{n}" for n in sorted(public)))
                return
            if kind in ("run", "api", "call") and method == "POST" and event is None:
                body = await _read_body(receive, MAX_RUN_BODY)
                if body is None:
                    await _reply(send, 413, "request body too large")
                    return
                if not _index_matches(body, public[name]):
                    await _reply(send, 404, f"/{name} runs only its own event; leave out fn_index")
                    return
                try:
                    body = self._fill_arguments(name, body)
                except ValueError as exc:
                    await _reply(send, 422, str(exc))
                    return
                scope = _with_length(scope, len(body))
                receive = _replay(body, receive)
        elif method == "POST" and UPLOAD.search(path):
            await self._upload(scope, receive, send)
            return
        elif method == "POST" and JOIN.search(path) and self.config.throttle is not None:
            # A client that keeps trying while it must wait is answered here, before the queue, a worker or an
            # event stream: a flood of guesses costs the server one small JSON parse each (signin.py decides
            # every other try, and words the answer in the form).
            body = await _read_body(receive, None)
            wait = self.config.throttle.flooding(_client_host(scope))
            if wait > 0 and _event_of(body) in self.config.sign_in_ids():
                await _reply(send, 429, f"too many wrong passwords; try again in {math.ceil(wait)} s")
                return
            receive = _replay(body or b"", receive)
        await self.app(scope, receive, send)

    def _fill_arguments(self, name: str, body: bytes) -> bytes:
        """Positional arguments of a public endpoint: the optional ones left out get their defaults (as
        gradio_client fills them in), a wrong count is one line naming the parameters."""
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return body  # Gradio answers a malformed body itself
        if not isinstance(data, dict) or "data" not in data:
            return body
        args = data["data"]
        params = self.config.parameters(name)
        if not isinstance(args, list):
            raise ValueError(f"/{name}: 'data' must be a list of its arguments ({', '.join(p.name for p in params)})")
        required = sum(p.default is inspect.Parameter.empty for p in params)
        if not required <= len(args) <= len(params):
            takes = f"{required} to {len(params)}" if required != len(params) else str(required)
            raise ValueError(f"/{name} takes {takes} arguments ({', '.join(p.name for p in params)}), "
                             f"not {len(args)}")
        if len(args) == len(params):
            return body
        data["data"] = args + [p.default for p in params[len(args):]]
        return json.dumps(data).encode()

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        config = self.config
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        sessions = config.sessions
        if sessions is None:
            await _reply(send, 403, "uploads are off (the Admin tab is off)")
            return
        if not sessions.valid(sessions.key_from(_cookies(headers.get("cookie", "")))):
            await _reply(send, 403, "uploads need an admin sign-in (sign in on the Admin tab)")
            return
        limit = config.max_files * (config.max_bytes + PART_OVERHEAD)
        too_many = (f"at most {config.max_files} files of {format_size(config.max_bytes)} each in one upload "
                    "(NEWSDESK_MAX_UPLOAD_FILES, NEWSDESK_MAX_UPLOAD_BYTES)")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, too_many)
            return
        boundary = re.search(r"boundary=\"?([^\";]+)", headers.get("content-type", ""))
        counter = _PartCounter(boundary.group(1).encode("latin-1") if boundary else None)
        cut = False

        async def counted() -> Message:
            nonlocal cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                counter.feed(message.get("body", b""))
                if counter.parts > config.max_files or counter.size > limit:
                    cut = True
                    await _reply(send, 413, too_many)
                    return {"type": "http.disconnect"}
            return message

        async def quiet_after_cut(message: Message) -> None:
            if not cut:
                await send(message)

        try:
            await self.app(scope, counted, quiet_after_cut)
        except Exception:
            if not cut:  # the app's own failure: not ours to hide
                raise


class _PartCounter:
    """Counts the parts of a multipart body as it streams in, by its boundary (which the body may not hold)."""

    def __init__(self, boundary: bytes | None) -> None:
        self.delimiter = b"--" + boundary if boundary else None
        self.seen = 0
        self.size = 0
        self._tail = b""

    @property
    def parts(self) -> int:
        return max(0, self.seen - 1)  # the closing delimiter is not a part

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if not self.delimiter:
            return
        data = self._tail + chunk
        found = data.count(self.delimiter)
        if found:
            self.seen += found
            data = data[data.rfind(self.delimiter) + len(self.delimiter):]  # never counted twice
        self._tail = data[-(len(self.delimiter) - 1):]


def _cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq and name:
            out.setdefault(name, value.strip().strip('"'))
    return out


def _index_matches(body: bytes, own: int) -> bool:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return True  # Gradio answers a malformed body itself
    if not isinstance(data, dict) or data.get("fn_index") is None:
        return True
    index = data["fn_index"]
    return type(index) is int and index == own


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown client"  # as gr.Request.client.host reads it


def _event_of(body: bytes | None) -> int | None:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    index = data.get("fn_index") if isinstance(data, dict) else None
    return index if type(index) is int else None


async def _read_body(receive: Receive, limit: int | None) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _with_length(scope: Scope, length: int) -> Scope:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    return {**scope, "headers": [*headers, (b"content-length", str(length).encode())]}


def _replay(body: bytes, then: Receive) -> Receive:
    """The body read already, then the real channel (which reports the client's disconnect when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "error": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
