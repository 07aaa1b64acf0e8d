"""Admin tab (the team): upload issues, manage and refresh feeds, rebuild the index, index statistics.

Shown only when NEWSDESK_ADMIN_PASSWORD is set, behind a password gate inside the app (Gradio's own `auth`
would lock subscribers out of the chat too). Every admin callback re-checks the session's sign-in on the
server and none is callable through the API (api_visibility="private").
"""

from __future__ import annotations

import hmac
import os
import re
import shutil
import tempfile
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.errors import NewsdeskError
from assistant.pipeline import Newsdesk
from assistant.sources.newsletter import SUPPORTED_SUFFIXES
from assistant.ui import render
from assistant.ui.filters import parse_day

UPLOAD_DIR = "uploads"
FAILED_LOGIN_DELAY = 1.0  # seconds; slows password guessing through the page


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
        raise UploadError(f"{name} is {size:,} bytes; the limit is {settings.max_upload_bytes:,} "
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
def list_feeds(settings: Settings) -> list[dict[str, str]]:
    from assistant.sources.feedlist import FeedList

    return [{"name": f.title, "url": f.url} for f in FeedList.load(settings.feeds_file).feeds]


def add_feed(settings: Settings, url: str, name: str | None) -> str:
    from assistant.sources.feedlist import FeedList, FeedSpec, is_remote

    feeds = FeedList.load(settings.feeds_file)
    if is_remote(url):
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError(f"{url}: only http(s) feed URLs or local files can be added")
    elif not feeds.base_dir.joinpath(url).expanduser().is_file() and not Path(url).expanduser().is_file():
        raise ValueError(f"{url}: no such local feed file (give an http(s) URL or a file path)")
    else:
        url = feeds.local_form(url)
    if not feeds.add(FeedSpec(url=url, title=name or "")):
        return f"{url} is already in the feed list"
    feeds.save()
    return f"added {name or url}; refresh the feeds to read it"


def remove_feed(settings: Settings, target: str) -> str:
    from assistant.sources.feedlist import FeedList

    feeds = FeedList.load(settings.feeds_file)
    gone = feeds.remove(target)
    if not gone:
        raise LookupError(f"no feed in the list matches {target!r} (a URL, path, feed id or title)")
    feeds.save()
    names = ", ".join(f.label for f in gone)
    return f"removed {names} from the feed list (its stories stay in the index until removed there)"


def refresh_feeds(desk: Newsdesk, progress: Callable[[int, int], None]) -> str:
    from assistant.ingest.refresh import RefreshHooks
    from assistant.ingest.refresh import refresh_feeds as run_refresh

    hooks = RefreshHooks(feed_done=lambda _outcome, done, total: progress(done, total), embedding=progress)
    report = run_refresh(desk.settings, desk.embedder, hooks=hooks)
    desk.readers.invalidate()
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
    try:
        stats = desk.stats()
    except Exception as exc:  # noqa: BLE001
        return render.notice(f"statistics unavailable: {exc}", kind="error")
    try:
        feeds: object = len(list_feeds(desk.settings))
    except Exception as exc:  # noqa: BLE001
        feeds = f"unavailable: {exc}"
    return render.key_values([
        ("Issues", stats.issues), ("Stories", stats.stories), ("Chunks", stats.chunks), ("Feeds", feeds),
        ("Last refresh", stats.last_refresh or "never"), ("Index version", stats.version),
        ("Embedding model", stats.embed_model), ("Embedded in the last write", stats.embedded_last_run),
        ("Versions kept", ", ".join(stats.versions)), ("Index folder", stats.index_dir),
    ])


def feeds_html(settings: Settings) -> str:
    try:
        feeds = list_feeds(settings)
    except Exception as exc:  # noqa: BLE001
        return render.notice(f"cannot list feeds: {exc}", kind="error")
    if not feeds:
        return render.notice("No feeds yet.")
    return render.key_values([(f["name"] or "(unnamed)", f["url"]) for f in feeds])


def _gradio_progress(progress: Any, label: str) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        progress((done, total or None), desc=label, unit="chunks")

    return update


# ---------------------------------------------------------------- the tab
def build_admin_tab(desk: Newsdesk, settings: Settings, *, header: Any = None,
                    header_html: Callable[[], str] | None = None) -> None:
    """`header`/`header_html`: the page's index summary line, redrawn after anything that changes the index."""
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
                                  f"{settings.max_upload_bytes / 1e6:.1f} MB each",
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

    def require(ok: bool) -> None:
        if ok is not True:
            raise gr.Error("Sign in to the admin tab first.")

    def sign_in(secret: str) -> tuple[Any, ...]:
        expected = settings.admin_password or ""
        if expected and hmac.compare_digest((secret or "").encode(), expected.encode()):
            return (True, gr.Column(visible=False), gr.Column(visible=True), "", "",
                    stats_html(desk), feeds_html(settings))
        time.sleep(FAILED_LOGIN_DELAY)
        return (False, gr.Column(visible=True), gr.Column(visible=False), "",
                render.notice("Wrong password.", kind="error"), gr.skip(), gr.skip())

    def sign_out() -> tuple[Any, ...]:
        return False, gr.Column(visible=True), gr.Column(visible=False)

    def upload(ok: bool, paths: list[str] | None, day: Any, source: str,
               progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008 - Gradio's idiom
        require(ok)
        if not paths:
            return render.notice("Choose one or more issue files first.", kind="error"), gr.skip(), gr.skip()
        try:
            issue_date = parse_day(day, "issue date")
            stored = [store_upload(settings, p, source_name=source.strip() or None) for p in paths]
            report = desk.ingest(stored, issue_date=issue_date, source_name=source.strip() or None,
                                 progress=_gradio_progress(progress, "embedding"))
        except Exception as exc:  # noqa: BLE001 - one line for the admin, never a traceback
            return render.notice(_one_line(exc), kind="error"), gr.skip(), gr.skip()
        lines = [f"{i.title}: {len(i.stories)} stories, {i.date or 'date unknown (set the issue date)'}"
                 for i in report.issues]
        lines += [f"skipped {Path(p).name}: {reason}" for p, reason in report.rejected]
        lines.append(f"{report.embedded} chunks embedded, {report.reused} reused, {report.unchanged} unchanged"
                     + (f"; index version {report.version}" if report.version else ""))
        kind = "ok" if report.issues else "error"
        body = "".join(f"<li>{render.esc(line)}</li>" for line in lines)
        return render.sanitize(f'<ul class="nd-notice nd-{kind}">{body}</ul>'), stats_html(desk), None

    def feed_action(action: str) -> Callable[..., tuple[str, str, str]]:
        def run(ok: bool, url: str, name: str, progress: gr.Progress = gr.Progress()  # noqa: B008
                ) -> tuple[str, str, str]:
            require(ok)
            try:
                if action == "refresh":
                    message = refresh_feeds(desk, _gradio_progress(progress, "refreshing feeds"))
                elif not (url or "").strip():
                    raise ValueError("give the feed URL")
                elif action == "add":
                    message = add_feed(settings, url.strip(), name.strip() or None)
                else:
                    message = remove_feed(settings, url.strip())
                note = render.notice(message, kind="ok")
            except Exception as exc:  # noqa: BLE001
                note = render.notice(_one_line(exc), kind="error")
            return note, feeds_html(settings), stats_html(desk)

        return run

    def rebuild(ok: bool, progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        require(ok)
        try:
            note = render.notice(rebuild_index(desk, _gradio_progress(progress, "rebuilding")), kind="ok")
        except Exception as exc:  # noqa: BLE001
            note = render.notice(_one_line(exc), kind="error")
        return note, stats_html(desk)

    def reload_stats(ok: bool) -> str:
        require(ok)
        return stats_html(desk)

    private: dict[str, Any] = {"api_visibility": "private"}
    for trigger in (unlock.click, password.submit):
        trigger(sign_in, [password], [authed, login, panel, password, login_msg, stats, feeds], **private)
    signout.click(sign_out, None, [authed, login, panel], **private)
    changes = [up_btn.click(upload, [authed, files, up_date, up_source], [up_msg, stats, files], **private),
               rebuild_btn.click(rebuild, [authed], [rebuild_msg, stats], **private)]
    for button, action in ((add_btn, "add"), (remove_btn, "remove"), (refresh_btn, "refresh")):
        changes.append(button.click(feed_action(action), [authed, feed_url, feed_name], [feed_msg, feeds, stats],
                                    **private))
    if header is not None and header_html is not None:
        for event in changes:
            event.then(header_html, None, [header], **private)
    stats_btn.click(reload_stats, [authed], [stats], **private)


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:400]
