"""Briefing tab: what is new in a window (since the last issue, the last 7 days, or a date range), optionally for
some sources: the story clusters ranked by salience, each with its sources and, when it continues earlier
coverage, a "developing" link to the first story that covered it; plus the same briefing as markdown to copy.

The briefing is `Newsdesk.brief` (assistant/briefing/); this module only turns it into cards. Feed text is
untrusted: every piece is escaped, links are http(s) only, and the fragment goes through nh3 (ui/render.py).
The markdown is shown in a code box (plain text, never rendered) with a copy button.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import gradio as gr

from assistant.archive.catalog import CatalogCache
from assistant.briefing.brief import Briefing, BriefItem
from assistant.briefing.render import to_markdown
from assistant.pipeline import Newsdesk
from assistant.ui import render
from assistant.ui.errors import shown_errors
from assistant.ui.filters import parse_day

WINDOWS = [("Since the last issue", "last-issue"), ("Last 7 days", "7d"), ("Date range", "range")]
MAX_ITEMS = 15


def _item_card(item: BriefItem) -> str:
    esc, link = render.esc, render.link
    best = next((s for s in item.sources if s.n == item.cite), item.sources[0] if item.sources else None)
    names = sorted({s.source for s in item.sources})
    issues = {s.issue_id for s in item.sources}
    head = (f'<header><span class="nd-n">{item.rank}.</span> <span class="nd-source">{esc(", ".join(names))}'
            f'</span> · {len(item.sources)} stor{"y" if len(item.sources) == 1 else "ies"} in {len(issues)} '
            f'issue{"" if len(issues) == 1 else "s"}'
            + (f' · <span class="nd-listing">{esc(item.listing)}</span>' if item.listing else "") + "</header>")
    title = (f'<div class="nd-headline"><strong>{link(best.url if best else None, item.headline)}</strong> '
             f'<span class="nd-n">[{item.cite}]</span></div>')
    cited = " ".join(f'{esc(text)} <span class="nd-n">{"".join(f"[{n}]" for n in cites)}</span>'
                     for text, cites in item.cited())
    lead = f'<p class="nd-snippet">{cited}</p>' if item.sentences else ""
    developing = ""
    if item.first_covered:
        fc = item.first_covered
        developing = (f'<p class="nd-developing"><em>Developing: {esc(fc.describe())}:</em> '
                      f"{link(fc.url, fc.headline or '(untitled)')}</p>")
    sources = "".join(f'<li data-n="{s.n}"><span class="nd-n">[{s.n}]</span> {esc(s.source)}, {esc(s.issue)} '
                      f'(<time datetime="{esc(s.date or "")}">{esc(s.date or "undated")}</time>): '
                      f"{link(s.url, s.headline or '(untitled)')}</li>" for s in item.sources)
    return (f'<article class="nd-card nd-brief-item" data-n="{item.rank}">{head}{title}{lead}{developing}'
            f'<ul class="nd-brief-sources">{sources}</ul></article>')


def briefing_html(briefing: Briefing) -> str:
    summary = (f'<p class="nd-kind">{render.esc(briefing.title)}: {len(briefing.items)} of {briefing.clusters} '
               f"story clusters ({briefing.stories} stories)</p>")
    if not briefing.items:
        return render.sanitize(summary + '<p class="nd-empty">No stories in this window.</p>')
    cards = "".join(_item_card(item) for item in briefing.items)
    return render.sanitize(f'<section class="nd-sources nd-briefing">{summary}{cards}</section>')


def run_briefing(desk: Newsdesk, window: str, since: Any, until: Any, sources: Any) -> tuple[str, str]:
    """The briefing's cards (HTML) and markdown for the tab's inputs. Raises ValueError/NewsdeskError."""
    names = [str(s) for s in sources or [] if str(s).strip()]
    start: str | date | None
    end: date | None = None
    if window == "range":
        start, end = parse_day(since, "from date"), parse_day(until, "to date")
        if start is None:
            raise ValueError("pick a From date for the date range")
    elif window in ("last-issue", "7d"):
        start = window
    else:
        raise ValueError(f"unknown window {window!r}")
    briefing = desk.brief(since=start, until=end, sources=names, max_items=MAX_ITEMS)
    return briefing_html(briefing), to_markdown(briefing)


def build_briefing_tab(desk: Newsdesk, catalog: CatalogCache, tab: Any) -> dict[str, Any]:
    """The tab's widgets; `tab` is the gr.Tab they sit in: the first visit fills the source menu and briefs."""
    gr.Markdown("What is new: the window's stories grouped into story clusters (one event across sources and "
                "issues), most salient first, each with its sources. *Developing* links to where a story was "
                "first covered. Subscribe in a feed reader: [briefings.atom](/briefings.atom).")
    with gr.Row():
        window = gr.Radio(WINDOWS, value="last-issue", label="Window", elem_id="nd-brief-window", scale=3)
        since = gr.DateTime(label="From", include_time=False, type="string", elem_id="nd-brief-since",
                            visible=False, min_width=150)
        until = gr.DateTime(label="To", include_time=False, type="string", elem_id="nd-brief-until",
                            visible=False, min_width=150)
        sources = gr.Dropdown(label="Source", choices=[], multiselect=True, allow_custom_value=False,
                              elem_id="nd-brief-source", min_width=200, scale=2)
        go = gr.Button("Brief me", variant="primary", elem_id="nd-brief-go", scale=1, min_width=100)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            cards = gr.HTML(render.notice("Choose a window and press Brief me."), elem_id="nd-briefing")
        with gr.Column(scale=2):
            markdown = gr.Code(language="markdown", label="Copy as markdown", interactive=False, lines=12,
                               max_lines=30, wrap_lines=True, show_line_numbers=False, buttons=["copy"],
                               elem_id="nd-briefing-md")
    shown = gr.State(False)

    def show(window: str, since: Any, until: Any, sources: Any) -> tuple[Any, ...]:
        with shown_errors() as failure:  # one clear line in the page, never a traceback
            html, md = run_briefing(desk, window, since, until, sources)
        if failure.error is not None:
            return render.notice(failure.message, kind="error"), "", True
        return html, md, True

    def pick_window(window: str) -> tuple[Any, Any]:
        return gr.DateTime(visible=window == "range"), gr.DateTime(visible=window == "range")

    def first_visit(window: str, since: Any, until: Any, picked: Any, seen: bool) -> tuple[Any, ...]:
        menu = gr.Dropdown(choices=catalog.get(desk.readers).sources)
        if seen:
            return menu, gr.skip(), gr.skip(), True
        return menu, *show(window, since, until, picked)

    inputs = [window, since, until, sources]
    window.change(pick_window, [window], [since, until], api_visibility="private", show_progress="hidden")
    go.click(show, inputs, [cards, markdown, shown], api_visibility="private")
    tab.select(first_visit, [*inputs, shown], [sources, cards, markdown, shown], api_visibility="private")
    return {"cards": cards, "markdown": markdown}
