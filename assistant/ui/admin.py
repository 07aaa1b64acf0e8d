"""Admin tab (the team): upload issues, manage and refresh feeds, rebuild the index, index statistics.

Shown only when NEWSDESK_ADMIN_PASSWORD is set, behind a password gate inside the app (Gradio's own `auth`
would lock subscribers out of the chat too). Every admin callback re-checks the sign-in on the server: the
browser's own sign-in cookie, with an idle expiry (signin.py), so replaying the page's session hash from another
client gets nothing. Wrong passwords lock the client (and past a higher count everyone) out for a doubling
wait, refused at once without a sleep. None of the events is callable by name through the API (guard.py).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import NewsdeskError
from assistant.pipeline import Newsdesk
from assistant.sources.issuefile import SUPPORTED_SUFFIXES
from assistant.ui import render
from assistant.ui.errors import shown_errors
from assistant.ui.filters import parse_day
from assistant.ui.guard import format_size
from assistant.ui.signin import AdminAccess, SignInError, password_matches, sign_in_js

UPLOAD_DIR = "uploads"


class UploadError(NewsdeskError, ValueError):
    """An uploaded file that is refused (type, size, name)."""


# ---------------------------------------------------------------- uploads
def safe_upload_name(name: str) -> str:
    """A client-supplied file name -> a plain name in our upload folder: no path, no odd characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem:
        stem, suffix = base, ""
    suffix = "." + suffix.lower() if suffix else ""
    if suffix not in SUPPORTED_SUFFIXES:
        allowed = " ".join(sorted(SUPPORTED_SUFFIXES))
        raise UploadError(f"{base or 'the file'}: unsupported file type {suffix or '(none)'}; use {allowed}")
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()  # "Ünï" -> "Uni"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:80] or "issue"
    return stem + suffix


def store_upload(settings: Settings, temp_path: str | Path, *, original_name: str | None = None,
                 source_name: str | None = None) -> Path:
    """Copy one uploaded file into <index_dir>/uploads/<newsletter>/ under a safe name, within the size cap."""
    temp_path = Path(temp_path)
    size = temp_path.stat().st_size
    name = safe_upload_name(original_name or temp_path.name)
    if size > settings.max_upload_bytes:
        raise UploadError(f"{name} is {format_size(size)}; the limit is {format_size(settings.max_upload_bytes)} "
                          "(NEWSDESK_MAX_UPLOAD_BYTES)")
    if size == 0:
        raise UploadError(f"{name} is empty")
    # The folder name becomes the newsletter name when the file names none (see parse_issue).
    folder = re.sub(r"[^a-z0-9]+", "-", (source_name or "uploaded issues").lower()).strip("-") or "uploaded"
    target_dir = settings.index_dir / UPLOAD_DIR / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / name
    with tempfile.NamedTemporaryFile(dir=target_dir, delete=False, prefix=".upload-") as tmp, \
            temp_path.open("rb") as src:
        shutil.copyfileobj(src, tmp)
    os.replace(tmp.name, target)
    return target


# ---------------------------------------------------------------- feeds and rebuild
# Thin wrappers over the feed list (sources/feedlist.py), the refresh (refresh.py) and the rebuild
# (index/rebuild.py), so the tab's callbacks hold no logic of their own.
def list_feeds(desk: Newsdesk) -> list[dict[str, str]]:
    from assistant.sources.urlmask import mask_url

    return [{"name": f.title, "url": mask_url(f.url)} for f in desk.feeds().feeds]


class FeedCheckError(NewsdeskError, ValueError):
    """A feed the Admin tab will not add: no such file, not a feed, or unreachable; one line."""


def check_feed(settings: Settings, url: str) -> tuple[str, str]:
    """Read and parse a feed before it is listed, like `newsdesk feeds add`: (the list's form of it, its title).
    A URL is fetched under the outbound fetch policy (sources/fetch.py); a file is read within the feed cap."""
    from assistant.sources.feedlist import FeedList, is_remote
    from assistant.sources.feeds import FeedError, parse_feed
    from assistant.sources.fetch import Fetcher, FetchError
    from assistant.sources.urlmask import mask_url, mask_urls_in

    feeds = FeedList.load(settings.feeds_file)
    shown = mask_url(url)  # messages name the feed, never its credentials
    try:
        if is_remote(url):
            with Fetcher.from_settings(settings) as fetcher:
                got = fetcher.get(url)
            parsed = parse_feed(got.body, feed_id="check", url=got.final_url, content_type=got.content_type,
                                max_chars=settings.feed_entry_max_chars, max_entries=settings.feed_max_entries,
                                max_seconds=settings.feed_parse_seconds)
            return url, parsed.title
        typed = Path(url.removeprefix("file://")).expanduser()
        path = next((p for p in (typed, feeds.base_dir / typed) if p.is_file()), None)
        if path is None:
            raise FeedCheckError(f"{shown}: no such local feed file (give an http(s) URL or a feed file's path)")
        size = path.stat().st_size
        if size > settings.feed_max_bytes:
            raise FeedCheckError(f"{shown}: {size:,} bytes; a feed may have {settings.feed_max_bytes:,} "
                                 "(NEWSDESK_FEED_MAX_BYTES)")
        parsed = parse_feed(path.read_bytes(), feed_id="check", fallback_title=path.stem,
                            max_chars=settings.feed_entry_max_chars, max_entries=settings.feed_max_entries,
                            max_seconds=settings.feed_parse_seconds)
        return feeds.local_form(str(path)), parsed.title
    except (FeedError, FetchError, OSError) as exc:
        raise FeedCheckError(f"{shown}: {mask_urls_in(_one_line(exc))}") from exc


def add_feed(desk: Newsdesk, url: str, name: str | None) -> str:
    from assistant.sources.feedlist import FeedSpec

    url, title = check_feed(desk.settings, url)
    spec = FeedSpec(url=url, title=name or title or "")
    if not desk.add_feed(spec):
        return f"{spec.label} is already in the feed list"
    return f"added {spec.label}; refresh the feeds to read it"


def remove_feed(desk: Newsdesk, target: str) -> str:
    from assistant.sources.urlmask import mask_url

    gone = desk.remove_feed(target)
    if not gone:
        raise LookupError(f"no feed in the list matches {mask_url(target)!r} (a URL, path, feed id or title)")
    names = ", ".join(f.label for f in gone)
    return f"removed {names} from the feed list (its stories stay in the index until removed there)"


def refresh_feeds(desk: Newsdesk, progress: Callable[[int, int], None]) -> str:
    from assistant.ingest.refresh import RefreshHooks

    hooks = RefreshHooks(feed_done=lambda _outcome, done, total: progress(done, total), embedding=progress)
    report = desk.refresh(hooks=hooks)
    failed = "; ".join(f"{f.title or f.url}: {f.reason}" for f in report.failed)
    return (f"{len(report.feeds)} feeds read: {report.total('new')} new, {report.total('updated')} updated, "
            f"{report.total('unchanged')} unchanged entries; {report.embedded} chunks embedded"
            + (f"; index version {report.version}" if report.version else "; index unchanged")
            + (f". Failed: {failed}" if failed else ""))


def rebuild_index(desk: Newsdesk, progress: Callable[[int, int], None]) -> str:
    report = desk.rebuild(progress=progress)
    return (f"index version {report.version}: {report.issues} issues, {report.stories} stories, {report.chunks} "
            f"chunks ({report.embedded} embedded, {report.reused} reused, {report.carried} carried over)"
            + (". " + " ".join(report.notes) if report.notes else ""))


# ---------------------------------------------------------------- rendering
def stats_html(desk: Newsdesk) -> str:
    with shown_errors() as failure:
        stats = desk.stats()
    if failure.error is not None:
        return render.notice(f"statistics unavailable: {failure.message}", kind="error")
    feeds: object = "unavailable"
    with shown_errors() as failure:
        feeds = len(list_feeds(desk))
    if failure.error is not None:
        feeds = f"unavailable: {failure.message}"
    return render.key_values([
        ("Issues", stats.issues), ("Stories", stats.stories), ("Chunks", stats.chunks), ("Feeds", feeds),
        ("Last refresh", stats.last_refresh or "never"), ("Index version", stats.version),
        ("Embedding model", stats.embed_model), ("Embedded in the last write", stats.embedded_last_run),
        ("Versions kept", ", ".join(stats.versions)), ("Index folder", stats.index_dir),
    ])


def feeds_html(desk: Newsdesk) -> str:
    with shown_errors() as failure:
        feeds = list_feeds(desk)
    if failure.error is not None:
        return render.notice(f"cannot list feeds: {failure.message}", kind="error")
    if not feeds:
        return render.notice("No feeds yet.")
    return render.key_values([(f["name"] or "(unnamed)", f["url"]) for f in feeds])


def _gradio_progress(progress: Any, label: str) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        progress((done, total or None), desc=label, unit="chunks")

    return update


# ---------------------------------------------------------------- the tab
def build_admin_tab(desk: Newsdesk, settings: Settings, *, header: Any = None,
                    header_html: Callable[[], str] | None = None, access: AdminAccess | None = None) -> None:
    """`header`/`header_html`: the page's index summary line, redrawn after anything that changes the index.
    `access`: the app's sign-in throttle and signed-in browsers (shared with the upload guard)."""
    authed = gr.State(False)
    with gr.Column(visible=True, elem_id="nd-admin-login") as login:
        gr.Markdown("Sign in with the admin password (NEWSDESK_ADMIN_PASSWORD).")
        with gr.Row():
            password = gr.Textbox(type="password", show_label=False, placeholder="Admin password",
                                  elem_id="nd-admin-password", scale=4)
            unlock = gr.Button("Sign in", variant="primary", elem_id="nd-admin-signin", scale=1)
        login_msg = gr.HTML()
    with gr.Column(visible=False, elem_id="nd-admin-panel") as panel, gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Markdown("### Upload an issue")
            files = gr.File(label=f"Issue files ({' '.join(sorted(SUPPORTED_SUFFIXES))}), up to "
                                  f"{format_size(settings.max_upload_bytes)} each, {settings.max_upload_files} "
                                  "at a time",
                            file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), type="filepath",
                            elem_id="nd-admin-upload")
            with gr.Row():
                up_date = gr.DateTime(label="Issue date (when the file names none)", include_time=False,
                                      type="string", elem_id="nd-admin-upload-date")
                up_source = gr.Textbox(label="Newsletter name (optional)", elem_id="nd-admin-upload-source")
            up_btn = gr.Button("Add to the index", variant="primary", elem_id="nd-admin-upload-btn")
            up_msg = gr.HTML(elem_id="nd-admin-upload-msg")

            gr.Markdown("### Feeds")
            feeds = gr.HTML(elem_id="nd-admin-feeds")
            with gr.Row():
                feed_url = gr.Textbox(label="Feed URL", scale=3, elem_id="nd-admin-feed-url")
                feed_name = gr.Textbox(label="Name (optional)", scale=2, elem_id="nd-admin-feed-name")
            with gr.Row():
                add_btn = gr.Button("Add feed", elem_id="nd-admin-feed-add")
                remove_btn = gr.Button("Remove feed", elem_id="nd-admin-feed-remove")
                refresh_btn = gr.Button("Refresh feeds", elem_id="nd-admin-feed-refresh")
            feed_msg = gr.HTML(elem_id="nd-admin-feed-msg")
        with gr.Column(scale=2):
            gr.Markdown("### Index")
            stats = gr.HTML(elem_id="nd-admin-stats")
            with gr.Row():
                stats_btn = gr.Button("Reload statistics", elem_id="nd-admin-stats-btn")
                rebuild_btn = gr.Button("Rebuild index", variant="stop", elem_id="nd-admin-rebuild")
            rebuild_msg = gr.HTML(elem_id="nd-admin-rebuild-msg")
            signout = gr.Button("Sign out", size="sm", elem_id="nd-admin-signout")

    access = access or AdminAccess.from_settings(settings)
    sessions, throttle = access.sessions, access.throttle

    def require(ok: bool, request: gr.Request | None) -> None:
        """The page's flag and, what counts, this browser's own sign-in cookie with a live grant."""
        if ok is not True:
            raise gr.Error("Sign in to the admin tab first.", print_exception=False)
        try:
            sessions.check(sessions.key_from(_cookies(request)))
        except SignInError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    def sign_in(secret: Any, request: gr.Request) -> tuple[Any, ...]:
        client = _client(request)
        attempt = throttle.attempt(client, lambda: password_matches(secret, settings.admin_password))
        if attempt.ok:
            try:
                sessions.grant(sessions.key_from(_cookies(request)), client)
            except SignInError as exc:
                attempt_note = render.notice(str(exc), kind="error")
            else:
                return (True, gr.Column(visible=False), gr.Column(visible=True), "", "",
                        stats_html(desk), feeds_html(desk))
        else:
            attempt_note = render.notice(attempt.message(), kind="error")
        return (False, gr.Column(visible=True), gr.Column(visible=False), "", attempt_note, gr.skip(), gr.skip())

    def sign_out(request: gr.Request) -> tuple[Any, ...]:
        sessions.revoke(sessions.key_from(_cookies(request)))
        return False, gr.Column(visible=True), gr.Column(visible=False), render.notice("Signed out.")

    def after_refusal(request: gr.Request) -> tuple[Any, ...]:
        """After a refused admin action: back to the sign-in form when this browser's sign-in is gone."""
        if sessions.valid(sessions.key_from(_cookies(request))):
            return gr.skip(), gr.skip(), gr.skip()
        return False, gr.Column(visible=True), gr.Column(visible=False)

    def upload(ok: bool, paths: list[str] | None, day: Any, source: str, request: gr.Request,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 - Gradio's idiom
        require(ok, request)
        if not paths:
            return render.notice("Choose one or more issue files first.", kind="error"), gr.skip(), gr.skip()
        if len(paths) > settings.max_upload_files:
            return (render.notice(f"{len(paths)} files chosen; at most {settings.max_upload_files} at a time "
                                  "(NEWSDESK_MAX_UPLOAD_FILES)", kind="error"), gr.skip(), gr.skip())
        with shown_errors() as failure:  # one line for the admin, never a traceback
            issue_date = parse_day(day, "issue date")
            stored = [store_upload(settings, p, source_name=source.strip() or None) for p in paths]
            report = desk.ingest(stored, issue_date=issue_date, source_name=source.strip() or None,
                                 progress=_gradio_progress(progress, "embedding"))
        if failure.error is not None:
            return render.notice(failure.message, kind="error"), gr.skip(), gr.skip()
        lines = [f"{i.title}: {len(i.stories)} stories, {i.date or 'date unknown (set the issue date)'}"
                 for i in report.issues]
        lines += [f"skipped {Path(p).name}: {reason}" for p, reason in report.rejected]
        lines.append(f"{report.embedded} chunks embedded, {report.reused} reused, {report.unchanged} unchanged"
                     + (f"; index version {report.version}" if report.version else ""))
        kind = "ok" if report.issues else "error"
        body = "".join(f"<li>{render.esc(line)}</li>" for line in lines)
        return render.sanitize(f'<ul class="nd-notice nd-{kind}">{body}</ul>'), stats_html(desk), None

    def feed_action(action: str) -> Callable[..., tuple[str, str, str]]:
        def run(ok: bool, url: str, name: str, request: gr.Request,
                progress: gr.Progress = gr.Progress()) -> tuple[str, str, str]:  # noqa: B008
            require(ok, request)
            with shown_errors() as failure:
                if action == "refresh":
                    message = refresh_feeds(desk, _gradio_progress(progress, "refreshing feeds"))
                elif not (url or "").strip():
                    raise ValueError("give the feed URL")
                elif action == "add":
                    message = add_feed(desk, url.strip(), (name or "").strip() or None)
                else:
                    message = remove_feed(desk, url.strip())
                note = render.notice(message, kind="ok")
            if failure.error is not None:
                note = render.notice(failure.message, kind="error")
            return note, feeds_html(desk), stats_html(desk)

        return run

    def rebuild(ok: bool, request: gr.Request,
                progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        require(ok, request)
        with shown_errors() as failure:
            note = render.notice(rebuild_index(desk, _gradio_progress(progress, "rebuilding")), kind="ok")
        if failure.error is not None:
            note = render.notice(failure.message, kind="error")
        return note, stats_html(desk)

    def reload_stats(ok: bool, request: gr.Request) -> str:
        require(ok, request)
        return stats_html(desk)

    # Named (for tests and logs) but private; guard.py keeps every one of them off /run/<name> and /call/<name>.
    private: dict[str, Any] = {"api_visibility": "private"}
    view = [authed, login, panel]
    # Through the queue (never queue=False), one group of two workers: a flood of guesses waits its turn there
    # and is refused at once by the throttle; the js makes this browser a fresh sign-in cookie first.
    gr.on([unlock.click, password.submit], sign_in, [password], [*view, password, login_msg, stats, feeds],
          js=sign_in_js(sessions.cookie), api_name="admin_sign_in", concurrency_id="admin-sign-in",
          concurrency_limit=2, show_progress="hidden", **private)
    signout.click(sign_out, None, [*view, login_msg], api_name="admin_sign_out", **private)
    changes = [up_btn.click(upload, [authed, files, up_date, up_source], [up_msg, stats, files],
                            api_name="admin_upload", **private),
               rebuild_btn.click(rebuild, [authed], [rebuild_msg, stats], api_name="admin_rebuild", **private)]
    for button, action in ((add_btn, "add"), (remove_btn, "remove"), (refresh_btn, "refresh")):
        changes.append(button.click(feed_action(action), [authed, feed_url, feed_name], [feed_msg, feeds, stats],
                                    api_name=f"admin_feed_{action}", **private))
    changes_only = list(changes)
    changes.append(stats_btn.click(reload_stats, [authed], [stats], api_name="admin_stats", **private))
    for event in changes:
        event.failure(after_refusal, None, view, api_name="admin_after_refusal", **private)
    if header is not None and header_html is not None:
        for event in changes_only:
            event.then(header_html, None, [header], api_name="admin_header", **private)


def _client(request: gr.Request | None) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", None) or "unknown client")


def _cookies(request: gr.Request | None) -> dict[str, str]:
    try:
        return dict(getattr(request, "cookies", None) or {})
    except (LookupError, TypeError, ValueError):  # a request without (readable) cookies has none
        return {}

def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:400]
