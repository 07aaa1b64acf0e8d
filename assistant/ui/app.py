"""The Gradio app: Chat, Archive and Admin tabs over one Newsdesk pipeline, plus the named API endpoints.

Named endpoints (gradio_client): /ask (streamed markdown answer with its sources), /search (archive results
as JSON) and /coverage (the coverage timeline as JSON); their arguments are type-checked at the boundary
(apiargs.py). The tabs' own events are private: not listed, and not callable by name (guard.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assistant.archive.catalog import CatalogCache
from assistant.config import Settings, offline_environment
from assistant.pipeline import Newsdesk
from assistant.records import Answer
from assistant.ui import apiargs, render
from assistant.ui.errors import shown_errors
from assistant.ui.filters import parse_filters
from assistant.ui.signin import AdminAccess

ADMIN_OFF = ("The Admin tab is off. To enable it, set `NEWSDESK_ADMIN_PASSWORD` in the environment and restart "
             "the app.")


def render_markdown(answer: Answer) -> str:
    """Answer -> markdown with a numbered source list (the /ask endpoint's reply; the chat shows cards)."""
    text = render.answer_markdown(answer)
    kind = render.KIND_LABELS.get(answer.kind)
    if kind:
        text = f"_Answered as: {render.md_text(kind)}_\n\n{text}"
    if answer.citations:
        lines = []
        for c in answer.citations:
            url = render.safe_url(c.url)
            link = f" — [link]({url})" if url else ""
            lines.append(f"{c.n}. **{render.md_text(c.headline)}** — {render.md_text(c.issue)} "
                         f"({c.date or 'date unknown'}){link}")
        text += "\n\n**Sources**\n\n" + "\n".join(lines)
    return text


def _index_line(desk: Newsdesk, catalog: CatalogCache) -> str:
    with shown_errors() as failure:  # the header says what is wrong instead of failing the page
        stats = desk.stats()
        cat = catalog.get(desk.readers)
    if failure.error is not None:
        return render.notice(f"The index cannot be read: {failure.message}", kind="error")
    if not stats.version:
        return render.notice("The index is empty: run `newsdesk ingest corpus/issues` (or `make index`).",
                             kind="error")
    span = f", {cat.first_date} to {cat.last_date}" if cat.first_date else ""
    return render.sanitize(f'<p class="nd-index-line">{stats.issues} issues, {stats.stories} stories from '
                           f"{render.esc(', '.join(cat.sources) or 'no sources')}{render.esc(span)}</p>")


@contextmanager
def api_errors() -> Iterator[None]:
    """Any failure reaches API callers as one line (gr.Error is shown even with show_error=False)."""
    import gradio as gr

    with shown_errors() as failure:
        yield
    if failure.error is not None:
        # A caller's mistake is not the server's: no traceback in the log for it.
        raise gr.Error(failure.message, print_exception=not failure.expected) from failure.error


def build_app(desk: Newsdesk, *, access: AdminAccess | None = None) -> Any:
    """`access`: the sign-in throttle and signed-in browsers (serve() shares them with the upload guard)."""
    import gradio as gr

    from assistant.ui.admin import build_admin_tab
    from assistant.ui.archive import build_archive_tab
    from assistant.ui.briefing import build_briefing_tab
    from assistant.ui.chat import FeedbackLog, answer_steps, build_chat_tab

    settings = desk.settings
    catalog = CatalogCache()
    feedback = FeedbackLog(settings.feedback_file)
    admin_on = bool(settings.admin_password)
    if admin_on and access is None:
        access = AdminAccess.from_settings(settings)
    # Gradio's upload cache: files older than upload_cache_seconds go in a sweep every few minutes (and all of
    # them when the app stops); the Admin tab copies what it keeps into the index folder at once.
    cache_age = settings.upload_cache_seconds
    with gr.Blocks(title="Newsdesk", fill_width=True, delete_cache=(min(300, cache_age), cache_age)) as demo:
        gr.Markdown("# Newsdesk\nAsk the newsletter archive. Every sentence cites the issue and story it came from.")
        index_line = gr.HTML(elem_id="nd-index-line")
        with gr.Tabs(elem_id="nd-tabs"):
            with gr.Tab("Chat", id="chat", elem_id="nd-tab-chat"):
                chat = build_chat_tab(desk, feedback, catalog)
            with gr.Tab("Archive", id="archive", elem_id="nd-tab-archive"):
                archive = build_archive_tab(desk, catalog)
            with gr.Tab("Briefing", id="briefing", elem_id="nd-tab-briefing") as briefing_tab:
                build_briefing_tab(desk, catalog, briefing_tab)
            with gr.Tab("Admin", id="admin", elem_id="nd-tab-admin", visible=admin_on):
                if admin_on:
                    build_admin_tab(desk, settings, header=index_line,
                                    header_html=lambda: _index_line(desk, catalog), access=access)
        if not admin_on:
            gr.Markdown(ADMIN_OFF, elem_id="nd-admin-off")

        def on_load() -> tuple[Any, ...]:
            chat_values = chat["load"][0]()
            archive_values = archive["load"][0]()
            return _index_line(desk, catalog), *chat_values, *archive_values

        demo.load(on_load, None, [index_line, *chat["load"][1], *archive["load"][1]], api_visibility="private")

        # ---------------------------------------------------------------- named API endpoints
        def ask(message: str, since: str = "", until: str = "", source: str = "",
                section: str = "", kind: str = "auto", format: str = "markdown") -> Iterator[str]:
            """Answer a question from the archive: markdown with [n] citations and a numbered source list.
            Optional filters: since/until (YYYY-MM-DD), source and section (comma-separated names); kind: auto
            (route by the question), fact, first_coverage, every_issue, count or evolution. format "json": one
            JSON object instead ({answer, refused, citations, kind, ...}, as `newsdesk ask --json` prints it;
            `newsdesk ask --url` reads it), a failure as the API's error."""
            if format == "json":
                with api_errors():
                    question = apiargs.text(message, "question", required=True)
                    filters = parse_filters(apiargs.filter_args(since, until, source, section))
                    answer = desk.ask(question, filters=filters, kind=apiargs.text(kind, "kind") or "auto")
                    yield json.dumps(answer.to_json(), ensure_ascii=False)
                return
            with shown_errors() as failure:  # one clear line for API callers too
                if format not in ("markdown", "", None):
                    raise apiargs.ApiArgumentError(f"format must be markdown or json, not {format!r}")
                question = apiargs.text(message, "question", required=True)
                filters = parse_filters(apiargs.filter_args(since, until, source, section))
                forced = apiargs.text(kind, "kind") or "auto"
                for step in answer_steps(desk, question, filters=filters, kind=forced):
                    yield render_markdown(step.answer) if step.answer else step.markdown
            if failure.error is not None:
                yield "Sorry: " + render.md_text(failure.message)

        def search(query: str, since: str = "", until: str = "", source: str = "", section: str = "",
                   sort: str = "relevance", limit: int = 50) -> dict[str, Any]:
            """Search earlier coverage: stories that mention every query word, sorted by relevance, newest or
            oldest. Returns {query, terms, total, exact, sort, filters, hits: [{date, issue, headline, url,
            snippet, score, source, section, ...}]}."""
            with api_errors():
                query = apiargs.text(query, "query", required=True)
                filters = parse_filters(apiargs.filter_args(since, until, source, section))
                sort = apiargs.text(sort, "sort") or "relevance"
                limit = apiargs.whole_number(limit, "limit")
                return desk.archive(query, filters=filters, sort=sort, limit=limit).to_json()

        def coverage(query: str, since: str = "", until: str = "", source: str = "",
                     section: str = "") -> dict[str, Any]:
            """Coverage timeline of a query: {total, undated, first_mention, last_mention, weeks: [{week,
            stories}], issues: [{issue, date, source, stories, headlines}]}."""
            with api_errors():
                query = apiargs.text(query, "query", required=True)
                filters = parse_filters(apiargs.filter_args(since, until, source, section))
                return desk.coverage(query, filters=filters).to_json()

        gr.api(ask, api_name="ask")
        gr.api(search, api_name="search")
        gr.api(coverage, api_name="coverage")
    return demo


def theme() -> Any:
    import gradio as gr

    # Gradio 6.31 ships SourceSansPro-SemiBold.woff2 as a 5 KB subset that lacks letters such as "A" and "B"
    # (bold text showed them in a fallback font); the complete Bold file serves every weight above 500.
    font: list[Any] = [gr.themes.LocalFont("Source Sans Pro", weights=(400, 700)), "ui-sans-serif", "system-ui",
                       "sans-serif"]
    return gr.themes.Default(primary_hue="blue", font=font)


def warm_up(desk: Newsdesk) -> None:
    """Load the model, the index, the BM25 side, the sentence splitter and the briefing's archive pass in the
    background so the first question and the first briefing are quick, without delaying the moment the app starts
    serving. The archive pass of each version, this one included, starts when the app opens it (serve's reader
    hook, set before anything opens one)."""
    from assistant.sources.text import split_sentences

    with shown_errors():  # a missing index is reported on the page, not here; a bug goes to the crash log
        reader = desk.readers.get()
        reader.lexical  # noqa: B018 - loads the BM25 side
        desk.embedder.encode_one("warm up")
        split_sentences("Warm up. Now.")  # NLTK's punkt: about 1 s of imports


def serve(desk: Newsdesk, *, block: bool = True) -> Any:
    """Build and start the app for this pipeline on its settings' host and port."""
    from starlette.middleware import Middleware

    from assistant.briefing.window import archive_view_in_background
    from assistant.ui.feed import add_briefing_routes
    from assistant.ui.guard import ApiGuard, GuardConfig

    # Each index version's archive pass starts when the app opens it (the first by warm_up), off the request path.
    desk.readers.on_open = archive_view_in_background
    settings = desk.settings
    started = time.monotonic()
    access = AdminAccess.from_settings(settings) if settings.admin_password else None
    demo = build_app(desk, access=access)
    demo.queue(default_concurrency_limit=4)
    guard = GuardConfig(blocks=demo, sessions=access.sessions if access else None,
                        max_files=settings.max_upload_files, max_bytes=settings.max_upload_bytes,
                        throttle=access.throttle if access else None)
    demo.launch(server_name=settings.host, server_port=settings.port, max_file_size=settings.max_upload_bytes,
                theme=theme(), css=render.CSS, footer_links=["api", "settings"], run_history=False,
                show_error=False, quiet=True, prevent_thread_lock=True, ssr_mode=False, mcp_server=False,
                enable_monitoring=False, app_kwargs={"middleware": [Middleware(ApiGuard, config=guard)]})
    add_briefing_routes(demo.app, desk)  # /briefings.atom and /briefings/<day>.html (ui/feed.py)
    print(f"Newsdesk is serving on http://{settings.host}:{settings.port} "
          f"(built and started in {time.monotonic() - started:.1f} s)", flush=True)
    threading.Thread(target=warm_up, args=(desk,), daemon=True, name="newsdesk-warm-up").start()
    if block:
        demo.block_thread()
    return demo


def launch(settings: Settings) -> None:
    offline_environment()
    serve(Newsdesk(settings))
