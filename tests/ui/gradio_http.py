"""Gradio's queue over plain HTTP, the way the page's own JavaScript drives it: `/gradio_api/queue/join` with an
event number and a session hash, then the session's event stream. Used by the tests and benchmarks that act as
a browser (or as an attacker replaying one): they choose the session hash and the cookies themselves."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Outcome:
    success: bool
    data: list[Any] = field(default_factory=list)
    error: str | None = None

    def text(self) -> str:
        """Every string of the outputs (and the error), joined: what a test searches for a message."""
        parts = [d for d in self.data if isinstance(d, str)]
        parts += [d.get("value") for d in self.data if isinstance(d, dict) and isinstance(d.get("value"), str)]
        return " ".join([*parts, self.error or ""])


class GradioHttp:
    def __init__(self, base_url: str, *, cookies: dict[str, str] | None = None, timeout: float = 120.0,
                 config: dict[str, Any] | None = None, http: httpx.Client | None = None) -> None:
        self.base = base_url.rstrip("/")
        # `http`: a client to share (its connections); cookies then go in this object's own header.
        self.http = http or httpx.Client(base_url=self.base, timeout=timeout, verify=False)
        self.cookie_header = "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())
        if http is None:
            for name, value in (cookies or {}).items():
                self.http.cookies.set(name, value)
        self._config = config  # the page's /config, when the caller has it already

    def close(self) -> None:
        self.http.close()

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = self.http.get(f"{self.base}/config").json()
        return self._config

    def fn_index(self, api_name: str) -> int:
        for dep in self.config["dependencies"]:
            if dep.get("api_name") == api_name:
                return int(dep["id"])
        raise KeyError(f"no event named {api_name}")

    def call(self, api_name: str, data: list[Any], *, session_hash: str | None = None) -> Outcome:
        """One event through the queue, as the page sends it; waits for its completion."""
        session_hash = session_hash or secrets.token_hex(6)
        headers = {"cookie": self.cookie_header} if self.cookie_header else {}
        joined = self.http.post(f"{self.base}/gradio_api/queue/join", headers=headers, json={
            "data": data, "event_data": None, "fn_index": self.fn_index(api_name), "trigger_id": None,
            "session_hash": session_hash})
        if joined.status_code != 200:
            return Outcome(False, error=f"HTTP {joined.status_code}: {joined.text}")
        event_id = joined.json()["event_id"]
        with self.http.stream("GET", f"{self.base}/gradio_api/queue/data", params={"session_hash": session_hash},
                              headers=headers) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                if msg.get("event_id") not in (None, event_id) or msg.get("msg") != "process_completed":
                    continue
                output = msg.get("output") or {}
                if msg.get("success"):
                    return Outcome(True, data=list(output.get("data") or []))
                return Outcome(False, error=str(output.get("error") or output))
        return Outcome(False, error="the event stream ended without a result")
