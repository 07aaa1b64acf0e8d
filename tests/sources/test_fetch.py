"""Polite HTTP against a real server on 127.0.0.1: conditional GET, timeouts, errors, retries, redirects, caps."""

from __future__ import annotations

import time

import pytest

from assistant.config import Settings
from assistant.sources.fetch import Fetcher, FetchError
from tests.feedserver import FeedServer, Handler

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
UA = "Newsdesk-test/1.0 (+https://example.org/newsdesk)"
LOOPBACK = "127.0.0.1"  # the test servers' address; refused by default (NEWSDESK_FETCH_ALLOW, netpolicy.py)


@pytest.fixture()
def server():
    with FeedServer() as srv:
        yield srv


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def fetcher(sleeps: list[float]):
    # Backoff is recorded instead of slept, so the test checks the schedule without waiting for it.
    with Fetcher(user_agent=UA, timeout=0.5, max_bytes=100_000, max_redirects=3, retries=2, backoff=0.25,
                 sleep=sleeps.append, allow=LOOPBACK) as f:
        yield f


def test_sends_user_agent_and_remembers_etag(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.add_file("/feed.xml", FEED)
    first = fetcher.get(url)
    assert first.status == 200 and first.body == FEED and first.etag
    assert server.hits("/feed.xml")[0]["User-Agent"] == UA
    second = fetcher.get(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.body == b""
    assert server.hits("/feed.xml")[1]["If-None-Match"] == first.etag
    server.add_file("/feed.xml", FEED + b"\n")  # the feed changed: the old ETag no longer matches
    third = fetcher.get(url, etag=first.etag)
    assert third.status == 200 and third.etag != first.etag


def test_last_modified_only_server_answers_304() -> None:
    with FeedServer(etags=False) as srv, Fetcher(user_agent=UA, timeout=2, max_bytes=10_000, allow=LOOPBACK) as f:
        url = srv.add_file("/lm.xml", FEED)
        first = f.get(url)
        assert first.etag is None and first.last_modified
        assert f.get(url, last_modified=first.last_modified).not_modified
        assert srv.hits("/lm.xml")[1]["If-Modified-Since"] == first.last_modified


def test_slow_response_times_out(server: FeedServer, fetcher: Fetcher) -> None:
    def slow(h: Handler) -> None:
        time.sleep(2.0)
        h.reply(200, FEED, "application/xml")

    server.routes["/slow"] = slow
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 0.5 s"):
        fetcher.get(server.url("/slow"))
    assert time.monotonic() - started < 1.8  # not retried: one timeout, not three
    assert len(server.hits("/slow")) == 1


def test_404_is_one_line_and_not_retried(server: FeedServer, fetcher: Fetcher, sleeps: list[float]) -> None:
    with pytest.raises(FetchError) as info:
        fetcher.get(server.url("/missing.xml"))
    assert str(info.value) == "HTTP 404 Not Found (wrong address?)"
    assert len(server.hits("/missing.xml")) == 1 and sleeps == []


def test_500_is_retried_with_backoff_then_succeeds(server: FeedServer, fetcher: Fetcher,
                                                    sleeps: list[float]) -> None:
    calls = {"n": 0}

    def flaky(h: Handler) -> None:
        calls["n"] += 1
        if calls["n"] <= 2:
            h.reply(500, b"boom")
        else:
            h.reply(200, FEED, "application/xml")

    server.routes["/flaky"] = flaky
    result = fetcher.get(server.url("/flaky"))
    assert result.status == 200 and result.attempts == 3
    assert sleeps == [0.25, 0.5]  # exponential backoff


def test_500_gives_up_after_retries(server: FeedServer, fetcher: Fetcher, sleeps: list[float]) -> None:
    server.routes["/down"] = lambda h: h.reply(503, b"down")
    with pytest.raises(FetchError, match="HTTP 503 Service Unavailable"):
        fetcher.get(server.url("/down"))
    assert len(server.hits("/down")) == 3 and sleeps == [0.25, 0.5]


def test_429_honours_short_retry_after(server: FeedServer, fetcher: Fetcher, sleeps: list[float]) -> None:
    calls = {"n": 0}

    def limited(h: Handler) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            h.reply(429, b"slow down", headers={"Retry-After": "1"})
        else:
            h.reply(200, FEED, "application/xml")

    server.routes["/limited"] = limited
    assert fetcher.get(server.url("/limited")).status == 200
    assert sleeps == [1.0]


def test_redirect_loop_is_named(server: FeedServer, fetcher: Fetcher) -> None:
    server.routes["/a"] = lambda h: h.reply(302, headers={"Location": "/b"})
    server.routes["/b"] = lambda h: h.reply(302, headers={"Location": server.url("/a")})
    with pytest.raises(FetchError, match=r"redirect loop: .*/b -> .*/a"):
        fetcher.get(server.url("/a"))


def test_too_many_redirects(server: FeedServer, fetcher: Fetcher) -> None:
    for i in range(6):
        server.routes[f"/r{i}"] = lambda h, i=i: h.reply(302, headers={"Location": f"/r{i + 1}"})
    with pytest.raises(FetchError, match="more than 3 redirects"):
        fetcher.get(server.url("/r0"))


def test_permanent_redirect_reports_new_address(server: FeedServer, fetcher: Fetcher) -> None:
    target = server.add_file("/new.xml", FEED)
    server.routes["/old.xml"] = lambda h: h.reply(301, headers={"Location": "/new.xml"})
    server.routes["/temp.xml"] = lambda h: h.reply(302, headers={"Location": "/new.xml"})
    moved = fetcher.get(server.url("/old.xml"))
    assert moved.body == FEED and moved.final_url == target and moved.moved_to == target
    assert fetcher.get(server.url("/temp.xml")).moved_to is None  # a temporary move keeps the old address


def test_oversized_body_with_length_is_refused(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_file("/big.xml", b"x" * 200_000)
    with pytest.raises(FetchError, match=r"200,000 bytes; the limit is 100,000"):
        fetcher.get(server.url("/big.xml"))


def test_oversized_body_without_length_stops_at_the_cap(server: FeedServer, fetcher: Fetcher) -> None:
    def stream(h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/xml")
        h.end_headers()  # no Content-Length: HTTP/1.0 body runs until the connection closes
        for _ in range(50):
            h.wfile.write(b"y" * 10_000)

    server.routes["/stream"] = stream
    with pytest.raises(FetchError, match="over 100,000 bytes"):
        fetcher.get(server.url("/stream"))


def test_connection_refused_is_retried_then_one_line(sleeps: list[float]) -> None:
    from tests.conftest import free_port

    with Fetcher(user_agent=UA, timeout=1, max_bytes=1000, retries=1, backoff=0.1, sleep=sleeps.append,
                 allow=LOOPBACK) as f, \
            pytest.raises(FetchError, match="connection failed"):
        f.get(f"http://127.0.0.1:{free_port()}/feed.xml")
    assert sleeps == [0.1]


def test_only_http_urls(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="not an http"):
        fetcher.get("file:///etc/passwd")


def test_settings_carry_the_polite_defaults() -> None:
    settings = Settings()
    f = Fetcher.from_settings(settings)
    try:
        assert "Newsdesk" in settings.feed_user_agent and settings.feed_timeout > 0 and settings.feed_max_bytes > 0
        assert f.timeout == settings.feed_timeout and f.retries == settings.feed_retries
    finally:
        f.close()
