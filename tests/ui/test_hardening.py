"""The app's API and Admin sign-in as an attacker meets them, against a real server on loopback (its own app
instance, so its lockouts and tiny expiry never touch the other UI tests): private events are not callable by
name, wrong-typed arguments get our own one line, the sign-in is bound to the browser's cookie and expires,
wrong passwords lock the client out, "add feed" parses first, and uploads need a sign-in and stay in limits."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.ui.signin import cookie_name
from tests.conftest import free_port
from tests.ui.conftest import ADMIN_PASSWORD
from tests.ui.gradio_http import GradioHttp, Outcome

pytestmark = pytest.mark.slow

IDLE_SECONDS = 3.0
RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Notes</title>
<item><title>Bergen ferry trial extended</title><link>https://example.com/ferry</link>
<description>The autonomous ferry trial in Bergen was extended by six months.</description></item>
</channel></rss>"""


@dataclass
class App:
    base: str
    demo: Any
    settings: Any
    config: dict[str, Any]


@pytest.fixture(scope="module")
def hard_app(ui_desk: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    from assistant.pipeline import Newsdesk
    from assistant.ui.app import serve

    root = tmp_path_factory.mktemp("hardening")
    settings = ui_desk.settings.model_copy(update={
        "port": free_port(), "feeds_file": root / "feeds.opml", "admin_session_idle_seconds": IDLE_SECONDS,
        "max_upload_files": 2, "max_upload_bytes": 64 * 1024})
    desk = Newsdesk(settings)
    desk.__dict__["embedder"] = ui_desk.embedder
    demo = serve(desk, block=False)
    base = f"http://127.0.0.1:{settings.port}"
    yield App(base=base, demo=demo, settings=settings, config=httpx.get(f"{base}/config").json())
    demo.close()


@pytest.fixture(scope="module")
def base(hard_app: App) -> str:
    return hard_app.base


def browser(app: App) -> GradioHttp:
    """A client with its own sign-in cookie, as the page's JavaScript makes one before signing in."""
    return GradioHttp(app.base, cookies={cookie_name(app.settings): secrets.token_hex(32)}, config=app.config)


def signed_in(app: App) -> tuple[GradioHttp, str]:
    client, session = browser(app), secrets.token_hex(6)
    result = client.call("admin_sign_in", [ADMIN_PASSWORD], session_hash=session)
    assert result.success and "Embedding model" in result.text(), result
    return client, session


def private_names(app: App) -> list[str]:
    return sorted({d["api_name"] for d in app.config["dependencies"]
                   if d.get("api_visibility") == "private" and isinstance(d.get("api_name"), str)})


# ---------------------------------------------------------------- private events
def test_private_events_are_not_callable_by_name(hard_app: App, base: str) -> None:
    names = private_names(hard_app)
    assert {"admin_sign_in", "admin_upload", "admin_feed_add", "admin_rebuild", "respond"} <= set(names)
    api = f"{base}/gradio_api"
    for name in names:
        for path in (f"/run/{name}", f"/call/{name}", f"/api/{name}", f"/call/v2/{name}"):
            reply = httpx.post(api + path, json={"data": [ADMIN_PASSWORD]}, timeout=30)
            assert reply.status_code == 404 and "public ones are /ask, /coverage, /search" in reply.text, \
                (path, reply.status_code, reply.text[:200])
    # A public name with another event's number in the body ran that event before (Gradio trusts fn_index).
    sign_in = GradioHttp(base).fn_index("admin_sign_in")
    reply = httpx.post(f"{api}/run/search", json={"data": [ADMIN_PASSWORD], "fn_index": sign_in}, timeout=30)
    assert reply.status_code == 404 and "leave out fn_index" in reply.text
    # The public ones still answer by name, with or without the optional arguments.
    found = httpx.post(f"{api}/run/search", json={"data": ["OpenAI"]}, timeout=120)
    assert found.status_code == 200 and found.json()["data"][0]["total"] > 0


# ---------------------------------------------------------------- wrong-typed arguments
@pytest.mark.parametrize(("endpoint", "args", "message"), [
    ("/ask", (42,), "question must be text, not a number (42)"),
    ("/ask", (["a", "b"],), "question must be text, not a list of 2"),
    ("/ask", ("HBM4", 20260101), "since must be text, not a number (20260101)"),
    ("/search", ({"q": 1},), "query must be text, not an object"),
    ("/search", ("OpenAI", "", "", 7), "source must be text or a list of texts, not a number (7)"),
    ("/search", ("OpenAI", "", "", "", "", "relevance", "lots"), "limit must be a whole number, not str"),
    ("/search", ("OpenAI", "", "", "", "", "relevance", -1), "limit must be between 1 and 1000, not -1"),
    ("/coverage", (None,), "query is missing"),
    ("/coverage", (3.5,), "query must be text, not a number (3.5)"),
])
def test_wrong_typed_arguments_get_our_own_one_line(base: str, endpoint: str, args: tuple[Any, ...],
                                                    message: str) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(base + "/", analytics_enabled=False, verbose=False, download_files=False)
    if endpoint == "/ask":  # /ask streams: its errors are its answer
        reply = client.predict(*args, api_name=endpoint)
        assert reply == f"Sorry: {message}", reply
        return
    with pytest.raises(AppError) as caught:
        client.predict(*args, api_name=endpoint)
    assert str(caught.value) == message
    assert "attribute" not in str(caught.value)


def test_wrong_argument_counts_over_plain_http_are_one_line(base: str) -> None:
    api = f"{base}/gradio_api"
    for data, expected in (([], "/ask takes 1 to "), ([], "arguments (message, since, until, source, section"),
                           ([], ", not 0"), (["a"] * 12, ", not 12"),
                           ("HBM4", "/ask: 'data' must be a list of its arguments")):
        for route in ("/run/ask", "/call/ask"):
            reply = httpx.post(api + route, json={"data": data}, timeout=30)
            assert reply.status_code == 422 and expected in reply.json()["detail"], (route, reply.text)
    joined = httpx.post(f"{api}/call/ask", json={"data": [7]}, timeout=30)  # short: filled like gradio_client
    stream = httpx.get(f"{api}/call/ask/{joined.json()['event_id']}", timeout=120).text
    assert "Sorry: question must be text, not a number (7)" in stream


# ---------------------------------------------------------------- the sign-in: bound, expiring, ending
def test_sign_in_works_only_with_its_own_cookie_and_expires_when_idle(hard_app: App, base: str) -> None:
    owner, session = signed_in(hard_app)
    assert "Embedding model" in owner.call("admin_stats", [None], session_hash=session).text()

    replay = GradioHttp(base)  # knows the session hash, lacks the cookie
    refused = replay.call("admin_stats", [None], session_hash=session)
    assert not refused.success and refused.error == "Sign in to the admin tab first."
    forged = browser(hard_app)  # a cookie of its own, never signed in
    assert forged.call("admin_stats", [None], session_hash=session).error == "Sign in to the admin tab first."
    assert not replay.call("admin_rebuild", [None], session_hash=session).success

    time.sleep(IDLE_SECONDS / 2)
    assert owner.call("admin_stats", [None], session_hash=session).success  # use restarts the idle clock
    time.sleep(IDLE_SECONDS / 2)
    assert owner.call("admin_stats", [None], session_hash=session).success
    time.sleep(IDLE_SECONDS + 0.5)
    expired = owner.call("admin_stats", [None], session_hash=session)
    assert not expired.success and "sign-in expired after 3 s without use" in str(expired.error)
    assert not owner.call("admin_stats", [None], session_hash=session).success  # and stays expired


def test_sign_out_ends_the_sign_in(hard_app: App) -> None:
    owner, session = signed_in(hard_app)
    out = owner.call("admin_sign_out", [], session_hash=session)
    assert out.success and "Signed out." in out.text()
    assert owner.call("admin_stats", [None], session_hash=session).error == "Sign in to the admin tab first."


def test_sign_in_without_a_cookie_is_not_granted(base: str) -> None:
    result = GradioHttp(base).call("admin_sign_in", [ADMIN_PASSWORD])
    assert result.success and "allow cookies for this site" in result.text()


# ---------------------------------------------------------------- add feed parses first
def test_add_feed_refuses_a_file_that_is_not_a_feed(hard_app: App, tmp_path: Path) -> None:
    owner, session = signed_in(hard_app)
    refused = owner.call("admin_feed_add", [None, "/etc/passwd", ""], session_hash=session)
    note = refused.data[0]
    assert "nd-error" in note and "/etc/passwd: not a feed" in note, note
    assert "root:" not in refused.text()
    feed = tmp_path / "harbour.xml"
    feed.write_text(RSS)
    added = owner.call("admin_feed_add", [None, str(feed), ""], session_hash=session)
    assert "added Harbour Notes" in added.data[0]  # its own title, read from the parsed feed
    assert "/etc/passwd" not in added.text() and "harbour.xml" in added.text()
    listed = hard_app.settings.feeds_file.read_text()
    assert "harbour.xml" in listed and "passwd" not in listed


# ---------------------------------------------------------------- uploads
def upload(base: str, files: list[tuple[str, bytes]], cookies: dict[str, str] | None = None) -> httpx.Response:
    parts = [("files", (name, body, "text/markdown")) for name, body in files]
    return httpx.post(f"{base}/gradio_api/upload", files=parts, cookies=cookies, timeout=60)


def test_uploads_need_a_sign_in_and_stay_within_size_and_count(hard_app: App, base: str) -> None:
    small = ("issue.md", b"# Lantern Weekly\n\nA short issue.\n")
    anonymous = upload(base, [small])
    assert anonymous.status_code == 403 and "uploads need an admin sign-in" in anonymous.text

    owner, _ = signed_in(hard_app)
    cookies = dict(owner.http.cookies)
    stored = upload(base, [small], cookies)
    assert stored.status_code == 200, stored.text
    path = stored.json()[0]
    assert path in hard_app.demo.upload_file_set  # known to the cache sweep (delete_cache)
    assert hard_app.demo.delete_cache == (300, 3600)

    too_many = upload(base, [small] * 3, cookies)
    assert too_many.status_code == 413 and "at most 2 files of 64 KB each" in too_many.text
    too_big = upload(base, [("big.md", b"x" * (65 * 1024))], cookies)
    assert too_big.status_code == 413, too_big.text


# ---------------------------------------------------------------- in the browser
def test_browser_sign_in_sets_its_cookie_expires_back_to_the_form_and_signs_out(chromium: Any,
                                                                               hard_app: App) -> None:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(hard_app.base + "/")
    page.get_by_role("tab", name="Admin").click()

    def sign_in() -> None:
        page.locator("#nd-admin-password input").fill(ADMIN_PASSWORD)
        page.locator("#nd-admin-signin").click()
        page.locator("#nd-admin-stats table").wait_for()

    sign_in()
    cookie = [c for c in context.cookies() if c["name"] == cookie_name(hard_app.settings)]
    assert len(cookie) == 1 and len(cookie[0]["value"]) == 64 and cookie[0]["sameSite"] == "Strict"
    page.wait_for_timeout(int((IDLE_SECONDS + 0.5) * 1000))
    page.locator("#nd-admin-stats-btn").click()
    page.get_by_text("sign-in expired").first.wait_for()
    page.locator("#nd-admin-password").wait_for(state="visible")  # back to the form
    assert not page.locator("#nd-admin-stats-btn").is_visible()

    sign_in()
    page.locator("#nd-admin-signout").click()
    page.get_by_text("Signed out.").wait_for()
    assert page.locator("#nd-admin-password").is_visible() and not page.locator("#nd-admin-upload").is_visible()
    context.close()


# ---------------------------------------------------------------- lockout (last: it locks this app's client)
def test_two_hundred_wrong_passwords_from_fifty_threads_are_mostly_refused_unchecked(
        hard_app: App, caplog: pytest.LogCaptureFixture) -> None:
    def guess(n: int) -> Outcome:
        return browser(hard_app).call("admin_sign_in", [f"wrong password {n}"])

    with caplog.at_level(logging.INFO, logger="assistant.ui.signin"), ThreadPoolExecutor(50) as pool:
        started = time.monotonic()
        results = list(pool.map(guess, range(200)))
        seconds = time.monotonic() - started
    texts = [r.text() for r in results]
    checked = sum("Wrong password." in t for t in texts)
    locked = [r for r, t in zip(results, texts, strict=True)
              if "Wrong password." not in t and "too many wrong passwords; try again in" in t]
    assert checked + len(locked) == 200, [t for t in texts if "too many" not in t and "Wrong" not in t][:3]
    # A flood is refused before the queue (HTTP 429) once it kept trying through the wait; the first few
    # refusals while locked are answered in the form.
    assert any(r.error and r.error.startswith("HTTP 429") for r in locked)
    assert any(r.success for r in locked)
    # 5 free, then waits of 1, 2, 4, ... s: within the run's own duration only a few more are looked at.
    assert 5 <= checked <= 5 + max(1, int(seconds).bit_length()), (checked, seconds)
    # The right password is refused unchecked too while the client waits.
    right = browser(hard_app).call("admin_sign_in", [ADMIN_PASSWORD])
    assert "too many wrong passwords; try again in" in right.text()
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1: wrong password" in log
    assert "wrong password 1" not in log and ADMIN_PASSWORD not in log
