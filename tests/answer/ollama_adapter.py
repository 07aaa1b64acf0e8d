"""A minimal Ollama-API front for a real llama.cpp server, for testing the Ollama backend without an Ollama binary.

No Ollama build installs from the package registries this project may use, so the Ollama path is tested like
this: llama-index-llms-ollama -> the `ollama` client -> this adapter (POST /api/chat, NDJSON streaming, the
wire format of Ollama's API) -> llama.cpp's OpenAI-compatible server (xllamacpp) -> SmolLM2. The model and its
output are real; only the HTTP dialect is translated. Serves 127.0.0.1 only; stops with the test session.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class OllamaAdapter:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")  # e.g. http://127.0.0.1:PORT (llama.cpp server root)
        self.requests: list[dict[str, Any]] = []
        adapter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != "/api/chat":
                    self.send_error(404, "only /api/chat is translated")
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                adapter.requests.append(body)
                adapter.chat(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> OllamaAdapter:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def chat(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        options = body.get("options") or {}
        stream = body.get("stream", True)
        payload = {"messages": [{"role": m["role"], "content": m.get("content", "")} for m in body["messages"]],
                   "stream": stream, "temperature": options.get("temperature", 0.0),
                   "max_tokens": options.get("num_predict", 128)}
        req = urllib.request.Request(f"{self.upstream}/v1/chat/completions", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        model = body.get("model", "")
        with urllib.request.urlopen(req, timeout=300) as resp:  # noqa: S310 - loopback only
            if not stream:
                data = json.loads(resp.read())
                text = data["choices"][0]["message"]["content"] or ""
                self._send(handler, [{"model": model, "created_at": _now(), "done": True, "done_reason": "stop",
                                      "message": {"role": "assistant", "content": text}}], stream=False)
                return
            handler.send_response(200)
            handler.send_header("Content-Type", "application/x-ndjson")
            handler.end_headers()
            for raw in resp:
                line = raw.decode().strip()
                if not line.startswith("data:") or line == "data: [DONE]":
                    continue
                delta = json.loads(line[5:])["choices"][0].get("delta", {}).get("content") or ""
                if delta:
                    self._line(handler, {"model": model, "created_at": _now(), "done": False,
                                         "message": {"role": "assistant", "content": delta}})
            self._line(handler, {"model": model, "created_at": _now(), "done": True, "done_reason": "stop",
                                 "message": {"role": "assistant", "content": ""}})

    @staticmethod
    def _line(handler: BaseHTTPRequestHandler, obj: dict[str, Any]) -> None:
        handler.wfile.write((json.dumps(obj) + "\n").encode())
        handler.wfile.flush()

    def _send(self, handler: BaseHTTPRequestHandler, objs: list[dict[str, Any]], *, stream: bool) -> None:
        data = json.dumps(objs[0]).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
