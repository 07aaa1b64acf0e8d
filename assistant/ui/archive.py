"""Archive tab (editors): earlier coverage of a query with filters, sortable results and a weekly timeline.

The search and the timeline are computed by assistant/archive/search.py and timeline.py (the same code as
`newsdesk search` and `newsdesk coverage`); these callbacks only turn them into HTML and a plot.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.archive.catalog import CatalogCache
from assistant.archive.search import SortOrder
from assistant.pipeline import Newsdesk
from assistant.ui import render
from assistant.ui.errors import shown_errors
from assistant.ui.filters import FilterInputs, filter_inputs, parse_filters

SORT_CHOICES = [("Relevance", SortOrder.RELEVANCE.value), ("Newest first", SortOrder.NEWEST.value),
                ("Oldest first", SortOrder.OLDEST.value)]
RESULT_LIMIT = 100


def run_archive(desk: Newsdesk, query: str, sort: str, values: FilterInputs) -> tuple[str, Any, str]:
    """Results table HTML, timeline frame, coverage summary HTML."""
    result, cov = desk.explore(query, filters=parse_filters(values), sort=sort, limit=RESULT_LIMIT)
    # Slanted labels once the weeks no longer fit side by side.
    plot = gr.BarPlot(value=render.timeline_frame(cov), x_label_angle=-45 if len(cov.weeks) > 10 else 0)
    return render.results_table(result), plot, render.coverage_summary(cov)


def build_archive_tab(desk: Newsdesk, catalog: CatalogCache) -> dict[str, Any]:
    gr.Markdown("Search earlier coverage. A story *mentions* the query when it holds every word "
                "(“quoted phrases” as written); the timeline counts those stories per week.")
    with gr.Row():
        query = gr.Textbox(label="Query", placeholder="e.g. OpenAI lawsuit, HBM4, \"export controls\"",
                           elem_id="nd-archive-query", scale=5)
        sort = gr.Radio(SORT_CHOICES, value=SortOrder.RELEVANCE.value, label="Sort by", elem_id="nd-archive-sort",
                        scale=3)
        go = gr.Button("Search", variant="primary", elem_id="nd-archive-search", scale=1, min_width=90)
    filters = filter_inputs(prefix="archive")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            gr.Markdown("### Coverage timeline")
            plot = gr.BarPlot(x="week", y="stories", x_title="week starting", y_title="stories",
                              height=280, elem_id="nd-timeline", show_label=False, tooltip="all", sort="x",
                              y_lim=[0, None])  # from zero, or a week with the fewest stories shows no bar
        with gr.Column(scale=2):
            summary = gr.HTML(render.notice("Search to see when the archive covered a topic."),
                              elem_id="nd-coverage")
    results = gr.HTML(elem_id="nd-results")

    def run_search(query: str, sort: str, *values: Any) -> tuple[Any, ...]:
        if not (query or "").strip():
            return render.notice("Type a query to search the archive."), None, gr.skip()
        with shown_errors() as failure:  # one clear line in the page, never a traceback
            table, frame, cov = run_archive(desk, query, sort, FilterInputs(*values))
        if failure.error is not None:
            return render.notice(failure.message, kind="error"), None, render.notice("No timeline.")
        return table, frame, cov

    inputs = [query, sort, *filters.components]
    outputs = [results, plot, summary]
    for trigger in (query.submit, go.click, sort.change):
        trigger(run_search, inputs, outputs, api_visibility="private")

    def on_load() -> tuple[Any, ...]:
        return filters.choices_update(catalog.get(desk.readers))

    return {"load": (on_load, filters.menus)}
