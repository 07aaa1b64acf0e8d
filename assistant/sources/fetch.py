"""Polite HTTP for feeds and article pages.

A descriptive User-Agent, a timeout on every request and a deadline on every body, conditional GET (the caller
passes the ETag and Last-Modified it remembered), redirects followed by hand so a loop is named as one, a cap on
the body size (checked on the decoded bytes, so a gzip bomb stops at the cap too), retries with exponential
backoff on 5xx, 429 and dropped connections, and at most two requests at a time to one host. Every request,
redirect hop and article page included, may reach public addresses only, unless NEWSDESK_FETCH_ALLOW names
the network or host (netpolicy.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from assistant.config import Settings
from assistant.errors import NewsdeskError
from assistant.sources.netpolicy import NetPolicy, PinnedTransport, Refused
from assistant.sources.urlmask import mask_urls_in

FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
               "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
REDIRECTS = (301, 302, 303, 307, 308)
PER_HOST = 2             # politeness: concurrent requests to one host
MAX_RETRY_AFTER = 60.0   # a server asking for a longer pause gets a failed feed this time, not a stalled run


class FetchError(NewsdeskError, RuntimeError):
    """The request failed; the message is one line saying why, with any credentials in its URLs masked."""

    def __init__(self, message: str) -> None:
        super().__init__(mask_urls_in(message))


@dataclass
class FetchResult:
    url: str                    # what was asked for
    final_url: str              # after redirects
    status: int                 # 200..299, or 304 Not Modified
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    moved_to: str | None        # set when every hop was permanent (301/308): the feed's new address
    attempts: int

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class Fetcher:
    """One HTTP client shared by all feeds of a refresh. Thread-safe; use as a context manager."""

    def __init__(self, *, user_agent: str, timeout: float, max_bytes: int, max_redirects: int = 5,
                 retries: int = 2, backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 allow: str | Sequence[str] = (), transport: httpx.BaseTransport | None = None) -> None:
        # `allow`: NEWSDESK_FETCH_ALLOW entries. A caller-supplied `transport` (tests) does its own connecting:
        # numeric hosts are still checked in get(), names are not resolved and checked then.
        self.policy = NetPolicy.from_allow(allow)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        if transport is None:
            transport = PinnedTransport(policy=self.policy)
        self._client = httpx.Client(headers={"User-Agent": user_agent}, timeout=httpx.Timeout(timeout),
                                    follow_redirects=False, transport=transport)
        self._hosts: dict[str, threading.Semaphore] = {}
        self._hosts_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Fetcher:
        return cls(user_agent=settings.feed_user_agent, timeout=settings.feed_timeout,
                   max_bytes=settings.feed_max_bytes, max_redirects=settings.feed_max_redirects,
                   retries=settings.feed_retries, backoff=settings.feed_backoff, allow=settings.fetch_allow)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _host_slot(self, url: str) -> threading.Semaphore:
        host = (urlsplit(url).hostname or "").lower()
        with self._hosts_lock:
            return self._hosts.setdefault(host, threading.Semaphore(PER_HOST))

    # ------------------------------------------------------------ public
    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            accept: str = FEED_ACCEPT) -> FetchResult:
        """GET with redirects, retries and the size cap. Raises FetchError with a one-line reason."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        seen = [url]
        permanent = True
        attempts = 0
        for hop in range(self.max_redirects + 1):
            _check_scheme(current)
            try:
                self.policy.check_literal(urlsplit(current).hostname or "")  # numbers: refused before connecting
                with self._host_slot(current):
                    status, resp_headers, body, tries = self._with_retries(current, headers)
            except Refused as exc:  # names are checked where the connection is opened (PinnedTransport)
                raise FetchError(str(exc) if hop == 0 else f"redirect to {current} {exc}") from None
            attempts += tries
            if status in REDIRECTS:
                location = resp_headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} redirect without a Location header")
                target = urljoin(current, location.strip())
                if target in seen:
                    raise FetchError(f"redirect loop: {current} -> {target}")
                if hop == self.max_redirects:
                    raise FetchError(f"more than {self.max_redirects} redirects (NEWSDESK_FEED_MAX_REDIRECTS)")
                permanent = permanent and status in (301, 308)
                seen.append(target)
                current = target
                continue
            if status == 304 or 200 <= status < 300:
                return FetchResult(
                    url=url, final_url=current, status=status, body=body,
                    content_type=resp_headers.get("content-type"), etag=resp_headers.get("etag") or etag,
                    last_modified=resp_headers.get("last-modified") or last_modified,
                    moved_to=current if permanent and current != url else None, attempts=attempts)
            raise FetchError(_status_message(status))
        raise FetchError("too many redirects")  # pragma: no cover - the loop always returns or raises

    # ------------------------------------------------------------ internals
    def _with_retries(self, url: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                status, resp_headers, body = self._once(url, headers)
            except httpx.TimeoutException as exc:
                # Not retried: a slow server would hold the whole refresh for (retries + 1) timeouts.
                raise FetchError(f"timed out after {self.timeout:g} s (NEWSDESK_FEED_TIMEOUT)") from exc
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if attempt > self.retries:
                    raise FetchError(f"connection failed: {_short(exc)}") from exc
                self._sleep(self.backoff * 2 ** (attempt - 1))
                continue
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                raise FetchError(f"request failed: {_short(exc)}") from exc
            if (status >= 500 or status == 429) and attempt <= self.retries:
                delay = self.backoff * 2 ** (attempt - 1)
                wait = _retry_after(resp_headers.get("retry-after"))
                if wait is not None:
                    if wait > MAX_RETRY_AFTER:
                        raise FetchError(_status_message(status) + f" (asks to retry after {wait:g} s)")
                    delay = max(delay, wait)
                self._sleep(delay)
                continue
            return status, resp_headers, body, attempt

    def _once(self, url: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        deadline = time.monotonic() + 3 * self.timeout  # a server trickling bytes never trips the read timeout
        with self._client.stream("GET", url, headers=headers) as resp:
            status = resp.status_code
            if not 200 <= status < 300:
                return status, resp.headers, b""
            length = resp.headers.get("content-length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(self._too_big(int(length)))
            buf = bytearray()
            for piece in resp.iter_bytes():
                buf += piece
                if len(buf) > self.max_bytes:
                    raise FetchError(self._too_big(None))
                if time.monotonic() > deadline:
                    raise FetchError(f"body took longer than {3 * self.timeout:g} s to arrive")
            return status, resp.headers, bytes(buf)

    def _too_big(self, size: int | None) -> str:
        what = f"{size:,} bytes" if size is not None else f"over {self.max_bytes:,} bytes"
        return f"response is {what}; the limit is {self.max_bytes:,} (NEWSDESK_FEED_MAX_BYTES)"


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url}")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def _status_message(status: int) -> str:
    phrase = httpx.codes.get_reason_phrase(status)
    hint = {404: " (wrong address?)", 410: " (the feed is gone; `newsdesk feeds remove` it)",
            401: " (the feed needs a login)", 403: " (the server refuses this client)"}.get(status, "")
    return f"HTTP {status} {phrase}".strip() + hint


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]
